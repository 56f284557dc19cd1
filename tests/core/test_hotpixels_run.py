"""The hot-pixel run as a whole: progress published by the workers, cancel, clean-up."""
from __future__ import annotations

import glob
import os
import tempfile
import threading

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
