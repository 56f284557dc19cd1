"""Per-pixel statistics: chunk reduction + Chan merge equal numpy over all frames."""
from __future__ import annotations

import numpy as np
import pytest

from dedupe_gui.core.hotpixels import Accumulator, ChunkStats, reduce_frames
from dedupe_gui.core.pixelstats import PixelStats, chan_merge, from_sums


def _frames(n: int, dtype, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    top = 255 if dtype == np.uint8 else 65535
    base = rng.integers(0, top, (23, 17, 3))
    frames = []
    for _ in range(n):
        f = np.clip(base + rng.normal(0, top / 20, base.shape), 0, top).astype(dtype)
        f[3, 4, 1] = top // 3  # a stuck pixel: variance exactly 0
        frames.append(f)
    return frames


def _chunk_stats(frames, bounds) -> list[PixelStats]:
    parts = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        stack = np.stack(frames[lo:hi]).astype(np.float64)
        mean, m2 = from_sums(hi - lo, stack.sum(0), (stack * stack).sum(0), np.float64)
        parts.append(PixelStats(hi - lo, mean, m2))
    return parts


CHUNKINGS = [[0, 40], [0, 20, 40], [0, 1, 40], [0, 7, 8, 29, 40], [0, 13, 26, 39, 40]]


@pytest.mark.parametrize("bounds", CHUNKINGS)
def test_chan_merge_float64_equals_numpy(bounds):
    frames = _frames(40, np.uint16)
    stack = np.stack(frames).astype(np.float64)
    parts = _chunk_stats(frames, bounds)
    acc = PixelStats(0, np.zeros_like(parts[0].mean), np.zeros_like(parts[0].m2))
    for p in parts:
        chan_merge(acc, p)
    assert acc.n == 40
    np.testing.assert_allclose(acc.mean, stack.mean(0), rtol=1e-6)
    var = stack.var(0)
    np.testing.assert_allclose(acc.variance(), var, rtol=1e-6, atol=1e-9 * var.max())
    assert acc.variance()[3, 4, 1] == 0


def test_adding_m2_alone_is_wrong():
    frames = _frames(40, np.uint8)
    parts = _chunk_stats(frames, [0, 20, 40])
    naive = (parts[0].m2 + parts[1].m2) / 40
    right = np.stack(frames).astype(np.float64).var(0)
    assert np.abs(naive - right).max() > 1.0  # the spread between the halves' means is lost


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("bounds", CHUNKINGS)
def test_worker_reduction_and_float32_merge_match_numpy(dtype, bounds):
    """The production path: exact sums per chunk -> float32 (n, mean, M2) -> Chan in float32.

    Stated bound for float32: relative error <= 2e-6 on the mean and <= 1e-4 on the variance
    (relative to the variance scale of the data), measured ~1e-7 and ~1e-6.
    """
    frames = _frames(40, dtype, seed=3)
    stack = np.stack(frames).astype(np.float64)
    acc = Accumulator()
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        arrays = reduce_frames(frames[lo:hi], deviation=8)
        acc.add(ChunkStats(hi - lo, dict(arrays)))
    assert acc.n == 40
    mean = acc.stats.mean.reshape(stack.shape[1:])
    var = acc.stats.variance().reshape(stack.shape[1:])
    np.testing.assert_allclose(mean, stack.mean(0), rtol=2e-6)
    ref = stack.var(0)
    assert np.abs(var - ref).max() <= 1e-4 * ref.mean()
    assert var[3, 4, 1] == 0
    assert acc.stats.mean.dtype == np.float32 and acc.stats.m2.dtype == np.float32


def test_support_counts_frames_that_deviate():
    frames = [np.full((9, 9, 1), 100, np.uint8) for _ in range(10)]
    for f in frames[:7]:
        f[4, 4, 0] = 150  # 7 of 10 frames: 50 above the neighbours
    out = reduce_frames(frames, deviation=8)
    sup = out["support"].reshape(9, 9)
    assert sup[4, 4] == 7 and sup.sum() == 7
    assert abs(float(out["mres"].reshape(9, 9)[4, 4]) - 35.0) < 1e-5
