"""Application start-up: names for QSettings, the icon, the main window."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from dedupe_gui import APP_ID, __version__


def app_icon() -> QIcon:
    """The window icon from the PNGs shipped inside the package (any that exist)."""
    from importlib.resources import files

    icon = QIcon()
    icons = files("dedupe_gui.resources") / "icons"
    if icons.is_dir():
        for entry in sorted(icons.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".png"):
                icon.addFile(str(entry))
    return icon


def make_application(argv: list[str]) -> QApplication:
    """Create (or return) the QApplication with the names QSettings and desktops need."""
    import sys

    # Worker threads (the scan coordinator, the image loader) run Python between their
    # waits. Every Qt call from a GUI-thread slot releases and re-takes the GIL, and each
    # re-take can wait a whole switch interval (5 ms by default) while a worker computes:
    # ten calls in a slot become a 50 ms stall. 1 ms keeps slots quick.
    sys.setswitchinterval(0.001)
    app = QApplication.instance() or QApplication(argv)
    app.setOrganizationName("dedupe-gui")
    app.setApplicationName("dedupe-gui")
    app.setApplicationDisplayName("Dedupe")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    return app  # type: ignore[return-value]


def run_app(argv: list[str]) -> int:
    """Start the window; paths given on the command line are scanned at once."""
    import argparse

    parser = argparse.ArgumentParser(prog="dedupe-gui")
    parser.add_argument("paths", nargs="*", type=Path, help="folders to scan at start")
    parser.add_argument("--quit-after", type=float, default=None, metavar="SECONDS",
                        help="close the window after this long (smoke tests)")
    args, qt_args = parser.parse_known_args(argv[1:])
    app = make_application([argv[0], *qt_args])

    from dedupe_gui.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    if args.paths:
        window.open_paths([p.expanduser().resolve() for p in args.paths], start=True)
    if args.quit_after is not None:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(int(args.quit_after * 1000), window.close)
    return app.exec()
