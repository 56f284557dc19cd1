"""A thin progress strip that repaints lazily.

Why not QProgressBar: its ``setValue`` repaints synchronously whenever the bar moves by a
pixel; offscreen and on slow machines that costs 10-50 ms on the GUI thread, ten times a
second during a scan (measured by the stall test). ``update()`` lets Qt coalesce paints.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget


class ProgressStrip(QWidget):
    """``set_range(0, 0)`` = busy (a moving block), otherwise a filled fraction."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._value, self._max = 0, 0
        self._phase = 0.0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._timer = QTimer(self)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._spin)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(100, 6)

    def set_range(self, low: int, high: int) -> None:
        if max(0, high - low) == self._max:
            return
        self._max = max(0, high - low)
        if self._max == 0 and self.isVisible():
            self._timer.start()
        else:
            self._timer.stop()
        self.update()

    def set_value(self, value: int) -> None:
        if value != self._value:
            self._value = value
            self.update()

    def value(self) -> int:
        return self._value

    def showEvent(self, event) -> None:  # noqa: N802
        if self._max == 0:
            self._timer.start()

    def hideEvent(self, event) -> None:  # noqa: N802
        self._timer.stop()

    def _spin(self) -> None:
        self._phase = (self._phase + 0.04) % 1.0
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(pal.mid())
        p.drawRoundedRect(r, 3, 3)
        p.setBrush(pal.highlight())
        if self._max:
            w = r.width() * min(1.0, self._value / self._max)
            if w > 0:
                p.drawRoundedRect(QRectF(r.left(), r.top(), w, r.height()), 3, 3)
        else:
            w = r.width() * 0.25
            x = r.left() + (r.width() + w) * self._phase - w
            p.drawRoundedRect(QRectF(max(r.left(), x), r.top(), min(w, r.right() - x),
                                     r.height()).intersected(r), 3, 3)
