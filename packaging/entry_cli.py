"""Frozen entry point of the ``dedupe`` command line: PyInstaller runs this file as ``__main__``.

``main()`` calls ``multiprocessing.freeze_support()`` first, so a spawned pool worker (this
executable re-run with special arguments) becomes a worker instead of parsing arguments.
"""
import sys

from dedupe_gui.cli import main

if __name__ == "__main__":
    sys.exit(main())
