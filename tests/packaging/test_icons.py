"""The application icon: every size present, the right size, transparent corners, in sync
with its SVG source, and loaded by the app for its windows."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]
ICONS = ROOT / "dedupe_gui" / "resources" / "icons"


def load_render_script():
    spec = importlib.util.spec_from_file_location("render_icons", ROOT / "packaging" / "render_icons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render_icons = load_render_script()


@pytest.mark.parametrize("size", render_icons.SIZES)
def test_png_has_its_size_and_a_transparent_background(qapp, size):
    image = QImage(str(ICONS / render_icons.png_name(size)))
    assert not image.isNull()
    assert (image.width(), image.height()) == (size, size)
    assert image.hasAlphaChannel()
    assert image.pixelColor(0, size - 1).alpha() == 0  # bottom-left corner is background
    assert image.pixelColor(size // 2, size // 2).alpha() == 255  # the motif fills the middle


@pytest.mark.parametrize("size", [16, 64])
def test_committed_pngs_match_the_svg_sources(qapp, tmp_path, size):
    """Whoever edits an SVG must re-run packaging/render_icons.py."""
    svg = render_icons.SVG_SMALL if size <= render_icons.SMALL_MAX else render_icons.SVG
    fresh = tmp_path / "fresh.png"
    render_icons.render(svg, size, fresh)
    a = QImage(str(fresh)).convertToFormat(QImage.Format.Format_RGBA8888)
    b = QImage(str(ICONS / render_icons.png_name(size))).convertToFormat(QImage.Format.Format_RGBA8888)
    diff = max(abs(x - y) for x, y in zip(bytes(a.constBits()), bytes(b.constBits()), strict=True))
    assert diff <= 8, f"{render_icons.png_name(size)} is stale: run packaging/render_icons.py"


def test_app_icon_offers_every_rendered_size(qapp):
    from dedupe_gui.gui.app import app_icon

    sizes = {(s.width(), s.height()) for s in app_icon().availableSizes()}
    assert {(s, s) for s in render_icons.SIZES} <= sizes
