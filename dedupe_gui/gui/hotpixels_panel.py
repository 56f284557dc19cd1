"""The Hot pixels panel: frames in, a sortable defect table, a zoom, a heat-map, exports.

Thin on purpose: the analysis is ``core.hotpixels.find_hot_pixels`` run by a coordinator
QThread (it owns the run_chunks loop, emits progress at most ~10/s and skipped files in
batches, and catches everything); decoding a frame for the zoom and writing repaired copies
run in short job threads. The GUI thread only builds models and pixmaps.
"""
from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    QThread,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dedupe_gui.core.hotpixels import Defect, HotPixelResult, HotPixelsFinished, RunOptions
from dedupe_gui.core.progress import Progress
from dedupe_gui.core.results import FileSkipped

PROGRESS_SECONDS = 0.1
ZOOM_RADIUS = 7  # a 15 x 15 neighbourhood
ZOOM_SCALE = 16
KIND_COLOURS = {"hot": QColor(220, 60, 40), "stuck": QColor(40, 120, 220),
                "dead": QColor(90, 90, 90)}


class HotPixelsThread(QThread):
    """Runs one analysis; ``cancel()`` stops it (no result is shown for a cancelled run)."""

    progress = Signal(int, object)  # run id, Progress
    files_skipped = Signal(int, object)  # run id, list[(path, reason)]
    finished_run = Signal(int, object)  # run id, HotPixelResult
    failed = Signal(int, str)

    def __init__(self, run_id: int, paths: list[Path], options: RunOptions,
                 parent=None) -> None:
        super().__init__(parent)
        self.run_id = run_id
        self.paths = paths
        self.options = options
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:  # in the thread
        from dedupe_gui.core.hotpixels import find_hot_pixels

        rid = self.run_id
        skipped: list[tuple[str, str]] = []
        last = 0.0
        phase = None
        try:
            for ev in find_hot_pixels(self.paths, self.options, cancel=self._cancel):
                now = time.monotonic()
                if isinstance(ev, FileSkipped):
                    skipped.append((ev.path, ev.reason))
                elif isinstance(ev, Progress) and (
                        now - last >= PROGRESS_SECONDS or ev.phase != phase
                        or ev.done >= ev.total):
                    # Never throttle away a phase's first or last snapshot: the core may
                    # yield nothing more for seconds (workers publish per batch of frames),
                    # and the bar would sit on a stale value meanwhile.
                    self.progress.emit(rid, ev)
                    last, phase = now, ev.phase
                elif isinstance(ev, HotPixelsFinished):
                    if skipped:
                        self.files_skipped.emit(rid, skipped)
                    self.finished_run.emit(rid, ev.result)
                    return
                if skipped and now - last >= PROGRESS_SECONDS:
                    self.files_skipped.emit(rid, skipped)
                    skipped = []
        except Exception as exc:  # noqa: BLE001 - nothing may escape a QThread
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            self.failed.emit(rid, f"Hot-pixel analysis failed: {detail}")


