"""Frozen entry point of the window: PyInstaller runs this file as ``__main__``.

Spawned pool workers of a frozen program re-run this executable with special arguments;
``main()`` calls ``multiprocessing.freeze_support()`` before anything else, which turns such a
process into a worker. Nothing heavy may be imported above that call.
"""
import sys

from dedupe_gui.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
