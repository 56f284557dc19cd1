"""The Duplicates panel's "Scan on a Dask cluster" setting, against a real Dask cluster
(distributed.LocalCluster: 2 worker processes on 127.0.0.1) running in its own process, as
a remote scheduler would: the panel finds the same pairs as a scan on this computer, the
cluster's workers do the decoding, and a bad address fails with a message without freezing
the GUI."""
from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

import distributed  # the test extra installs dask[distributed]
import pytest
from PySide6.QtCore import QElapsedTimer, QTimer

from dedupe_gui.gui.duplicates_panel import DuplicatesPanel
from dedupe_gui.gui.settings import Settings
from tests.gui.images import make_library

SCAN_TIMEOUT_MS = 90_000

CLUSTER_SCRIPT = textwrap.dedent("""
    import sys
    import distributed

    if __name__ == "__main__":
        with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                      host="127.0.0.1", dashboard_address=None) as lc:
            print(lc.scheduler_address, flush=True)
            sys.stdin.read()  # runs until the test closes our stdin
""")


@pytest.fixture(scope="module")
def scheduler() -> str:
    """The address of a LocalCluster in a child process (its workers are not ours)."""
    proc = subprocess.Popen([sys.executable, "-c", CLUSTER_SCRIPT], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        address = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert address.startswith("tcp://127.0.0.1:"), address
        yield address
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def panel(qtbot):
    p = DuplicatesPanel()
    qtbot.addWidget(p)
    p.resize(1200, 800)
    p.show()
    yield p
    p.shutdown()
    # A failed Dask connect leaves its frames (and, through them, the finished ScanThread's
    # Python wrapper) in reference cycles; collect them before the QThread leak check looks.
    gc.collect()


def scan_pairs(panel: DuplicatesPanel, qtbot, root: Path) -> dict[frozenset, float]:
    """Scan ``root`` through the panel (Scan button path) and return every pair with its score."""
    panel._result = None
    assert panel.start_scan([root])
    qtbot.waitUntil(lambda: panel._result is not None and not panel.scanning,
                    timeout=SCAN_TIMEOUT_MS)
    result = panel._result
    assert not result.skipped and not result.cancelled
    paths = [f.path for f in result.files]
    t = result.pairs
    return {frozenset((paths[a], paths[b])): s for a, b, s in
            zip(t.a.tolist(), t.b.tolist(), t.score.tolist(), strict=True)}


def test_cluster_setting_scans_on_the_cluster_with_the_same_pairs(
        panel, qtbot, scheduler, tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    files, true_pairs = make_library(lib, 8, 4, size=(640, 480), seed=7)
    messages: list[str] = []
    panel.statusMessage.connect(messages.append)

    panel.set_cluster_address(f"  {scheduler} ")
    assert panel.prefs.cluster_address == scheduler
    assert Settings().load_duplicates().cluster_address == scheduler  # remembered
    assert scheduler in panel.act_cluster.text()

    observer = distributed.Client(scheduler, set_as_default=False, timeout=30)
    try:
        with distributed.get_task_stream(client=observer) as stream:
            remote = scan_pairs(panel, qtbot, lib)  # a fresh cache: every file decoded
        tasks = [t for t in stream.data if "fingerprint_files" in t["key"]]
    finally:
        observer.close()
    assert tasks, "the cluster's workers fingerprinted the pictures"
    assert any(f"on the cluster at {scheduler}" in m for m in messages)  # shown while active
    assert any(m.startswith("Done:") and scheduler in m for m in messages)

    # The same folders on this computer, with a cache of its own (else it would only reuse
    # the fingerprints the cluster computed).
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "local-cache"))
    panel.set_cluster_address("")
    assert "Scans run on this computer" in messages[-1]
    messages.clear()
    local = scan_pairs(panel, qtbot, lib)
    assert not any("cluster" in m for m in messages)

    assert {frozenset(map(str, p)) for p in true_pairs} <= local.keys()
    assert remote.keys() == local.keys()
    for key, score in local.items():
        assert remote[key] == pytest.approx(score, abs=1e-3), key


def test_bad_cluster_address_fails_with_a_message_without_freezing(panel, qtbot, tmp_path):
    lib = tmp_path / "lib"
    make_library(lib, 2, 1, size=(320, 240))
    panel.set_cluster_address("tcp://127.0.0.1:9")  # nothing listens on the discard port
    messages: list[str] = []
    panel.statusMessage.connect(messages.append)
    gaps: list[int] = []
    clock = QElapsedTimer()
    clock.start()
    ticker = QTimer()
    ticker.setInterval(10)
    ticker.timeout.connect(lambda: gaps.append(clock.restart()))
    ticker.start()
    assert panel.start_scan([lib])
    assert panel.scanning and messages[-1].startswith("Connecting to the Dask cluster")
    qtbot.waitUntil(lambda: not panel.scanning and panel.scan_button.isEnabled(),
                    timeout=SCAN_TIMEOUT_MS)
    ticker.stop()
    want = "Cluster: cannot reach the Dask scheduler at tcp://127.0.0.1:9"
    assert messages[-1].startswith(want), messages[-1]
    assert panel._result is None and not panel.cancel_button.isEnabled()
    # The GUI thread kept running its timers while the scan thread tried to connect.
    assert len(gaps) > 10 and max(gaps) <= 200, max(gaps)
