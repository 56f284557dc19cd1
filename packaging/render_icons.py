"""Render the application icon SVG to the PNG sizes the app, the wheel and desktops use.

The PNGs are committed (dedupe_gui/resources/icons/), so building or installing never needs
this script; run it after editing the SVG:

    .venv/bin/python packaging/render_icons.py

Sizes at or below ``SMALL_MAX`` use the simplified small SVG when it exists: at 16-24 px the
full drawing's thin details turn to mush, a hand-simplified variant stays crisp.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dedupe_gui import APP_ID  # noqa: E402

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
SMALL_MAX = 16
SVG = ROOT / "resources" / f"{APP_ID}.svg"
SVG_SMALL = ROOT / "resources" / f"{APP_ID}-small.svg"
OUT = ROOT / "dedupe_gui" / "resources" / "icons"


def png_name(size: int) -> str:
    """File name of one rendering; the size in the name lets installers map it to hicolor."""
    return f"dedupe-gui-{size}.png"


def render(svg: Path, size: int, out: Path) -> None:
    """Draw ``svg`` at ``size`` x ``size`` on a transparent canvas and save it as PNG."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"cannot read SVG: {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"cannot write {out}")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    OUT.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        svg = SVG_SMALL if size <= SMALL_MAX and SVG_SMALL.exists() else SVG
        out = OUT / png_name(size)
        render(svg, size, out)
        print(f"{out.relative_to(ROOT)}  ({svg.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
