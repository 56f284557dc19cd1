"""The folders to scan: add, remove, mark as reference, exclude patterns.

A reference folder's files are compared but never trashed or moved (the core's Actions get
the reference folders and refuse); the check box says so next to each folder.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dedupe_gui.gui.settings import FolderEntry

_REF_TEXT = "  (reference: never changed)"


class FolderList(QWidget):
    """List of folders with a reference check box each, and an exclude-patterns line."""

    changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setToolTip("Tick a folder to make it a reference: its files are compared "
                             "but never moved or deleted")
        self.list.itemChanged.connect(self._item_changed)
        self.add_button = QPushButton("Add folder…")
        self.add_button.clicked.connect(self._add_dialog)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.excludes = QLineEdit()
        self.excludes.setPlaceholderText("Exclude, e.g. */.thumbnails/*; *.gif")
        self.excludes.setToolTip("Glob patterns separated by ';' — matching files and folders "
                                 "are skipped")
        self.excludes.editingFinished.connect(self.changed.emit)
        header = QLabel("<b>Folders</b> <span style='color:gray'>(tick = reference)</span>")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(header)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.excludes)

    def _make_item(self, entry: FolderEntry) -> QListWidgetItem:
        item = QListWidgetItem()
        item.setData(Qt.ItemDataRole.UserRole, entry.path)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if entry.reference else Qt.CheckState.Unchecked)
        self._label(item)
        return item

    @staticmethod
    def _label(item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        ref = item.checkState() == Qt.CheckState.Checked
        item.setText(path + (_REF_TEXT if ref else ""))
        item.setToolTip(path)

    def _item_changed(self, item: QListWidgetItem) -> None:
        self.list.blockSignals(True)
        self._label(item)
        self.list.blockSignals(False)
        self.changed.emit()

    def _add_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to scan")
        if folder:
            self.add_paths([Path(folder)])

    # ---- API ---------------------------------------------------------------------------------
    def entries(self) -> list[FolderEntry]:
        out = []
        for row in range(self.list.count()):
            item = self.list.item(row)
            out.append(FolderEntry(item.data(Qt.ItemDataRole.UserRole),
                                   item.checkState() == Qt.CheckState.Checked))
        return out

    def set_entries(self, entries: list[FolderEntry]) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for e in entries:
            self.list.addItem(self._make_item(e))
        self.list.blockSignals(False)

    def add_paths(self, paths: list[Path]) -> int:
        """Add folders/files not already listed; returns how many were new."""
        have = {e.path for e in self.entries()}
        added = 0
        self.list.blockSignals(True)
        for p in paths:
            text = str(Path(p).expanduser().absolute())
            if text not in have:
                self.list.addItem(self._make_item(FolderEntry(text)))
                have.add(text)
                added += 1
        self.list.blockSignals(False)
        if added:
            self.changed.emit()
        return added

    def remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        self.changed.emit()

    def set_reference(self, path: str, reference: bool) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == path:
                item.setCheckState(Qt.CheckState.Checked if reference else Qt.CheckState.Unchecked)

    def exclude_patterns(self) -> list[str]:
        return [p.strip() for p in self.excludes.text().split(";") if p.strip()]

    def set_exclude_patterns(self, patterns: list[str]) -> None:
        self.excludes.setText("; ".join(patterns))

    def roots(self) -> list[Path]:
        return [Path(e.path) for e in self.entries()]

    def reference_dirs(self) -> list[Path]:
        return [Path(e.path) for e in self.entries() if e.reference]