class _Job(QThread):
    """One short blocking call (decode a frame, write copies) off the GUI thread."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], object], parent=None) -> None:
        super().__init__(parent)
        self._fn = fn

    def run(self) -> None:
        try:
            self.done.emit(self._fn())
        except Exception as exc:  # noqa: BLE001
            self.failed.emit(f"{type(exc).__name__}: {exc}")


class DefectModel(QAbstractTableModel):
    """The defects of one result; sort on ``Qt.UserRole`` (numbers), display text."""

    COLUMNS = ("x", "y", "channel", "kind", "score", "frames")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.defects: list[Defect] = []
        self.frames = 0

    def set_result(self, defects: list[Defect], frames: int) -> None:
        self.beginResetModel()  # one reset per finished run, nothing streams here
        self.defects = list(defects)
        self.frames = frames
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.defects)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        d = self.defects[index.row()]
        col = self.COLUMNS[index.column()]
        value = getattr(d, col)
        if role == Qt.ItemDataRole.UserRole:
            return value
        if role == Qt.ItemDataRole.DisplayRole:
            if col == "score":
                return f"{value:.1f}"
            if col == "frames":
                return f"{value}/{self.frames}"
            return str(value)
        if role == Qt.ItemDataRole.ForegroundRole and col == "kind":
            return KIND_COLOURS.get(d.kind)
        if role == Qt.ItemDataRole.TextAlignmentRole and col != "kind":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def load_crop(path: str, source: str, x: int, y: int, r: int = ZOOM_RADIUS) -> np.ndarray:
    """The (2r+1)^2 neighbourhood of (x, y) as RGB uint8 (edges padded black)."""
    import cv2

    if source == "raw":
        import rawpy

        with rawpy.imread(path) as raw:
            img = raw.raw_image_visible.astype(np.float32)
            img = np.clip(img / max(1.0, float(raw.white_level)) * 255, 0, 255).astype(np.uint8)
    else:
        img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if img is None:
            raise ValueError(f"cannot decode {path}")
        if img.dtype == np.uint16:
            img = (img >> 8).astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    else:
        img = cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2RGB)
    out = np.zeros((2 * r + 1, 2 * r + 1, 3), np.uint8)
    h, w = img.shape[:2]
    y0, y1, x0, x1 = max(0, y - r), min(h, y + r + 1), max(0, x - r), min(w, x + r + 1)
    out[y0 - (y - r):y1 - (y - r), x0 - (x - r):x1 - (x - r)] = img[y0:y1, x0:x1]
    return out


def _qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def heat_image(heat: np.ndarray) -> QImage:
    """The heat-map in colour; each defect cell (1.0) drawn 3x3 cells wide, so it stays
    visible when a sensor-wide map is shrunk to fit the panel."""
    import cv2

    grey = np.clip(heat * 255, 0, 255).astype(np.uint8)
    marks = cv2.dilate((grey == 255).astype(np.uint8), np.ones((3, 3), np.uint8))
    grey[marks > 0] = 255
    colour = cv2.applyColorMap(grey, cv2.COLORMAP_INFERNO)
    return _qimage(cv2.cvtColor(colour, cv2.COLOR_BGR2RGB))


class _FitLabel(QLabel):
    """Shows an image scaled to fit, rescaled when the label resizes (the heat-map): a
    pixmap set once at the size of the moment stays small, or keeps the panel from
    shrinking."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._image: QImage | None = None
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_image(self, image: QImage) -> None:
        self._image = image
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._image is not None and self.width() > 0 and self.height() > 0:
            self.setPixmap(QPixmap.fromImage(self._image).scaled(
                self.width(), self.height(), Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation))


