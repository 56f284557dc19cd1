"""The tool panels of the main window, registered in one list.

Each entry names a QWidget subclass by import path, so the window never imports a panel's
module by hand. A panel has a ``statusMessage = Signal(str)`` for the status bar and an
``add_paths(paths: list[pathlib.Path])`` method that receives folders and files dropped on
the window while it is the active panel.
"""
from __future__ import annotations

PANELS: list[tuple[str, str]] = [
    ("Duplicates", "dedupe_gui.gui.duplicates_panel:DuplicatesPanel"),
    ("Hot pixels", "dedupe_gui.gui.hotpixels_panel:HotPixelsPanel"),
    ("Map projection", "dedupe_gui.gui.projection_panel:ProjectionPanel"),
]
