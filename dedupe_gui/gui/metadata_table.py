"""The small facts table under the two images, with the better value of each row marked."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from dedupe_gui.core.metadata import ROWS, ImageMeta, better

BETTER_BG = QColor(46, 125, 50, 60)
MARK = "  ✔"


class MetadataTable(QTableWidget):
    """Rows = facts (dimensions, size, …), columns = left and right picture. A fixed, tiny
    table: QTableWidget is right here (the pair list, which can be huge, is a real model)."""

    def __init__(self, parent=None) -> None:
        super().__init__(len(ROWS), 2, parent)
        self.setHorizontalHeaderLabels(["Left", "Right"])
        self.setVerticalHeaderLabels(list(ROWS))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFixedHeight(self.horizontalHeader().sizeHint().height()
                            + len(ROWS) * self.verticalHeader().defaultSectionSize() + 4)
        self.better: dict[str, str] = {}

    def show_meta(self, left: ImageMeta | None, right: ImageMeta | None) -> None:
        if left is None and right is None:
            self.better = {}
            self.clearContents()
            return
        self.better = better(left, right) if left is not None and right is not None else {}
        bold = QFont(self.font())
        bold.setBold(True)
        for r, row in enumerate(ROWS):
            for c, meta in enumerate((left, right)):
                text = "…" if meta is None else meta.text(row)
                if meta is not None and meta.error and row == "Format":
                    text = f"unreadable: {meta.error}"
                win = self.better.get(row) == ("a" if c == 0 else "b")
                item = QTableWidgetItem(text + (MARK if win else ""))
                item.setToolTip(text)
                if win:
                    item.setFont(bold)
                    item.setBackground(QBrush(BETTER_BG))
                self.setItem(r, c, item)

    def marked(self, row: str) -> str | None:
        """"a"/"b" where that side's value of ``row`` is the better one (for tests)."""
        return self.better.get(row)
