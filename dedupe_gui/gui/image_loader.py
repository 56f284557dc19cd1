"""Decodes preview images off the GUI thread, current pair first, then the prefetch.

Why: a 12 MP JPEG takes ~100 ms to decode, far too long for the GUI thread. One QThread
takes requests from a priority queue (the pair on screen before the next pair), decodes with
``QImageReader`` (EXIF orientation applied, scaled while decoding) into a ``QImage``, reads the
metadata, and emits the result; the GUI thread turns it into a ``QPixmap`` and caches it.
"""
from __future__ import annotations

import itertools
import queue
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QSize, Qt, QThread, Signal
from PySide6.QtGui import QImage, QImageReader

from dedupe_gui.core.heatmap import difference_heatmap
from dedupe_gui.core.metadata import ImageMeta, read_meta

MAX_SIDE = 4096  # decoded long side: enough for 100% on most photos, bounded memory
NOW, SOON = 0, 1  # priorities: on screen, prefetch


@dataclass(frozen=True)
class Decoded:
    path: str
    image: QImage  # null when the file cannot be decoded
    original: QSize  # displayed size of the original (after EXIF orientation)
    meta: ImageMeta
    error: str = ""
    screen: QImage | None = None  # scaled in this thread to the fitted view's size


def decode(path: str, max_side: int = MAX_SIDE) -> tuple[QImage, QSize, str]:
    """Decode ``path`` to at most ``max_side`` pixels on its long side (any thread)."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    stored = reader.size()
    if stored.isValid() and max(stored.width(), stored.height()) > max_side:
        f = max_side / max(stored.width(), stored.height())
        reader.setScaledSize(QSize(max(1, round(stored.width() * f)),
                                   max(1, round(stored.height() * f))))
    image = reader.read()
    if image.isNull():
        return image, QSize(), reader.errorString()
    original = stored
    if stored.isValid() and (image.width() > image.height()) != (stored.width() > stored.height()):
        original = QSize(stored.height(), stored.width())  # rotated by the EXIF orientation
    return image, original if original.isValid() else image.size(), ""


def to_rgb_array(image: QImage) -> np.ndarray:
    """A copy of ``image`` as an HxWx3 uint8 array."""
    img = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def from_rgb_array(arr: np.ndarray) -> QImage:
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class ImageLoader(QThread):
    """The decoding thread; ``request`` and ``request_heatmap`` may be called any time."""

    loaded = Signal(object)  # Decoded
    heatmap_ready = Signal(str, str, object)  # path a, path b, QImage

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._seq = itertools.count()
        self._pending: set[tuple] = set()

    def request(self, path: str, priority: int = NOW, screen: QSize | None = None) -> None:
        """Decode ``path``; ``screen``: also make a copy of exactly this size (the fitted
        view), so the GUI thread paints it 1:1 instead of smooth-scaling a big image."""
        if path in self._pending and priority != NOW:
            return
        self._pending.add(path)
        size = (screen.width(), screen.height()) if screen is not None else None
        self._queue.put((priority, next(self._seq), ("image", path, size)))

    def request_heatmap(self, path_a: str, path_b: str) -> None:
        self._queue.put((NOW, next(self._seq), ("heatmap", path_a, path_b)))

    def stop(self) -> None:
        """Finish the current decode, drop the rest, end the thread (blocks briefly)."""
        self._queue.put((-1, -1, ("stop",)))
        self.wait()

    def run(self) -> None:
        while True:
            _, _, key = self._queue.get()
            if key[0] == "stop":
                return
            if key[0] == "image":
                self._pending.discard(key[1])
            try:
                if key[0] == "image":
                    self._load(key[1], key[2])
                else:
                    self._heatmap(key[1], key[2])
            except Exception as exc:  # noqa: BLE001 - a bad file must not end the thread
                if key[0] == "image":
                    self.loaded.emit(Decoded(key[1], QImage(), QSize(),
                                             ImageMeta(key[1], error=str(exc)), str(exc)))

    def _load(self, path: str, screen: tuple[int, int] | None) -> None:
        image, original, error = decode(path)
        meta = read_meta(path)
        small = None
        if screen is not None and not image.isNull() and screen[0] > 0 and screen[1] > 0:
            small = image.scaled(screen[0], screen[1], Qt.AspectRatioMode.IgnoreAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        self.loaded.emit(Decoded(path, image, original, meta, error, small))

    def _heatmap(self, path_a: str, path_b: str) -> None:
        ia, _, _ = decode(path_a, 1024)
        ib, _, _ = decode(path_b, 1024)
        if ia.isNull() or ib.isNull():
            return
        heat = difference_heatmap(to_rgb_array(ia), to_rgb_array(ib))
        self.heatmap_ready.emit(path_a, path_b, from_rgb_array(heat))