class HotPixelsPanel(QWidget):
    """Find a camera's hot, stuck and dead pixels from many of its photos."""

    statusMessage = Signal(str)  # noqa: N815 - the panel protocol's name
    resultReady = Signal(object)  # noqa: N815 - HotPixelResult, for tests and the window
    zoomReady = Signal()  # noqa: N815

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.result: HotPixelResult | None = None
        self.options = RunOptions()
        self._run_id = 0
        self._thread: HotPixelsThread | None = None
        self._jobs: list[_Job] = []
        self.skipped: list[tuple[str, str]] = []

        self.files = QListWidget()
        self.files.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.files.setToolTip("Photos or dark frames of one camera; drop folders or files here")
        add_folder = QPushButton("Add folder…")
        add_folder.clicked.connect(self._add_folder_dialog)
        add_files = QPushButton("Add files…")
        add_files.clicked.connect(self._add_files_dialog)
        remove = QPushButton("Remove")
        remove.clicked.connect(self._remove_selected)
        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.z_box = QDoubleSpinBox()
        self.z_box.setRange(2.0, 100.0)
        self.z_box.setSingleStep(0.5)
        self.z_box.setValue(self.options.thresholds.z_hot)
        self.z_box.setPrefix("z ≥ ")
        self.z_box.setToolTip("Hot/dead threshold in robust z units (median/MAD); lower finds "
                              "fainter defects and more false ones")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.summary = QLabel("Drop a folder of photos from one camera, then Run.")
        self.summary.setWordWrap(True)

        left = QVBoxLayout()
        left.addWidget(QLabel("<b>Frames</b>"))
        left.addWidget(self.files, 1)
        row = QHBoxLayout()
        for b in (add_folder, add_files, remove):
            row.addWidget(b)
        left.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.z_box)
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        left.addLayout(row)
        left.addWidget(self.progress)
        left.addWidget(self.summary)
        left_box = QWidget()
        left_box.setLayout(left)

        self.model = DefectModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.clicked.connect(self._row_clicked)
        self.table.selectionModel().currentRowChanged.connect(
            lambda cur, _prev: self._row_clicked(cur))

        self.exports: dict[str, QPushButton] = {}
        export_row = QHBoxLayout()
        for fmt, label in (("csv", "CSV…"), ("json", "JSON…"), ("dcraw", "dcraw -P…"),
                           ("rawtherapee", "RawTherapee…"), ("repair", "Repaired copy…")):
            b = QPushButton(label)
            b.setEnabled(False)
            b.clicked.connect(lambda _=False, f=fmt: self._export_dialog(f))
            self.exports[fmt] = b
            export_row.addWidget(b)
        middle = QVBoxLayout()
        middle.addWidget(QLabel("<b>Defects</b> (click a row to zoom)"))
        middle.addWidget(self.table, 1)
        middle.addLayout(export_row)
        middle_box = QWidget()
        middle_box.setLayout(middle)

        self.frame_choice = QComboBox()
        self.frame_choice.setToolTip("The frame the zoom shows (and the repaired copy uses)")
        self.frame_choice.currentIndexChanged.connect(lambda _i: self._zoom_current())
        self.zoom = QLabel("—")
        self.zoom.setAlignment(Qt.AlignmentFlag.AlignCenter)
        side = (2 * ZOOM_RADIUS + 1) * ZOOM_SCALE
        self.zoom.setFixedSize(side, side)
        self.zoom.setStyleSheet("background: #222; color: #aaa;")
        self.zoom_caption = QLabel("")
        self.heat = _FitLabel("heat-map after a run")
        self.heat.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.heat.setMinimumSize(240, 160)
        self.heat.setStyleSheet("background: #111; color: #888;")
        zoom_box = QGroupBox("Zoom (nearest neighbour, ×16)")
        zl = QGridLayout(zoom_box)
        zl.addWidget(self.frame_choice, 0, 0)
        zl.addWidget(self.zoom, 1, 0, Qt.AlignmentFlag.AlignHCenter)
        zl.addWidget(self.zoom_caption, 2, 0)
        heat_box = QGroupBox("Sensor heat-map (strongest deviation per cell)")
        hl = QVBoxLayout(heat_box)
        hl.addWidget(self.heat, 1)
        right = QVBoxLayout()
        right.addWidget(zoom_box)
        right.addWidget(heat_box, 1)
        right_box = QWidget()
        right_box.setLayout(right)

        split = QSplitter()
        split.addWidget(left_box)
        split.addWidget(middle_box)
        split.addWidget(right_box)
        split.setStretchFactor(1, 1)
        split.setStretchFactor(2, 1)  # a wider window also widens the heat-map
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)  # never quit with a run's thread alive

    # ------------------------------------------------------------------ input

    def paths(self) -> list[Path]:
        return [Path(self.files.item(i).text()) for i in range(self.files.count())]

    def add_paths(self, paths: list[Path], start: bool = False) -> None:
        have = {str(p) for p in self.paths()}
        for p in paths:
            text = str(Path(p))
            if text not in have:
                self.files.addItem(text)
                have.add(text)
        self.statusMessage.emit(f"{self.files.count()} folders/files to analyse")
        if start:
            self.start()

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.setDropAction(Qt.DropAction.CopyAction)  # never Move from a file manager
            event.accept()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        if paths:
            self.add_paths(paths)

    def _add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of frames")
        if folder:
            self.add_paths([Path(folder)])

    def _add_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add frames")
        if files:
            self.add_paths([Path(f) for f in files])

    def _remove_selected(self) -> None:
        for item in self.files.selectedItems():
            self.files.takeItem(self.files.row(item))

    # ------------------------------------------------------------------ run

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def start(self) -> None:
        if self.running or not self.paths():
            return
        self._run_id += 1
        self.skipped = []
        self.progress.setRange(0, 0)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.summary.setText("Reading headers…")
        z = self.z_box.value()
        self.options = replace(self.options, thresholds=replace(
            self.options.thresholds, z_hot=z, z_dead=z))
        t = HotPixelsThread(self._run_id, self.paths(), self.options, self)
        t.progress.connect(self._on_progress)
        t.files_skipped.connect(self._on_skipped)
        t.finished_run.connect(self._on_finished)
        t.failed.connect(self._on_failed)
        t.finished.connect(self._thread_done)
        self._thread = t
        t.start()

    def cancel(self) -> None:
        if self._thread is not None:
            self._thread.cancel()
            self._run_id += 1  # late results of the cancelled run are dropped
            self.summary.setText("Cancelling…")
            self.statusMessage.emit("Hot-pixel analysis cancelled")

    def shutdown(self) -> None:
        """Stop and wait for every thread (window close, tests)."""
        if self._thread is not None:
            self._thread.cancel()
            self._thread.wait()
        for job in self._jobs:
            job.wait()

    def _thread_done(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)

    def _on_progress(self, rid: int, p: Progress) -> None:
        if rid != self._run_id:
            return
        if p.phase.startswith("Reading") and p.done >= p.total:
            # Headers read; the analysis reports its first frames only after a batch is
            # decoded, so show it as busy instead of a full "Reading headers" bar.
            self.progress.setRange(0, 0)
            self.summary.setText("Analysing frames…")
            self.statusMessage.emit("Analysing frames…")
            return
        self.progress.setRange(0, max(1, p.total))
        self.progress.setValue(p.done)
        text = p.describe("frames" if p.phase.startswith("Analys") else "files")
        self.progress.setFormat("%v/%m")
        self.summary.setText(text)
        self.statusMessage.emit(text)

    def _on_skipped(self, rid: int, items: list[tuple[str, str]]) -> None:
        if rid == self._run_id:
            self.skipped.extend(items)

    def _on_failed(self, rid: int, message: str) -> None:
        if rid == self._run_id:
            self.summary.setText(message)
            self.statusMessage.emit(message)

    def _on_finished(self, rid: int, result: HotPixelResult) -> None:
        if rid != self._run_id:
            return
        self.result = result
        self.model.set_result(result.defects, result.frames)
        self.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
        kinds = {k: sum(d.kind == k for d in result.defects) for k in ("hot", "stuck", "dead")}
        text = (f"{result.camera or 'unknown camera'}, {result.width}×{result.height}, "
                f"{result.frames} frames: {kinds['hot']} hot, {kinds['stuck']} stuck, "
                f"{kinds['dead']} dead ({result.seconds:.1f} s)")
        if result.skipped:
            text += f"; {len(result.skipped)} files skipped (hover for reasons)"
            self.summary.setToolTip("\n".join(f"{Path(p).name}: {r}"
                                              for p, r in result.skipped[:40]))
        if result.note:
            text += f" — {result.note}"
        self.summary.setText(text)
        self.statusMessage.emit(text)
        self.progress.setRange(0, max(1, result.frames))
        self.progress.setValue(result.frames)
        self.frame_choice.blockSignals(True)
        self.frame_choice.clear()
        for f in result.files:
            self.frame_choice.addItem(Path(f).name, f)
        self.frame_choice.blockSignals(False)
        self.heat.set_image(heat_image(result.heat))
        for b in self.exports.values():
            b.setEnabled(bool(result.frames))
        self.resultReady.emit(result)
        if result.defects:
            self.table.selectRow(0)

    # ------------------------------------------------------------------ zoom

    def _row_clicked(self, index) -> None:
        if index.isValid() and self.result is not None:
            self._zoom_current()

    def current_defect(self) -> Defect | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.defects[self.proxy.mapToSource(index).row()]

    def _zoom_current(self) -> None:
        d = self.current_defect()
        frame = self.frame_choice.currentData()
        if d is None or not frame or self.result is None:
            return
        source = self.result.source
        job = _Job(lambda: (d, load_crop(frame, source, d.x, d.y)), self)
        job.done.connect(self._show_zoom)
        job.failed.connect(lambda msg: self.zoom_caption.setText(msg))
        self._start_job(job)

    def _start_job(self, job: _Job) -> None:
        self._jobs = [j for j in self._jobs if j.isRunning()]
        self._jobs.append(job)
        job.start()

    def _show_zoom(self, payload) -> None:
        d, crop = payload
        if d is not self.current_defect():
            return  # the user moved on
        side = crop.shape[0] * ZOOM_SCALE
        pix = QPixmap.fromImage(_qimage(crop).scaled(
            side, side, Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.FastTransformation))  # nearest neighbour: real pixels
        painter = QPainter(pix)
        pen = QPen(KIND_COLOURS.get(d.kind, QColor("yellow")))
        pen.setWidth(2)
        painter.setPen(pen)
        c = ZOOM_RADIUS * ZOOM_SCALE
        painter.drawRect(c - 1, c - 1, ZOOM_SCALE + 1, ZOOM_SCALE + 1)
        painter.end()
        self.zoom.setPixmap(pix)
        self.zoom_caption.setText(f"({d.x}, {d.y}) {d.channel} {d.kind}, score {d.score:.1f}, "
                                  f"{d.frames}/{self.model.frames} frames")
        self.zoomReady.emit()

    # ------------------------------------------------------------------ export

    def export(self, fmt: str, path: str | Path) -> Path:
        """Write the result as ``fmt`` (csv, json, dcraw, rawtherapee) to ``path``."""
        from dedupe_gui.core import hotpixels_export

        if self.result is None:
            raise RuntimeError("nothing to export yet")
        target = hotpixels_export.write(self.result, fmt, path)
        self.statusMessage.emit(f"Wrote {target}")
        return target

    def repair_copy(self, out_dir: str | Path) -> _Job:
        """Write a repaired copy of the chosen frame into ``out_dir`` (in a job thread)."""
        from dedupe_gui.core.hotpixels_export import repair_copy

        result, frame = self.result, self.frame_choice.currentData()
        job = _Job(lambda: repair_copy(result, frame, out_dir), self)
        job.done.connect(lambda p: self.statusMessage.emit(f"Wrote repaired copy {p}"))
        job.failed.connect(lambda msg: self.statusMessage.emit(f"Repair failed: {msg}"))
        self._start_job(job)
        return job

    def _export_dialog(self, fmt: str) -> None:
        if self.result is None:
            return
        if fmt == "repair":
            folder = QFileDialog.getExistingDirectory(self, "Folder for the repaired copy")
            if folder:
                self.repair_copy(folder)
            return
        from dedupe_gui.core.hotpixels_export import rawtherapee_name

        name = {"csv": "hotpixels.csv", "json": "hotpixels.json", "dcraw": "badpixels.txt",
                "rawtherapee": rawtherapee_name(self.result)}[fmt]
        path, _ = QFileDialog.getSaveFileName(self, f"Export {fmt}", name)
        if path:
            try:
                self.export(fmt, path)
            except OSError as exc:
                self.statusMessage.emit(f"Export failed: {exc}")
