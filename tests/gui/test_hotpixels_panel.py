"""The Hot pixels panel, offscreen: a real run on generated frames, a click, an export."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from dedupe_gui.gui.hotpixels_panel import ZOOM_RADIUS, ZOOM_SCALE, HotPixelsPanel
from tests.core.test_hotpixels_frames import make_set


@pytest.fixture
def frames(tmp_path):
    folder = tmp_path / "camera"
    truth = make_set(folder, "tif", n=10, height=48, width=64, per_kind=2)
    return folder, truth


@pytest.fixture
def panel(show_panel):
    return show_panel(HotPixelsPanel(), 1200, 700)


def test_drop_run_click_and_export(panel, frames, qtbot, tmp_path):
    folder, truth = frames
    mime = QMimeData()  # keep a reference while the event lives
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction | Qt.DropAction.MoveAction,
                      mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    panel.dropEvent(drop)
    assert drop.dropAction() == Qt.DropAction.CopyAction
    assert panel.paths() == [folder]

    with qtbot.waitSignal(panel.resultReady, timeout=120_000) as got:
        panel.run_button.click()
    result = got.args[0]
    assert result.frames == 10
    assert panel.model.rowCount() == len(truth)
    found = {(d.x, d.y, d.channel, d.kind) for d in panel.model.defects}
    assert found == {(d.x, d.y, d.channel, d.kind) for d in truth}
    # sorted by score, strongest first
    scores = [panel.proxy.index(r, 4).data(Qt.ItemDataRole.UserRole)
              for r in range(panel.proxy.rowCount())]
    assert scores == sorted(scores, reverse=True)
    assert panel.heat.pixmap() is not None and not panel.heat.pixmap().isNull()

    # click the row of a dead pixel: the zoom shows that pixel black in its channel
    row = next(r for r in range(panel.proxy.rowCount())
               if panel.proxy.index(r, 3).data() == "dead")
    dead = panel.model.defects[panel.proxy.mapToSource(panel.proxy.index(row, 0)).row()]
    rect = panel.table.visualRect(panel.proxy.index(row, 0))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.current_defect() == dead
    # the zoom of the clicked row (an earlier row's zoom may still arrive first)
    qtbot.waitUntil(lambda: f"({dead.x}, {dead.y})" in panel.zoom_caption.text(),
                    timeout=30_000)
    image = panel.zoom.pixmap().toImage()
    assert image.width() == (2 * ZOOM_RADIUS + 1) * ZOOM_SCALE
    centre = image.pixelColor(QPoint(ZOOM_RADIUS * ZOOM_SCALE + ZOOM_SCALE // 2,
                                     ZOOM_RADIUS * ZOOM_SCALE + ZOOM_SCALE // 2))
    channel_value = {"R": centre.red(), "G": centre.green(), "B": centre.blue()}[dead.channel]
    assert channel_value == 0
    assert f"({dead.x}, {dead.y})" in panel.zoom_caption.text()

    out = panel.export("csv", tmp_path / "defects.csv")
    lines = Path(out).read_text().splitlines()
    assert lines[0] == "x,y,channel,kind,score,frames" and len(lines) == len(truth) + 1
    job = panel.repair_copy(tmp_path / "repaired")
    qtbot.waitUntil(job.isFinished, timeout=30_000)  # it may finish before we could wait
    copies = list((tmp_path / "repaired").iterdir())
    assert len(copies) == 1 and ".repaired" in copies[0].name
    assert sorted(p.name for p in folder.iterdir()) == [f"frame_{i:03d}.tif" for i in range(10)]


def test_cancel_drops_the_run(panel, frames, qtbot):
    folder, _ = frames
    panel.add_paths([folder])
    panel.start()
    assert panel.running and panel.cancel_button.isEnabled()
    panel.cancel()
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    qtbot.wait(50)
    assert panel.result is None  # the cancelled run's late result was not shown
    assert panel.run_button.isEnabled()


def test_progress_bar_ends_full(panel, frames, qtbot):
    folder, _ = frames
    panel.add_paths([folder])
    with qtbot.waitSignal(panel.resultReady, timeout=120_000):
        panel.start()
    assert panel.progress.value() == panel.progress.maximum() == 10
    assert panel.progress.text() == "10/10"


def test_progress_shows_the_analysis_after_the_headers(panel, frames, qtbot):
    """The headers' last snapshot is never throttled away (it arrives within 0.1 s of the
    first), so the bar does not sit on "Reading headers 1/10" while the workers decode."""
    folder, _ = frames
    panel.add_paths([folder])
    messages: list[str] = []
    busy: list[bool] = []
    panel.statusMessage.connect(messages.append)
    panel.statusMessage.connect(lambda _m: busy.append(panel.progress.maximum() == 0))
    with qtbot.waitSignal(panel.resultReady, timeout=120_000):
        panel.start()
    i = messages.index("Analysing frames…")
    assert busy[i]
    assert not any(m.startswith("Reading headers") for m in messages[i:])
    assert panel.progress.value() == panel.progress.maximum() == 10
