"""Map projection panel: open or drop a world map, move the pole, watch it, export it.

All pixel work runs off the GUI thread:

- a loader thread decodes the map and makes a small preview copy of it;
- one long-lived preview thread renders the *latest* request only: slider moves while it is
  busy replace the pending request instead of queueing behind it, so the picture follows
  the slider without a backlog;
- an export thread renders at full size in bands (core.reproject_bands) with progress and
  cancel, then writes the picture and its ``.json`` sidecar.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, Qt, QThread, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dedupe_gui.core.projection import OBLIQUE_CAPABLE, PROJECTIONS, make_projection
from dedupe_gui.core.reproject import RenderSpec, SourceGeometry, default_size

PREVIEW_MAX = (1024, 768)  # preview pixels at most: keeps an update well under 100 ms
PREVIEW_SOURCE_WIDTH = 1440  # the preview samples a copy this wide: ~2 source px per output px
PREVIEW_WORKERS = 2
MAP_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".ppm", ".pgm"}


def to_qimage(arr: np.ndarray) -> QImage:
    """A QImage that owns a copy of a BGR/BGRA/grey uint8 array."""
    a = np.ascontiguousarray(arr if arr.dtype == np.uint8 else (arr >> 8).astype(np.uint8))
    h, w = a.shape[:2]
    if a.ndim == 2:
        fmt = QImage.Format.Format_Grayscale8
    elif a.shape[2] == 4:
        fmt = QImage.Format.Format_ARGB32  # B, G, R, A in memory on little-endian machines
    else:
        fmt = QImage.Format.Format_BGR888
    return QImage(a.data, w, h, a.strides[0], fmt).copy()


def fit_size(spec_extent: tuple[float, float, float, float], box: tuple[int, int]
             ) -> tuple[int, int]:
    """Square pixels, as large as fits in ``box``."""
    xmin, xmax, ymin, ymax = spec_extent
    aspect = (xmax - xmin) / (ymax - ymin)
    w, h = box
    if w / h > aspect:
        w = max(1, round(h * aspect))
    else:
        h = max(1, round(w / aspect))
    return w, h


# ---------------------------------------------------------------- worker threads

class _LoadThread(QThread):
    """Decode a map and prepare its preview copy."""

    loaded = Signal(object, object, object)  # path, full image, preview image
    failed = Signal(object, str)

    def __init__(self, path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path

    def run(self) -> None:
        try:
            import cv2

            from dedupe_gui.core.mapfile import load_map

            image = load_map(self.path)
            h, w = image.shape[:2]
            if w > PREVIEW_SOURCE_WIDTH:
                small = cv2.resize(image, (PREVIEW_SOURCE_WIDTH,
                                           max(2, round(h * PREVIEW_SOURCE_WIDTH / w))),
                                   interpolation=cv2.INTER_AREA)
            else:
                small = image
            self.loaded.emit(self.path, image, small)
        except Exception as exc:  # noqa: BLE001 - nothing may escape a QThread
            self.failed.emit(self.path, str(exc))


class PreviewThread(QThread):
    """Renders the latest request; older pending requests are dropped, never queued."""

    rendered = Signal(int, object, float)  # request id, QImage, milliseconds
    failed = Signal(int, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._pending: tuple[int, RenderSpec, np.ndarray] | None = None
        self._stop = False

    def request(self, rid: int, spec: RenderSpec, image: np.ndarray) -> None:
        with self._cond:
            self._pending = (rid, spec, image)  # replaces whatever was waiting
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._pending = None
            self._cond.notify()

    def run(self) -> None:
        from dedupe_gui.core.reproject_bands import render

        while True:
            with self._cond:
                while self._pending is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                rid, spec, image = self._pending
                self._pending = None
            try:
                t0 = time.perf_counter()
                out = render(image, spec, workers=PREVIEW_WORKERS)
                qimg = to_qimage(out)
                self.rendered.emit(rid, qimg, (time.perf_counter() - t0) * 1000)
            except Exception as exc:  # noqa: BLE001 - nothing may escape a QThread
                self.failed.emit(rid, str(exc))


class ExportThread(QThread):
    """Full-size render in bands, then the picture and its sidecar."""

    progress = Signal(object)  # core.progress.Progress
    done = Signal(str, float)  # output path, seconds
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, image: np.ndarray, spec: RenderSpec, path: Path,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.image, self.spec, self.path = image, spec, path
        self._cancel = threading.Event()
        self._last = 0.0

    def cancel(self) -> None:
        self._cancel.set()

    def _progress(self, p) -> None:
        now = time.monotonic()
        if now - self._last >= 0.1 or p.done == p.total:  # at most ~10 signals a second
            self._last = now
            self.progress.emit(p)

    def run(self) -> None:
        try:
            from dedupe_gui.core.mapfile import save_map
            from dedupe_gui.core.reproject_bands import render

            t0 = time.perf_counter()
            out = render(self.image, self.spec, cancel=self._cancel, progress=self._progress)
            if out is None:
                self.cancelled.emit()
                return
            save_map(self.path, out, self.spec, overwrite=True)  # the dialog asked already
            self.done.emit(str(self.path), time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - nothing may escape a QThread
            self.failed.emit(str(exc))


# ---------------------------------------------------------------- the panel

def _slider(lo: int, hi: int, value: int) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setValue(value)
    s.setPageStep(15)
    return s


class ProjectionPanel(QWidget):
    """Open or drop a world map, choose the projection, move the pole, export."""

    statusMessage = Signal(str)
    previewUpdated = Signal(int)  # request id now on screen

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path: Path | None = None
        self.image: np.ndarray | None = None
        self.small: np.ndarray | None = None
        self.preview_image: QImage | None = None
        self.last_ms = 0.0
        self._rid = 0
        self.shown_rid = 0
        self._loader: _LoadThread | None = None
        self._export: ExportThread | None = None
        self._preview: PreviewThread | None = None  # started with the first map, not before
        self._closed = False
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._last_dir = ""
        self._restoring = False
        self._build()
        self._restore_options()
        self._sync_controls()

    # ------------------------------------------------------------ layout
    def _build(self) -> None:
        self.open_button = QPushButton("Open map…")
        self.open_button.clicked.connect(self._choose_file)
        self.source_combo = QComboBox()
        self.source_combo.addItems(["auto", "equirectangular", "mercator"])
        self.source_combo.setToolTip("Projection of the input map (auto: 2:1 is "
                                     "equirectangular, about 1:1 is Mercator)")
        self.proj_combo = QComboBox()
        self.proj_combo.addItems(list(PROJECTIONS))
        self.proj_combo.setCurrentText("transverse-mercator")
        self.pole_lat = _slider(-90, 90, 90)
        self.pole_lon = _slider(-180, 180, 0)
        self.center_lat = _slider(-90, 90, 0)
        self.meridian = _slider(-180, 180, 0)
        self.lat_limit = QDoubleSpinBox()
        self.lat_limit.setRange(10, 89.5)
        self.lat_limit.setValue(85)
        self.lat_limit.setSuffix("°")
        self.interp_combo = QComboBox()
        self.interp_combo.addItems(["nearest", "linear", "cubic", "lanczos"])
        self.interp_combo.setCurrentText("linear")
        self.graticule_combo = QComboBox()
        self.graticule_combo.addItems(["none", "10°", "15°", "30°"])
        self.graticule_combo.setCurrentText("30°")
        self.transparent = QCheckBox("Transparent outside the map")
        self.transparent.setChecked(True)
        self.export_width = QSpinBox()
        self.export_width.setRange(0, 200_000)
        self.export_width.setSpecialValueText("as input")
        self.export_width.setSuffix(" px")
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self._choose_export)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_export)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)

        self._value_labels: dict[QSlider, QLabel] = {}
        form = QFormLayout()
        form.addRow(self.open_button)
        form.addRow("Input", self.source_combo)
        form.addRow("Projection", self.proj_combo)
        for label, slider in (("Pole latitude", self.pole_lat),
                              ("Pole longitude", self.pole_lon),
                              ("Centre latitude", self.center_lat),
                              ("Central meridian", self.meridian)):
            row = QHBoxLayout()
            value = QLabel()
            value.setMinimumWidth(40)
            self._value_labels[slider] = value
            row.addWidget(slider, 1)
            row.addWidget(value)
            form.addRow(label, row)
        form.addRow("Cut Mercator at", self.lat_limit)
        form.addRow("Resampling", self.interp_combo)
        form.addRow("Graticule", self.graticule_combo)
        form.addRow(self.transparent)
        form.addRow("Export width", self.export_width)
        buttons = QHBoxLayout()
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        form.addRow(buttons)
        form.addRow(self.progress)
        self._form = form
        controls = QWidget()
        controls.setLayout(form)
        controls.setMaximumWidth(380)

        self.preview = QLabel("Open or drop a world map\n(equirectangular 2:1, or Mercator)")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(320, 240)
        self.preview.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.preview.setStyleSheet("QLabel { background: #1e1e1e; color: #bbb; }")
        self.info = QLabel()
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        right = QVBoxLayout()
        right.addWidget(self.preview, 1)
        right.addWidget(self.info)
        layout = QHBoxLayout(self)
        layout.addWidget(controls)
        layout.addLayout(right, 1)

        for s in (self.pole_lat, self.pole_lon, self.center_lat, self.meridian):
            s.valueChanged.connect(self._changed)
        self.proj_combo.currentIndexChanged.connect(self._projection_chosen)
        for c in (self.source_combo, self.interp_combo, self.graticule_combo):
            c.currentIndexChanged.connect(self._changed)
        self.lat_limit.valueChanged.connect(self._changed)
        self.transparent.toggled.connect(self._changed)
        # remembered choices are written when a choice changes (a QSettings write costs
        # milliseconds: never per slider step)
        for c in (self.source_combo, self.proj_combo, self.interp_combo, self.graticule_combo):
            c.currentIndexChanged.connect(self._save_options)
        self.transparent.toggled.connect(self._save_options)
        self.lat_limit.editingFinished.connect(self._save_options)

    # ------------------------------------------------------------ remembered choices
    def _option_widgets(self):
        return (("projection", self.proj_combo), ("source", self.source_combo),
                ("interp", self.interp_combo), ("graticule", self.graticule_combo))

    def _restore_options(self) -> None:
        """The choices of the last session (QSettings group ``projection``)."""
        q = QSettings()
        q.beginGroup("projection")
        self._restoring = True  # restoring one choice must not save the others' defaults
        try:
            for key, combo in self._option_widgets():
                value = q.value(key)
                if isinstance(value, str) and combo.findText(value) >= 0:
                    combo.setCurrentText(value)
            value = q.value("transparent")
            if value is not None:
                self.transparent.setChecked(str(value).lower() in ("true", "1"))
            try:
                self.lat_limit.setValue(float(q.value("lat_limit", 85.0)))
            except (TypeError, ValueError):
                pass
            self._last_dir = str(q.value("last_dir", "") or "")
        finally:
            q.endGroup()
            self._restoring = False

    def _save_options(self, *_args) -> None:
        if self._restoring:
            return
        q = QSettings()
        q.beginGroup("projection")
        for key, combo in self._option_widgets():
            q.setValue(key, combo.currentText())
        q.setValue("transparent", self.transparent.isChecked())
        q.setValue("lat_limit", float(self.lat_limit.value()))
        q.setValue("last_dir", self._last_dir)
        q.endGroup()

    def _projection_chosen(self) -> None:
        """Each projection starts from its usual pole: the normal aspect, or the pole on the
        equator at 90E for oblique Mercator (the classic transverse picture)."""
        name = self.proj_combo.currentText()
        lat, lon = (0, 90) if name == "oblique-mercator" else (90, 0)
        for s, v in ((self.pole_lat, lat), (self.pole_lon, lon)):
            s.blockSignals(True)
            s.setValue(v)
            s.blockSignals(False)
        self._changed()

    def _sync_controls(self) -> None:
        name = self.proj_combo.currentText()
        oblique = name in OBLIQUE_CAPABLE
        ortho = name == "orthographic"
        for w in (self.pole_lat, self.pole_lon):
            w.setEnabled(oblique)
        self.center_lat.setEnabled(ortho)
        self.lat_limit.setEnabled(name in ("mercator", "oblique-mercator", "transverse-mercator"))
        self.meridian.setToolTip("Centre longitude" if ortho else "Central meridian")
        for s, label in self._value_labels.items():
            label.setText(f"{s.value()}°")
        has_map = self.image is not None
        exporting = self._export is not None
        self.export_button.setEnabled(has_map and not exporting)
        self.cancel_button.setEnabled(exporting)

    # ------------------------------------------------------------ parameters
    def projection(self):
        """The projection the controls describe (ValueError if they make no sense)."""
        name = self.proj_combo.currentText()
        pole = None
        if name in OBLIQUE_CAPABLE:
            pole = (float(self.pole_lat.value()), float(self.pole_lon.value()))
        if name == "orthographic":
            return make_projection(name, center=(float(self.center_lat.value()),
                                                 float(self.meridian.value())))
        return make_projection(name, pole=pole, lon_0=float(self.meridian.value()),
                               lat_limit=float(self.lat_limit.value()))

    def _source(self, image: np.ndarray) -> SourceGeometry:
        kind = self.source_combo.currentText()
        return SourceGeometry.guess(image.shape[1], image.shape[0],
                                    None if kind == "auto" else kind)

    def spec_for(self, image: np.ndarray, size: tuple[int, int] | None = None) -> RenderSpec:
        proj = self.projection()
        src = self._source(image)
        if size is None:
            size = fit_size(proj.extent(), self.preview_box())
        g = self.graticule_combo.currentText().rstrip("°")
        return RenderSpec(proj, src, size[0], size[1], interp=self.interp_combo.currentText(),
                          background=None if self.transparent.isChecked() else (0, 0, 0),
                          graticule=0.0 if g == "none" else float(g))

    def preview_box(self) -> tuple[int, int]:
        """The preview label's size in device pixels, capped."""
        ratio = self.preview.devicePixelRatioF()
        w = max(64, round(self.preview.width() * ratio))
        h = max(64, round(self.preview.height() * ratio))
        return min(w, PREVIEW_MAX[0]), min(h, PREVIEW_MAX[1])

    def set_pole(self, lat: int, lon: int) -> None:
        self.pole_lat.setValue(lat)
        self.pole_lon.setValue(lon)

    # ------------------------------------------------------------ loading
    def add_paths(self, paths: list[Path], start: bool = False) -> None:
        """Open the first picture among dropped paths (folders are not maps)."""
        for p in map(Path, paths):
            if p.is_file() and p.suffix.lower() in MAP_SUFFIXES:
                self.open_map(p)
                return
        self.statusMessage.emit("Map projection: drop a world map picture (PNG, JPEG, TIFF)")

    def open_map(self, path: Path) -> None:
        self._last_dir = str(Path(path).parent)
        self._save_options()
        if self._loader is not None and self._loader.isRunning():
            self._loader.wait()
        self.statusMessage.emit(f"Loading {path.name}…")
        self._loader = _LoadThread(Path(path), self)
        self._loader.loaded.connect(self._on_loaded)
        self._loader.failed.connect(
            lambda p, msg: self.statusMessage.emit(f"Cannot open {Path(p).name}: {msg}"))
        self._loader.start()

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a world map", self._last_dir,
            "Pictures (" + " ".join(f"*{s}" for s in sorted(MAP_SUFFIXES)) + ")")
        if path:
            self.open_map(Path(path))

    def _on_loaded(self, path: Path, image: np.ndarray, small: np.ndarray) -> None:
        self.path, self.image, self.small = path, image, small
        h, w = image.shape[:2]
        self.statusMessage.emit(f"Opened {path.name} ({w}x{h})")
        self._changed()

    # ------------------------------------------------------------ preview
    def _changed(self, *_args) -> None:
        self._sync_controls()
        if self.small is None:
            return
        try:
            spec = self.spec_for(self.small)
        except ValueError as exc:
            self.info.setText(str(exc))
            return
        if self._closed:
            return
        self._rid += 1
        if self._preview is None:
            self._preview = PreviewThread(self)
            self._preview.rendered.connect(self._on_rendered)
            self._preview.failed.connect(
                lambda _rid, msg: self.statusMessage.emit(f"Preview: {msg}"))
            self._preview.start()
        self._preview.request(self._rid, spec, self.small)

    def _on_rendered(self, rid: int, qimg: QImage, ms: float) -> None:
        if rid < self.shown_rid:
            return  # an older picture arriving late
        self.shown_rid, self.preview_image, self.last_ms = rid, qimg, ms
        self._show_preview()
        try:
            proj = self.projection()
            self.info.setText(f"{proj.describe()}   ·   {proj.proj}   ·   preview "
                              f"{qimg.width()}x{qimg.height()} in {ms:.0f} ms")
        except ValueError:
            pass
        self.previewUpdated.emit(rid)

    def _show_preview(self) -> None:
        if self.preview_image is None:
            return
        pix = QPixmap.fromImage(self.preview_image)
        pix.setDevicePixelRatio(self.preview.devicePixelRatioF())
        box = self.preview.size()
        if pix.width() > box.width() * pix.devicePixelRatio() or \
                pix.height() > box.height() * pix.devicePixelRatio():
            pix = pix.scaled(box * pix.devicePixelRatio(), Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
            pix.setDevicePixelRatio(self.preview.devicePixelRatioF())
        self.preview.setPixmap(pix)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._show_preview()
        if self.small is not None:  # re-render at the new size (latest request wins)
            self._changed()

    # ------------------------------------------------------------ export
    def export_size(self) -> tuple[int, int]:
        assert self.image is not None
        proj = self.projection()
        src = self._source(self.image)
        width = self.export_width.value() or None
        return default_size(proj, src, width)

    def _choose_export(self) -> None:
        if self.image is None:
            return
        stem = self.path.stem if self.path else "map"
        suggested = str(Path(self._last_dir or ".") / f"{stem}-{self.proj_combo.currentText()}.png")
        path, _ = QFileDialog.getSaveFileName(self, "Export the re-projected map", suggested,
                                              "PNG (*.png);;JPEG (*.jpg);;TIFF (*.tif)")
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        """Render at full size to ``path`` (+ ``path.json``) in the background."""
        if self.image is None or self._export is not None:
            return
        from dedupe_gui.core.mapfile import supports_alpha

        try:
            spec = self.spec_for(self.image, self.export_size())
        except ValueError as exc:
            self.statusMessage.emit(f"Export: {exc}")
            return
        if spec.background is None and not supports_alpha(path):
            from dataclasses import replace

            spec = replace(spec, background=(0, 0, 0))
        self.progress.setRange(0, spec.height)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self._export = ExportThread(self.image, spec, Path(path), self)
        self._export.progress.connect(self._on_export_progress)
        self._export.done.connect(self._on_export_done)
        self._export.failed.connect(lambda msg: self._export_ended(f"Export failed: {msg}"))
        self._export.cancelled.connect(lambda: self._export_ended("Export cancelled"))
        self._export.start()
        self.statusMessage.emit(f"Exporting {spec.width}x{spec.height} to {Path(path).name}…")
        self._sync_controls()

    def cancel_export(self) -> None:
        if self._export is not None:
            self._export.cancel()

    @property
    def exporting(self) -> bool:
        return self._export is not None

    def _on_export_progress(self, p) -> None:
        self.progress.setValue(p.done)
        self.statusMessage.emit("Export " + p.describe("rows"))

    def _on_export_done(self, path: str, seconds: float) -> None:
        self._export_ended(f"Exported {Path(path).name} and {Path(path).name}.json "
                           f"in {seconds:.1f} s")
        self.progress.setValue(self.progress.maximum())

    def _export_ended(self, message: str) -> None:
        if self._export is not None:
            self._export.wait()
            self._export = None
        self.statusMessage.emit(message)
        self._sync_controls()

    # ------------------------------------------------------------ lifetime
    def shutdown(self) -> None:
        """Stop the worker threads (the window calls this on close; tests too)."""
        self._closed = True
        if self._export is not None:
            self._export.cancel()
            self._export.wait()
            self._export = None
        if self._loader is not None:
            self._loader.wait()
        if self._preview is not None:
            self._preview.stop()
            self._preview.wait()
            self._preview = None

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.shutdown()
        super().closeEvent(event)

