"""The Duplicates panel's folders and scan controls: the folder list, Scan / Cancel, the
progress strip, and the glue from a ScanThread's signals to the pair list.

A mixin of DuplicatesPanel (it uses the panel's model, pair list and review pane), kept apart
so each module has one job: this one starts and stops scans and takes in what they stream.
The scan itself runs in ScanThread; nothing here waits on it.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QPushButton

from dedupe_gui.core.results import LARGE_LIBRARY_NOTE, ScanResult
from dedupe_gui.gui.folder_list import FolderList
from dedupe_gui.gui.pair_list import SLIDER_STEPS
from dedupe_gui.gui.progress_strip import ProgressStrip
from dedupe_gui.gui.scan_thread import ScanThread, renice_workers


class ScanControlsMixin:
    """Folder list, Scan / Cancel and scan signals of DuplicatesPanel (see the module docstring)."""

    def _build_scan_controls(self) -> QHBoxLayout:
        """The folder list, Scan / Cancel and the progress strip; returns the button row."""
        self.folders = FolderList()
        self.scan_button = QPushButton("Scan")
        self.scan_button.setDefault(True)
        self.scan_button.clicked.connect(lambda: self.start_scan())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_scan)
        self.progress_bar = ProgressStrip()  # always in the layout: showing it re-lays out
        self.progress_bar.set_range(0, 1)
        for w in (self.scan_button, self.cancel_button):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scan_row = QHBoxLayout()
        scan_row.addWidget(self.scan_button, 1)
        scan_row.addWidget(self.cancel_button)
        return scan_row

    def add_paths(self, paths: list[Path], start: bool = False) -> None:
        """Folders/files dropped on the window or given on the command line."""
        added = self.folders.add_paths(paths)
        self.statusMessage.emit(f"Added {added} folder(s)" if added else "Already in the list")
        if start:
            self.start_scan()

    def start_scan(self, roots: list[Path] | None = None) -> int:
        """Start a scan of the listed folders; returns its id (0 = nothing to scan)."""
        from dedupe_gui.core.scan import ScanOptions

        roots = roots or self.folders.roots()
        if not roots:
            self.statusMessage.emit("Add a folder first (drop it on the window or use Add)")
            return 0
        self._save_prefs()
        self.cancel_scan()
        self._scan_id += 1
        self._roots = [str(r) for r in roots]
        self._result = None
        self._current = None
        self._undo.clear()
        self._redo.clear()
        self.model.begin_streaming()
        self.compare.clear("Pairs appear here while the scan runs")
        if self.meta_table.item(0, 0) is not None:
            self.meta_table.show_meta(None, None)
        options = ScanOptions(excludes=tuple(self.prefs.excludes),
                              include_hidden=self.prefs.include_hidden)
        thread = ScanThread(self._scan_id, roots, options,
                            cluster_address=self.prefs.cluster_address)
        thread.started_scan.connect(self._on_started)
        thread.pairs_found.connect(self._on_pairs)
        thread.progress.connect(self._on_progress)
        thread.files_skipped.connect(self._on_skipped)
        thread.finished_scan.connect(self._on_finished)
        thread.failed.connect(self._on_failed)
        thread.finished.connect(self._thread_done)
        self._thread = thread
        self._skipped = 0
        self.scan_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress_bar.set_range(0, 0)
        self.statusMessage.emit(
            f"Connecting to the Dask cluster at {thread.cluster_address}…"
            if thread.cluster_address else "Scanning…")
        thread.start()
        return self._scan_id

    def cancel_scan(self) -> None:
        if self._thread is not None and self._thread.isRunning():
            self._thread.cancel()
            self._old_threads.append(self._thread)
            self.statusMessage.emit("Cancelling… (pairs found so far are kept)")
            self._keep_partial = self._thread.scan_id
        self._thread = None
        self.scan_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    @property
    def scanning(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def _thread_done(self) -> None:
        for t in [t for t in self._old_threads if t.isFinished()]:
            self._old_threads.remove(t)
            t.deleteLater()
        if self._thread is not None and self._thread.isFinished():
            self._thread.deleteLater()
            self._thread = None

    def _live(self, scan_id: int) -> bool:
        """Results of the running scan, or of the one just cancelled (its partial result)."""
        return scan_id == self._scan_id and (
            self._thread is not None or getattr(self, "_keep_partial", 0) == scan_id)

    def _where(self) -> str:
        """" on the cluster at …" while the running scan uses one (for the status line)."""
        thread = self._thread
        address = thread.cluster_address if thread is not None else ""
        return f" on the cluster at {address}" if address else ""

    def _on_started(self, scan_id: int, total: int) -> None:
        if self._live(scan_id):
            self.progress_bar.set_range(0, max(1, total))
            self.statusMessage.emit(f"Scanning {total} files{self._where()}…")

    def _on_pairs(self, scan_id: int, pairs) -> None:
        if not self._live(scan_id):
            return
        self.model.append_pairs(pairs)
        self._update_counts()
        if self._current is None and self.model.rowCount():
            # Not opened automatically while scanning: decoding and painting two photos
            # competes with the scan for the CPU; the first pair opens when it ends.
            self.compare.clear(f"{self.model.rowCount()} pairs so far: select one to review "
                               "it now, or wait for the scan to finish")

    def _on_progress(self, scan_id: int, progress) -> None:
        renice_workers(self._reniced)
        if self._live(scan_id) and self._thread is not None:
            self.progress_bar.set_range(0, max(1, progress.total))
            self.progress_bar.set_value(progress.done)
            extra = f", {self._skipped} skipped" if self._skipped else ""
            self.statusMessage.emit(progress.describe() + extra + self._where())

    def _on_skipped(self, scan_id: int, items) -> None:
        if self._live(scan_id):
            self._skipped += len(items)

    def _on_finished(self, scan_id: int, result: ScanResult) -> None:
        if not self._live(scan_id):
            return
        current = self._current_paths()
        self._result = result
        self.model.set_result(result.files, result.pairs)
        self._start_group_counts()
        self._apply_not_duplicate_marks()
        if self.prefs.threshold is None and result.threshold:
            self.slider.setValue(round(result.threshold * SLIDER_STEPS))
        where = self._where()
        self._finish_scan_ui()
        self.statusMessage.emit(finished_message(result, where))
        self._reselect(current)
        self._update_counts()
        self._save_timer.start()  # soon, in its own event-loop turn (keeps each gap short)

    def _on_failed(self, scan_id: int, message: str) -> None:
        if scan_id == self._scan_id:
            self._finish_scan_ui()
            self.statusMessage.emit(message)
            if not self.model.rowCount():
                self.compare.clear(message)

    def _finish_scan_ui(self) -> None:
        if self._thread is not None:
            self._old_threads.append(self._thread)
            self._thread = None
        self._keep_partial = 0
        self.progress_bar.set_range(0, 1)
        self.progress_bar.set_value(0)
        self.scan_button.setEnabled(True)
        self.cancel_button.setEnabled(False)


def finished_message(result: ScanResult, where: str = "") -> str:
    """The status line at the end of a scan; it says when the large-library mode was used
    (``core.matching.stage1_bounds``), because that mode misses some far copies."""
    what = "Cancelled" if result.cancelled else "Done"
    text = (f"{what}: {len(result.files)} pictures, {len(result.pairs)} candidate pairs, "
            f"{len(result.skipped)} skipped, {result.seconds:.1f} s{where}")
    return f"{text} ({LARGE_LIBRARY_NOTE})" if result.large_library else text
