"""The headless command line: ``dedupe scan|hotpixels|reproject ...``.

Each subcommand is a module here with ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``. Modules import heavy libraries inside ``run`` so ``--help`` is instant
and pool workers (spawned, re-importing nothing of this) stay light.
"""
from __future__ import annotations

import argparse
import importlib
import multiprocessing
import sys

COMMANDS = ("scan", "hotpixels", "reproject")


def build_parser() -> argparse.ArgumentParser:
    from dedupe_gui import __version__

    parser = argparse.ArgumentParser(
        prog="dedupe", description="The dedupe-gui engine, headless: duplicate photos, "
        "hot pixels, map re-projection.")
    parser.add_argument("--version", action="version", version=f"dedupe {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"dedupe_gui.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"dedupe_gui.cli.{name}":
                raise
            continue  # a command still being built
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
