"""The two views stay aligned on the same scene point whatever the images' pixel sizes."""
from __future__ import annotations

import cv2
import pytest
from PySide6.QtCore import QPoint, QPointF, QSize, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtTest import QTest

from dedupe_gui.gui.image_compare import CompareView
from dedupe_gui.gui.image_loader import from_rgb_array
from tests.gui.images import make_photo


def pixmap(seed: int, w: int, h: int) -> QPixmap:
    rgb = cv2.cvtColor(make_photo(seed, w, h), cv2.COLOR_BGR2RGB)
    return QPixmap.fromImage(from_rgb_array(rgb))


@pytest.fixture
def view(qtbot):
    v = CompareView()
    qtbot.addWidget(v)
    v.resize(1000, 500)
    v.show()
    big = pixmap(1, 2000, 1500)  # decoded preview of a 4000 px original
    small = pixmap(1, 1000, 750)
    v.set_image(0, big, QSize(4000, 3000), "big")
    v.set_image(1, small, QSize(1000, 750), "small")
    qtbot.waitExposed(v)
    return v


def assert_aligned(v: CompareView) -> None:
    for x, y in ((10, 10), (200, 150), (480, 400)):
        ua, va = v.scene_point(0, x, y)
        ub, vb = v.scene_point(1, x, y)
        assert ua == pytest.approx(ub, abs=1e-9) and va == pytest.approx(vb, abs=1e-9)


def test_zoom_and_pan_stay_aligned_across_resolutions(view, qtbot):
    assert view.fitted
    rect = view.panes[0].image_rect()
    assert rect.width() <= view.panes[0].width() + 0.5
    assert rect.height() <= view.panes[0].height() + 0.5
    assert_aligned(view)
    pane = view.panes[1]
    before = view.scene_point(1, 100, 80)
    view.zoom_by(3.0, QPointF(100, 80), pane)  # the scene point under the cursor stays put
    assert view.scene_point(1, 100, 80) == pytest.approx(before)
    assert_aligned(view)
    QTest.mousePress(pane, Qt.MouseButton.LeftButton, pos=pane.rect().center())
    QTest.mouseMove(pane, pane.rect().center() + QPoint(-60, 25))
    QTest.mouseRelease(pane, Qt.MouseButton.LeftButton, pos=pane.rect().center())
    assert view.scene_point(1, 100, 80) != pytest.approx(before)
    assert_aligned(view)


def test_actual_size_means_one_pixel_of_the_left_original(view):
    view.actual_size()
    assert view.display_width() == 4000
    assert view.zoom_percent() == pytest.approx(100.0)
    # at 100% the 1000 px copy is drawn 4x: same scene under the same screen pixel
    assert_aligned(view)
    view.fit()
    assert view.fitted and view.zoom_percent() < 100


def test_flicker_and_heatmap_choose_what_each_pane_shows(view):
    left, right = view.panes[0].pixmap, view.panes[1].pixmap
    view.set_flicker(True)
    assert view.shown_pixmap(0) is right and view.shown_pixmap(1) is left
    view.set_flicker(False)
    heat = from_rgb_array(make_photo(5, 64, 48))
    view.set_heatmap(heat)
    view.set_show_heatmap(True)
    assert view.shown_pixmap(1) is view.heatmap and view.shown_pixmap(0) is left
    view.grab()  # paints without errors in every mode
