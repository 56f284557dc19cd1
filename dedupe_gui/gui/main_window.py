"""The main window: a sidebar of tools, the active tool's panel, a shared status bar."""
from __future__ import annotations

import importlib
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QStackedWidget, QWidget

from dedupe_gui.gui.panels import PANELS
from dedupe_gui.gui.sidebar import ToolSidebar


class _MissingPanel(QLabel):
    """Stands in for a panel whose module is not there yet."""

    def __init__(self, title: str) -> None:
        super().__init__(f"{title}: not available in this build")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def add_paths(self, paths: list[Path], start: bool = False) -> None:
        pass


def _load_panel(title: str, target: str) -> QWidget:
    module_name, _, cls_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return _MissingPanel(title)
    return getattr(module, cls_name)()


class MainWindow(QMainWindow):
    """Hosts the panels; dropped folders and files go to the active one."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Dedupe")
        self.setAcceptDrops(True)
        self.sidebar = ToolSidebar()
        self.stack = QStackedWidget()
        self.panels: list[QWidget] = []
        for title, target in PANELS:
            panel = _load_panel(title, target)
            signal = getattr(panel, "statusMessage", None)
            if signal is not None:
                signal.connect(self.statusBar().showMessage)
            self.panels.append(panel)
            self.stack.addWidget(panel)
            self.sidebar.add_tool(title)
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.sidebar.setCurrentRow(0)
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.sidebar)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.statusBar().showMessage("Drop folders here, or use Add folder")
        self.resize(1280, 800)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Panels stop their threads and save their state (e.g. the review session)."""
        for panel in self.panels:
            shutdown = getattr(panel, "shutdown", None)
            if shutdown is not None:
                shutdown()
        super().closeEvent(event)

    @property
    def current_panel(self) -> QWidget:
        return self.panels[self.stack.currentIndex()]

    def open_paths(self, paths: list[Path], start: bool = False) -> None:
        """Give folders/files to the active panel (``start``: begin its work at once)."""
        self.current_panel.add_paths(paths, start=start)  # type: ignore[attr-defined]

    # Drag and drop: local files only, always as a copy (a Move from a file manager can
    # delete the source), and the work starts after the event handler returns.
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        QTimer.singleShot(0, lambda: self.open_paths(paths))
