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


@pytest.fixture
def private_home(tmp_path, monkeypatch):
    """A private HOME and XDG data dir on tmp_path's filesystem: send2trash uses this home's
    trash (it picks the trash by the file's device, compared with HOME's)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    return home
