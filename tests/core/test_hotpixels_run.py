"""The hot-pixel run as a whole: progress published by the workers, cancel, clean-up."""
from __future__ import annotations

import glob
import os
import tempfile
import threading
from dataclasses import replace

import cv2
import numpy as np
import pytest

from dedupe_gui.core.hotpixels import HotPixelsFinished, RunOptions, find_hot_pixels
from dedupe_gui.core.progress import Progress


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """40 noisy 3 MP JPEGs: long enough to run for a few seconds in one worker."""
    folder = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(4)
    base = cv2.resize(rng.integers(0, 256, (150, 200, 3), dtype=np.uint8), (2000, 1500))
    for i in range(40):
        noisy = cv2.add(base, rng.integers(0, 40, base.shape, dtype=np.uint8))
        cv2.imwrite(str(folder / f"f{i:02d}.jpg"), noisy, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return folder


def _run_dirs() -> set[str]:
    roots = ["/dev/shm", tempfile.gettempdir()]
    return {p for r in roots for p in glob.glob(os.path.join(r, "dedupe-hotpixels-*"))}


def test_progress_moves_within_a_chunk_and_reaches_the_end(frames):
    before = _run_dirs()
    # one worker and the default frame budget: the run is a single chunk of 40 frames held
    # in one group, so every step before the end comes from the worker's per-frame count
    options = RunOptions(workers=1)
    steps = [ev.done for ev in find_hot_pixels([frames], options)
             if isinstance(ev, Progress) and ev.phase == "Analysing frames"]
    assert steps[-1] == 40
    assert len({d for d in steps if 0 < d < 40}) >= 3  # moved several times inside the chunk
    assert steps == sorted(steps)
    assert _run_dirs() == before  # the run's folder is gone


def test_cancel_stops_the_workers_and_keeps_a_result(frames):
    before = _run_dirs()
    cancel = threading.Event()
    result = None
    for ev in find_hot_pixels([frames], RunOptions(workers=1, frame_budget=1), cancel=cancel):
        if isinstance(ev, Progress) and ev.phase == "Analysing frames" and ev.done > 0:
            cancel.set()
        if isinstance(ev, HotPixelsFinished):
            result = ev.result
    assert result is not None and result.cancelled
    assert result.frames < 40 and result.defects == []
    assert _run_dirs() == before


def test_chunk_results_go_through_the_run_folder_only_when_the_worker_sees_it(frames, tmp_path):
    """Spilled results are files in the run's folder; a worker that cannot see that folder
    (another machine) returns its arrays pickled instead of failing."""
    from dedupe_gui.core.hotpixels import GroupSpec, analyse_chunk

    paths = sorted(str(p) for p in frames.glob("*.jpg"))[:3]
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    spec = GroupSpec("image", (1500, 2000, 3), "uint8", 8, group_frames=3,
                     run_dir=str(run_dir), spill=True)
    here = analyse_chunk(spec, paths)
    assert here.n == 3 and set(here.arrays) == {"mean", "m2", "up", "dn"}
    assert all(isinstance(v, str) and v.startswith(str(run_dir)) for v in here.arrays.values())
    assert len(here.thumbs) == 3
    elsewhere = analyse_chunk(replace(spec, run_dir=str(tmp_path / "no")), paths)
    assert elsewhere.n == 3
    assert all(isinstance(v, np.ndarray) for v in elsewhere.arrays.values())
    np.testing.assert_array_equal(elsewhere.array("mean"), here.array("mean"))
    here.discard()
