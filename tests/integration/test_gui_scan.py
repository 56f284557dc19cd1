"""End to end through the window: drop folders, scan real pictures with the real process pool,
review, decide with the keyboard, undo; and the event loop never stalls during a scan."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QElapsedTimer, QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from dedupe_gui.core.results import FileRecord, PairRecord
from dedupe_gui.gui.main_window import MainWindow
from tests.gui.images import make_library

SCAN_TIMEOUT_MS = 120_000


def drop_urls(window, paths: list[Path]) -> tuple[QDragEnterEvent, QDropEvent]:
    """A real drag-enter + drop as a file manager sends them (Copy or Move offered)."""
    mime = QMimeData()  # a Python reference must outlive the events
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(400, 300)
    offered = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction
    args = (offered, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    try:
        enter = QDragEnterEvent(pos, *args)  # Qt >= 6.8; the QPoint form is deprecated there
    except TypeError:
        enter = QDragEnterEvent(pos.toPoint(), *args)
    QApplication.sendEvent(window, enter)
    drop = QDropEvent(pos, offered, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    window._test_mime = mime
    return enter, drop


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    yield w
    w.close()


def test_drop_scan_slide_decide_undo(window, qtbot, tmp_path):
    lib = tmp_path / "lib"
    files, pairs = make_library(lib, 10, 6, size=(1000, 750))
    panel = window.current_panel
    enter, drop = drop_urls(window, [lib / "a", lib / "b"])
    assert enter.isAccepted() and enter.dropAction() == Qt.DropAction.CopyAction
    assert drop.isAccepted() and drop.dropAction() == Qt.DropAction.CopyAction
    assert panel.folders.roots() == []  # handed on after the event returned, not inside it
    qtbot.waitUntil(lambda: len(panel.folders.roots()) == 2)

    streamed = []
    panel.model.rowsInserted.connect(lambda *a: streamed.append(panel.scanning))
    qtbot.mouseClick(panel.scan_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel._result is not None, timeout=SCAN_TIMEOUT_MS)
    assert streamed and streamed[0]  # pairs reached the list while the scan was running
    expected = {frozenset((str(a), str(b))) for a, b in pairs}
    visible = {frozenset(p.path for p in panel.model.files_of(panel.model.pair_at(r)))
               for r in range(panel.model.rowCount())}
    assert expected <= visible, "every true pair is listed at the default threshold"
    assert "groups" in panel.counts_label.text()

    # the slider: to 100 hides (almost) everything, back shows them again, no rescan
    n = panel.model.rowCount()
    panel.slider.setValue(panel.slider.maximum())
    assert panel.model.rowCount() == panel.model.count_at(100.0) < n
    panel.slider.setValue(panel.slider.minimum())
    assert panel.model.rowCount() >= n
    panel.set_threshold(panel._result.threshold)
    assert panel.model.rowCount() == n

    # decide with the keyboard in the pair list
    panel.table.setFocus()
    panel.select_row(0)
    qtbot.waitUntil(lambda: panel.compare.panes[0].pixmap is not None)
    left, right = panel.sides()
    QTest.keyClick(panel.table, Qt.Key.Key_A)  # keep left, trash right
    assert os.path.exists(left.path) and not os.path.exists(right.path)
    trash = tmp_path / "data" / "Trash" / "files"
    assert os.listdir(trash) == [os.path.basename(right.path)]
    left2, right2 = panel.sides()
    assert {left2.path, right2.path} != {left.path, right.path}
    QTest.keyClick(panel.table, Qt.Key.Key_D)  # keep right, trash left
    assert not os.path.exists(left2.path) and os.path.exists(right2.path)
    QTest.keyClick(panel.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(panel.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    for f in files:  # undo restored every byte in place; the trash is empty again
        assert f.exists()
    assert os.listdir(trash) == []
    assert panel.model.is_open(0)


def test_event_loop_never_stalls_during_a_real_scan(window, qtbot, many_pictures):
    panel = window.current_panel
    n_pictures = sum(1 for _ in many_pictures.rglob("*.jpg"))
    assert n_pictures >= 200
    panel.add_paths([many_pictures])
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    at: list[int] = []
    marks: dict[str, int] = {}

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        at.append(last[0])
        last[0] = now

    panel.model.rowsInserted.connect(lambda *a: marks.setdefault("first pairs", clock.elapsed()))

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)
    timer.start(10)
    t0 = time.monotonic()
    panel.start_scan()
    qtbot.waitUntil(lambda: panel._result is not None, timeout=SCAN_TIMEOUT_MS)
    timer.stop()
    seconds = time.monotonic() - t0
    result = panel._result
    assert len(result.files) == n_pictures and not result.skipped
    assert panel.model.rowCount() >= 20  # the 22 re-encoded copies
    worst = max(gaps)
    top = sorted(zip(gaps, at, strict=True), reverse=True)[:5]
    print(f"\nstall: {n_pictures} pictures scanned in {seconds:.1f} s; {len(gaps)} ticks, "
          f"longest gap {worst:.0f} ms; top gaps (ms, at ms) {top}; marks {marks}, "
          f"end {clock.elapsed()}")
    assert worst <= 100, f"the event loop stalled for {worst} ms"


def test_cancelled_scan_keeps_partial_results_and_drops_late_ones(window, qtbot, tmp_path):
    lib = tmp_path / "lib"
    files, _ = make_library(lib, 12, 6, size=(800, 600))
    panel = window.current_panel
    panel.add_paths([lib])
    first = panel.start_scan()
    panel.cancel_scan()
    assert not panel.scanning and panel.scan_button.isEnabled()
    second = panel.start_scan()
    assert second == first + 1
    # A late batch of the cancelled scan (its queued signal arriving now) is dropped: two
    # different pictures that the real scan never pairs.
    x, y = (FileRecord(str(p), p.stat().st_size, p.stat().st_mtime_ns, 800, 600)
            for p in (lib / "a" / "img_0010.jpg", lib / "a" / "img_0011.jpg"))
    panel._on_pairs(first, [PairRecord(x, y, 99.9, 0)])
    assert panel.model.find_pair(x.path, y.path) is None
    qtbot.waitUntil(lambda: panel._result is not None, timeout=SCAN_TIMEOUT_MS)
    assert not panel._result.cancelled
    assert panel.model.find_pair(x.path, y.path) is None
    assert panel.model.rowCount() == panel.model.count_at(panel.threshold) >= 6
    qtbot.waitUntil(lambda: not panel._old_threads, timeout=SCAN_TIMEOUT_MS)
