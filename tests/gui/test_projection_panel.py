"""The map projection panel, offscreen: load, live preview off the GUI thread, export."""
import json
import math
import time

import cv2
import numpy as np
import pytest

from dedupe_gui.gui.projection_panel import ProjectionPanel


@pytest.fixture
def world(tmp_path):
    """A 1024x512 equirectangular map: a colour gradient with a red dot at 0N 0E."""
    img = np.zeros((512, 1024, 3), np.uint8)
    img[:, :, 0] = np.linspace(0, 255, 1024, dtype=np.uint8)[None, :]
    img[:, :, 1] = np.linspace(0, 255, 512, dtype=np.uint8)[:, None]
    cv2.circle(img, (512, 256), 6, (0, 0, 255), -1)
    path = tmp_path / "world.png"
    cv2.imwrite(str(path), img)
    return path


@pytest.fixture
def panel(show_panel):
    return show_panel(ProjectionPanel(), 1100, 600)


def loaded(qtbot, panel, path):
    with qtbot.waitSignal(panel.previewUpdated, timeout=10_000):
        panel.add_paths([path])
    return panel.shown_rid


def qimage_array(qimg):
    ptr = qimg.constBits()
    return np.array(ptr, copy=True).reshape(qimg.height(), qimg.bytesPerLine())


def test_load_preview_move_pole_and_export(qtbot, panel, world, tmp_path):
    messages = []
    panel.statusMessage.connect(messages.append)
    first = loaded(qtbot, panel, world)
    assert panel.proj_combo.currentText() == "transverse-mercator"
    assert panel.preview.pixmap() is not None and not panel.preview.pixmap().isNull()
    assert panel.preview_image.width() <= 1024 and panel.preview_image.height() <= 768

    panel.proj_combo.setCurrentText("oblique-mercator")
    assert (panel.pole_lat.value(), panel.pole_lon.value()) == (0, 90)
    qtbot.waitUntil(lambda: panel.shown_rid == panel._rid > first, timeout=10_000)
    before = qimage_array(panel.preview_image)
    panel.pole_lat.setValue(40)  # move the pole: the preview follows
    qtbot.waitUntil(lambda: panel.shown_rid == panel._rid, timeout=10_000)
    after = qimage_array(panel.preview_image)
    assert before.shape == after.shape and not np.array_equal(before, after)
    assert "pole at 40, 90" in panel.info.text()

    panel.export_width.setValue(600)
    out = tmp_path / "exported.png"
    panel.export_to(out)
    assert panel.exporting
    qtbot.waitUntil(lambda: not panel.exporting, timeout=30_000)
    assert out.exists(), messages[-3:]
    meta = json.loads((tmp_path / "exported.png.json").read_text())
    ym = math.asinh(math.tan(math.radians(85)))
    assert meta["projection"] == "oblique-mercator"
    assert meta["proj"].startswith("+proj=ob_tran +o_proj=merc +o_lat_p=40 ")
    assert meta["extent"] == pytest.approx([-math.pi, math.pi, -ym, ym])
    assert meta["width"] == 600
    img = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert img.shape[:2] == (meta["height"], meta["width"])
    assert any(m.startswith("Exported exported.png") for m in messages)
    assert panel.progress.value() == panel.progress.maximum()


def test_slider_moves_are_coalesced_and_the_gui_never_waits(qtbot, panel, world):
    loaded(qtbot, panel, world)
    panel.proj_combo.setCurrentText("oblique-mercator")
    shown = []
    panel.previewUpdated.connect(shown.append)
    longest = 0.0
    for lat in range(-80, 81, 4):  # 41 moves in a burst, as a fast drag delivers them
        t0 = time.perf_counter()
        panel.pole_lat.setValue(lat)
        longest = max(longest, time.perf_counter() - t0)
    last = panel._rid
    qtbot.waitUntil(lambda: panel.shown_rid >= last, timeout=10_000)
    qtbot.wait(50)  # let any late picture arrive before counting
    assert longest < 0.25  # a slider move only posts a request (rendering is on the preview thread)
    assert len(shown) < 20  # the burst's stale requests were dropped, not queued
    assert "pole at 80, 90" in panel.info.text()


def test_orthographic_centre_and_transparent_outside(qtbot, panel, world):
    loaded(qtbot, panel, world)
    panel.graticule_combo.setCurrentText("none")
    rid = panel.shown_rid
    panel.proj_combo.setCurrentText("orthographic")
    assert not panel.pole_lat.isEnabled() and panel.center_lat.isEnabled()
    qtbot.waitUntil(lambda: panel.shown_rid == panel._rid > rid, timeout=10_000)
    arr = qimage_array(panel.preview_image)
    h, w = panel.preview_image.height(), panel.preview_image.width()
    px = arr[:, : 4 * w].reshape(h, w, 4)
    assert px[0, 0, 3] == 0  # corner: outside the globe
    centre = px[h // 2, w // 2]
    assert centre[3] == 255 and centre[2] > 200 and centre[1] < 100  # the red dot at 0N 0E


def test_export_can_be_cancelled_and_bad_files_are_reported(qtbot, panel, world, tmp_path):
    loaded(qtbot, panel, world)
    panel.export_width.setValue(6000)
    out = tmp_path / "big.png"
    messages = []
    panel.statusMessage.connect(messages.append)
    panel.export_to(out)
    panel.cancel_export()
    qtbot.waitUntil(lambda: not panel.exporting, timeout=30_000)
    assert not out.exists() or any("Exported" in m for m in messages)
    assert any("cancelled" in m or "Exported" in m for m in messages)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"garbage")
    with qtbot.waitSignal(panel.statusMessage, timeout=5000,
                          check_params_cb=lambda m: m.startswith("Cannot open")):
        panel.add_paths([bad])
    panel.add_paths([tmp_path])  # a folder is not a map
    assert "drop a world map" in messages[-1]


def test_a_new_panel_runs_no_thread(qtbot):
    """The main window builds every panel: an idle map panel must not hold a thread."""
    p = ProjectionPanel()
    qtbot.addWidget(p)
    p.show()
    p.resize(900, 500)
    assert p._preview is None and not p.export_button.isEnabled()


def test_choices_are_remembered(qtbot):
    first = ProjectionPanel()
    qtbot.addWidget(first)
    first.proj_combo.setCurrentText("mollweide")
    first.interp_combo.setCurrentText("cubic")
    first.transparent.setChecked(False)
    first.shutdown()
    second = ProjectionPanel()
    qtbot.addWidget(second)
    assert second.proj_combo.currentText() == "mollweide"
    assert second.interp_combo.currentText() == "cubic"
    assert not second.transparent.isChecked()
    second.shutdown()
