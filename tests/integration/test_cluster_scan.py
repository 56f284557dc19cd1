"""A scan on a real Dask cluster (LocalCluster: 2 worker processes on 127.0.0.1) finds exactly
what the local process pool finds, on generated photos with resized/recompressed copies."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import distributed  # the test extra installs dask[distributed]
import pytest

from dedupe_gui.core.cluster import Cluster, ClusterError, connect
from dedupe_gui.core.scan import ScanOptions, scan_result
from tests.gui.images import make_photo, write_jpeg


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """14 originals, each with 1-3 copies (half size q60, PNG, q40): 40 pictures."""
    root = tmp_path_factory.mktemp("cluster_corpus")
    for i in range(14):
        img = make_photo(7000 + i, 640, 480)
        write_jpeg(root / "originals" / f"IMG_{i:03d}.jpg", img, 92)
        small = cv2.resize(img, (320, 240), interpolation=cv2.INTER_AREA)
        write_jpeg(root / "web" / f"small_{i:03d}.jpg", small, 60)
        if i % 2 == 0:
            assert cv2.imwrite(str(root / "web" / f"export_{i:03d}.png"), img)
        if i % 3 == 0:
            write_jpeg(root / "phone" / f"low_{i:03d}.jpg", img, 40)
    return root


@pytest.fixture(scope="module")
def cluster():
    lc = distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=None)
    try:
        with connect(lc.scheduler_address, timeout=60, min_workers=2) as c:
            yield c
    finally:
        lc.close()


def pairs_by_path(result) -> dict[tuple[str, str], tuple[float, int]]:
    """Every pair the scan kept (down to the loose bound), keyed by its two paths."""
    paths = [f.path for f in result.files]
    t = result.pairs
    out = {}
    for a, b, s, d in zip(t.a.tolist(), t.b.tolist(), t.score.tolist(), t.distance.tolist(),
                          strict=True):
        key = tuple(sorted((paths[a], paths[b])))
        assert key not in out, f"pair reported twice: {key}"
        out[key] = (s, d)
    return out


def test_cluster_scan_matches_local_pool(corpus: Path, cluster: Cluster):
    assert cluster.threads == 2
    options = ScanOptions(use_cache=False, workers=2, chunk_size=4)
    local = scan_result([str(corpus)], options)
    with distributed.get_task_stream(client=cluster.client) as stream:
        remote = scan_result([str(corpus)], ScanOptions(use_cache=False, chunk_size=4,
                                                        max_in_flight=2 * cluster.threads),
                             executor=cluster.executor)
    assert len(local.files) == len(remote.files) == 40
    assert not local.skipped and not remote.skipped
    want, got = pairs_by_path(local), pairs_by_path(remote)
    # every copy is paired with its original in both
    originals = sorted((corpus / "originals").iterdir())
    assert sum(1 for a, b in want if "originals" in a or "originals" in b) >= len(originals)
    assert got.keys() == want.keys()
    for key, (score, dist) in want.items():
        # Same distance; same score up to float32 rounding: the file order (completion
        # order) decides which file of a pair is rotated onto the other in verification.
        assert got[key][1] == dist, key
        assert got[key][0] == pytest.approx(score, abs=1e-3), key
    # The cluster's workers did the decoding, both of them, 10 chunks of 4 files.
    tasks = [t for t in stream.data if "fingerprint_files" in t["key"]]
    assert len(tasks) == 10
    assert len({t["worker"] for t in tasks}) == 2


def test_cli_cluster_flag(corpus: Path, cluster: Cluster, tmp_path: Path):
    from dedupe_gui.cli import main

    out_local, out_remote = tmp_path / "local.json", tmp_path / "remote.json"
    assert main(["scan", str(corpus), "--no-cache", "--workers", "2", "--threshold", "50",
                 "--json", str(out_local)]) == 0
    address = cluster.client.scheduler.address
    assert main(["scan", str(corpus), "--no-cache", "--cluster", address, "--threshold", "50",
                 "--json", str(out_remote)]) == 0
    local, remote = json.loads(out_local.read_text()), json.loads(out_remote.read_text())
    assert remote["files"] == local["files"] == 40
    pairs = {tuple(sorted((p["a"], p["b"]))): p["distance"] for p in local["pairs"]}
    assert pairs and pairs == {tuple(sorted((p["a"], p["b"]))): p["distance"]
                               for p in remote["pairs"]}
    assert sorted(map(sorted, local["groups"])) == sorted(map(sorted, remote["groups"]))


def test_paths_workers_cannot_see_are_refused(cluster: Cluster, tmp_path: Path):
    with pytest.raises(ClusterError, match="shared storage"):
        cluster.check_paths([str(tmp_path / "not mounted here")])


def test_unreachable_scheduler_is_a_clear_error(capsys):
    from dedupe_gui.cli import main

    assert main(["scan", ".", "--no-cache", "--cluster", "tcp://127.0.0.1:9"]) == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


def test_missing_extra_explains_how_to_install():
    code = ("import sys; sys.modules['distributed'] = None\n"
            "from dedupe_gui.core.cluster import ClusterError, connect\n"
            "try:\n    connect('tcp://127.0.0.1:8786')\n"
            "except ClusterError as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'dedupe-gui[cluster]'" in out.stdout
