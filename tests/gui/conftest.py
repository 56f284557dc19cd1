"""GUI test set-up: one QApplication with the app's names, private settings/data/cache/trash
directories per test, and a check that no test leaves a QThread running."""
from __future__ import annotations

import weakref

import pytest
from PySide6.QtCore import QSettings, QThread


@pytest.fixture(autouse=True)
def private_dirs(tmp_path, monkeypatch, qapp):
    """Settings, user data (sessions, journal, trash) and cache under the test's tmp dir."""
    from dedupe_gui.gui.app import make_application

    make_application([])  # organisation/application names before the first QSettings
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"),
                     ("XDG_CONFIG_HOME", "config")):
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(var, str(tmp_path / sub))
    # send2trash picks the home trash only for files on HOME's filesystem: keep HOME with them
    monkeypatch.setenv("HOME", str(tmp_path))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      str(tmp_path / "settings"))
    yield tmp_path


@pytest.fixture(autouse=True)
def no_thread_left(monkeypatch):
    """Fail a test that leaves a QThread running (it would outlive its objects and crash
    a later test, or hang the process at exit)."""
    started: list[weakref.ref] = []
    original = QThread.start

    def start(self, *args, **kwargs):
        started.append(weakref.ref(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", start)
    yield
    running = [t for t in (r() for r in started) if t is not None and t.isRunning()]
    for t in running:  # clean up so the next test is not hit, then fail this one
        if hasattr(t, "cancel"):
            t.cancel()
        if hasattr(t, "stop"):
            t.stop()
        t.wait(5000)
    assert not running, f"test left QThreads running: {running}"
