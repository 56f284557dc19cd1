"""Counting the different scenes among frames (the hot-pixel tool's warning), real photos."""
from __future__ import annotations

import cv2
import numpy as np

from dedupe_gui.core.hotpixels import RunOptions, analyse
from dedupe_gui.core.scenes import THUMB, count_scenes, frame_thumb
from tests.core.test_hotpixels_frames import real_crops


def test_distinct_photos_are_distinct_scenes_and_copies_are_one():
    crops = real_crops(12, 240, 320, seed=3)
    thumbs = [frame_thumb(c, 255.0) for c in crops]
    assert thumbs[0].shape == THUMB
    assert count_scenes(thumbs) == (12, 12)
    rng = np.random.default_rng(0)
    noisy_copies = [cv2.add(c, rng.integers(0, 6, c.shape, dtype=np.uint8)) for c in crops[:3]]
    copies = [frame_thumb(c, 255.0) for c in crops[:3] * 3 + noisy_copies]
    assert count_scenes(copies) == (3, 12)
    # scenes that come back weigh more: 6 scenes 4 times each and 6 once are 12 distinct
    # scenes, as varied as 900 / (6 * 16 + 6) = 8.8 equally frequent ones
    mixed = [thumbs[k] for k in range(6) for _ in range(4)] + thumbs[6:12]
    assert count_scenes(mixed) == (9, 30)


def test_flat_frames_are_not_scenes():
    rng = np.random.default_rng(1)
    dark = [rng.integers(0, 4, (240, 320, 3), dtype=np.uint8) for _ in range(6)]
    dark16 = [rng.integers(0, 300, (240, 320, 1), dtype=np.uint16) for _ in range(2)]
    thumbs = [frame_thumb(d, 255.0) for d in dark] + [frame_thumb(d, 65535.0) for d in dark16]
    assert count_scenes(thumbs) == (0, 0)
    assert count_scenes([]) == (0, 0)


def test_a_run_over_few_repeated_scenes_says_so(tmp_path):
    for i, crop in enumerate(real_crops(4, 240, 320, seed=5)):
        for k in range(3):  # a tripod series: each scene three times
            cv2.imwrite(str(tmp_path / f"s{i}_{k}.png"), crop)
    result = analyse([tmp_path], RunOptions(workers=1))
    assert result.frames == 12
    assert "as varied as 4 different scenes" in result.note and "dark frames" in result.note
