"""Shared fixtures. Qt runs offscreen in every test."""
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def show_panel(qtbot):
    """Show a tool panel offscreen at a size; its threads are shut down at teardown."""
    shown = []

    def show(panel, width: int, height: int):
        qtbot.addWidget(panel)
        panel.resize(width, height)
        panel.show()
        shown.append(panel)
        return panel

    yield show
    for panel in shown:
        panel.shutdown()
