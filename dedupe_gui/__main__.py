"""Thin entry point for the window.

Only the standard library is imported at module level: process-pool workers started with the
spawn method re-import the parent's main module, and they must not load Qt (~30 MB each).
"""
from __future__ import annotations

import multiprocessing
import sys


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()
    from dedupe_gui.gui.app import run_app  # Qt is imported only here

    return run_app(sys.argv if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
