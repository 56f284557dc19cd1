"""The main window's tool switcher: a tall row with an icon per registered panel, the icons
shipped in the package (wheel globs), and a click switches the panel."""
from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from dedupe_gui.gui.main_window import MainWindow
from dedupe_gui.gui.panels import PANELS
from dedupe_gui.gui.sidebar import ICON_SIZE, TOOL_ICONS, render_svg, tool_svg

ROOT = Path(__file__).resolve().parents[2]


def test_every_tool_has_an_icon_shipped_in_the_wheel():
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["dedupe_gui.resources"]
    for title, _ in PANELS:
        name = TOOL_ICONS[title]
        assert any(fnmatch(name, g) for g in globs), f"{name} is not in the wheel"
        svg = tool_svg(title)
        assert svg is not None
        image = render_svg(svg, QColor("#ff0000"), ICON_SIZE).toImage()
        drawn = [image.pixelColor(x, y) for x in range(image.width())
                 for y in range(image.height()) if image.pixelColor(x, y).alpha() > 128]
        assert len(drawn) > ICON_SIZE * 3, f"{name} draws almost nothing"
        assert all(c.red() > 200 and c.green() < 60 for c in drawn)  # in the asked colour


def test_sidebar_rows_are_tall_and_switch_panels(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitUntil(lambda: w.panels[0]._decisions is not None)  # its start-up has run
    bar = w.sidebar
    assert bar.count() == len(PANELS)
    assert [bar.item(i).text() for i in range(bar.count())] == [t for t, _ in PANELS]
    for i in range(bar.count()):
        assert bar.visualItemRect(bar.item(i)).height() >= 2 * bar.fontMetrics().height() + 30
        assert not bar.item(i).icon().isNull()
    rect = bar.visualItemRect(bar.item(1))
    qtbot.mouseClick(bar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert bar.currentRow() == 1 and w.stack.currentIndex() == 1
    bar.setCurrentRow(0)
    assert w.current_panel is w.panels[0]
    w.close()
