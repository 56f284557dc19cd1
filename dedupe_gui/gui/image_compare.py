"""Two image views side by side whose zoom and pan stay locked together.

Why normalised coordinates: two copies of one photo often differ in resolution (a 4000 px
original and a 1000 px web copy). The shared view state is a centre ``(u, v)`` in fractions
of each image's own width/height and a display width in screen pixels, so the same part of
the scene is under the same screen pixel in both views whatever their pixel sizes. "100%"
means one pixel of the left original per screen pixel.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

MIN_SCALE, MAX_SCALE = 16.0, 200_000.0  # display width limits, screen px


class ImagePane(QWidget):
    """Paints one image (or its heat-map) with the view state of its CompareView."""

    def __init__(self, view: CompareView, side: int) -> None:
        super().__init__(view)
        self._view = view
        self.side = side
        self.pixmap: QPixmap | None = None
        self.screen: QPixmap | None = None  # the same picture pre-scaled for the fitted view
        self.original = QSize()  # the original's displayed size (for 100%)
        self.message = ""
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(False)
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(QPalette.ColorRole.Window, QColor(38, 38, 40))
        self.setPalette(pal)
        self._drag: QPointF | None = None

    def aspect(self) -> float:
        """Height/width of what this pane shows."""
        if self.original.isValid() and self.original.width():
            return self.original.height() / self.original.width()
        if self.pixmap is not None and self.pixmap.width():
            return self.pixmap.height() / self.pixmap.width()
        return 0.75

    def image_rect(self) -> QRectF:
        """Where the whole image lies on this pane, in widget coordinates."""
        s = self._view.display_width()
        cu, cv = self._view.center
        h = s * self.aspect()
        return QRectF(self.width() / 2 - cu * s, self.height() / 2 - cv * h, s, h)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        shown = self._view.shown_pixmap(self.side)
        screen = self._view.shown_screen(self.side)
        if shown is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect().adjusted(16, 16, -16, -16),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.message or "")
            return
        target = self.image_rect()
        if screen is not None and abs(screen.width() - target.width()) < 1.0 \
                and abs(screen.height() - target.height()) < 1.0:
            painter.drawPixmap(target.topLeft().toPoint(), screen)  # 1:1: a plain blit
            return
        visible = target.intersected(QRectF(self.rect()))
        if visible.isEmpty():
            return
        # Draw only the visible part: zoomed far in, the full pixmap would be huge.
        sx = shown.width() / target.width()
        sy = shown.height() / target.height()
        source = QRectF((visible.left() - target.left()) * sx, (visible.top() - target.top()) * sy,
                        visible.width() * sx, visible.height() * sy)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, sx > 0.5)
        painter.drawPixmap(visible, shown, source)

    # Mouse: drag pans both views; the wheel zooms both around the cursor.
    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drag is not None:
            delta = event.position() - self._drag
            self._drag = event.position()
            self._view.pan_pixels(delta.x(), delta.y(), self.aspect())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._drag = None
        self.unsetCursor()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        if self._view.fitted:
            self._view.actual_size()
        else:
            self._view.fit()

    def wheelEvent(self, event) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120
        if steps:
            self._view.zoom_by(1.25 ** steps, event.position(), self)


class CompareView(QWidget):
    """The two panes, the shared zoom/pan, flicker and the heat-map toggle."""

    zoomChanged = Signal(float)  # percent of the left original

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.center = (0.5, 0.5)
        self._scale: float | None = None  # display width; None = fit to the panes
        self.flicker = False
        self.show_heatmap = False
        self.heatmap: QPixmap | None = None
        self.panes = (ImagePane(self, 0), ImagePane(self, 1))
        self.captions = (QLabel(), QLabel())
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        for pane, caption in zip(self.panes, self.captions, strict=True):
            col = QVBoxLayout()
            col.setSpacing(3)
            caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            col.addWidget(caption)
            col.addWidget(pane, 1)
            row.addLayout(col, 1)

    # ---- content ---------------------------------------------------------------------------
    def set_image(self, side: int, pixmap: QPixmap | None, original: QSize,
                  caption: str = "", message: str = "", screen: QPixmap | None = None) -> None:
        pane = self.panes[side]
        pane.pixmap = pixmap
        pane.screen = screen
        pane.original = original if original.isValid() else (
            pixmap.size() if pixmap is not None else QSize())
        pane.message = message
        self.captions[side].setText(caption)
        self.captions[side].setToolTip(caption)
        pane.update()
        self.zoomChanged.emit(self.zoom_percent())

    def clear(self, message: str = "") -> None:
        for side in (0, 1):
            self.set_image(side, None, QSize(), "", message)
        self.set_heatmap(None)

    def set_heatmap(self, image: QImage | None) -> None:
        self.heatmap = QPixmap.fromImage(image) if image is not None else None
        self.panes[1].update()

    def set_show_heatmap(self, on: bool) -> None:
        self.show_heatmap = on
        self.panes[1].update()

    def set_flicker(self, on: bool) -> None:
        """While on, each pane shows the other image in its place (hold a key to compare)."""
        if on != self.flicker:
            self.flicker = on
            for pane in self.panes:
                pane.update()

    def shown_screen(self, side: int) -> QPixmap | None:
        """The pre-scaled copy of what ``side`` shows, if there is one (None for heat-map)."""
        if side == 1 and self.show_heatmap and self.heatmap is not None and not self.flicker:
            return None
        return self.panes[1 - side if self.flicker else side].screen

    def fit_size(self, originals: tuple[QSize, QSize], pane: QSize) -> tuple[QSize, QSize]:
        """The sizes the two pictures get when fitted into panes of size ``pane``."""
        s = None
        for o in originals:
            r = o.height() / o.width() if o.width() > 0 else 0.75
            fit = min(max(1, pane.width()), max(1, pane.height()) / max(r, 1e-6))
            s = fit if s is None else min(s, fit)
        s = float(s or 1.0)
        out = []
        for o in originals:
            r = o.height() / o.width() if o.width() > 0 else 0.75
            out.append(QSize(max(1, round(s)), max(1, round(s * r))))
        return out[0], out[1]

    def shown_pixmap(self, side: int) -> QPixmap | None:
        if side == 1 and self.show_heatmap and self.heatmap is not None and not self.flicker:
            return self.heatmap
        source = 1 - side if self.flicker else side
        return self.panes[source].pixmap

    # ---- zoom and pan ----------------------------------------------------------------------
    @property
    def fitted(self) -> bool:
        return self._scale is None

    def fit_width(self) -> float:
        """The display width at which both images fit their panes."""
        best = None
        for pane in self.panes:
            w, h = max(1, pane.width()), max(1, pane.height())
            s = min(w, h / pane.aspect())
            best = s if best is None else min(best, s)
        return float(best or 1.0)

    def display_width(self) -> float:
        return self.fit_width() if self._scale is None else self._scale

    def zoom_percent(self) -> float:
        ow = self.panes[0].original.width() or self.panes[1].original.width()
        return 100.0 * self.display_width() / ow if ow else 100.0

    def _changed(self) -> None:
        for pane in self.panes:
            pane.update()
        self.zoomChanged.emit(self.zoom_percent())

    def fit(self) -> None:
        self._scale = None
        self.center = (0.5, 0.5)
        self._changed()

    def actual_size(self) -> None:
        """One pixel of the left original per screen pixel, keeping the centre."""
        ow = self.panes[0].original.width() or self.panes[1].original.width()
        if ow:
            self._scale = float(ow)
            self._changed()

    def zoom_by(self, factor: float, at: QPointF | None = None,
                pane: ImagePane | None = None) -> None:
        """Zoom both views; the scene point under ``at`` (in ``pane``) stays put."""
        pane = pane or self.panes[0]
        old = self.display_width()
        new = min(MAX_SCALE, max(MIN_SCALE, old * factor))
        if at is not None:
            dx, dy = at.x() - pane.width() / 2, at.y() - pane.height() / 2
            r = pane.aspect()
            cu, cv = self.center
            u, v = cu + dx / old, cv + dy / (old * r)
            self.center = (u - dx / new, v - dy / (new * r))
        self._scale = new
        self._changed()

    def pan_pixels(self, dx: float, dy: float, aspect: float) -> None:
        s = self.display_width()
        if self._scale is None:
            self._scale = s
        cu, cv = self.center
        self.center = (cu - dx / s, cv - dy / (s * aspect))
        self._changed()

    def scene_point(self, side: int, x: float, y: float) -> tuple[float, float]:
        """The normalised image point under widget point (x, y) of pane ``side`` (tests)."""
        rect = self.panes[side].image_rect()
        return (x - rect.left()) / rect.width(), (y - rect.top()) / rect.height()
