"""What every subcommand does the same way: check the paths it was given, write its output."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable


def report_missing(command: str, paths: Iterable[str]) -> bool:
    """Name every path that does not exist on stderr; True if there was any (exit code 2)."""
    missing = [p for p in paths if not os.path.exists(p)]
    for p in missing:
        print(f"dedupe {command}: no such file or folder: {p}", file=sys.stderr)
    return bool(missing)


def write_text(target: str, text: str) -> None:
    """Write ``text`` to the file ``target``, or to stdout when ``target`` is '-'."""
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        with open(target, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
