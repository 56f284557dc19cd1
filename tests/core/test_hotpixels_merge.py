"""Per-pixel statistics: chunk reduction + Chan merge equal numpy over all frames."""
from __future__ import annotations

import numpy as np
import pytest

from dedupe_gui.core.hotpixels import Accumulator, ChunkStats, mean_residual, reduce_frames
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


def test_counts_frames_above_and_below_the_neighbours():
    frames = [np.full((9, 9, 1), 100, np.uint8) for _ in range(10)]
    for f in frames[:7]:
        f[4, 4, 0] = 150  # 7 of 10 frames: 50 above the neighbours
    for f in frames[5:]:
        f[1, 6, 0] = 91  # 5 of 10 frames: 9 below
        f[7, 1, 0] = 92  # 8 below: not more than the deviation
    out = reduce_frames(frames, deviation=8)
    up, dn = out["up"].reshape(9, 9), out["dn"].reshape(9, 9)
    assert up[4, 4] == 7 and up.sum() == 7
    assert dn[1, 6] == 5 and dn.sum() == 5
    mres = mean_residual(out["mean"], (9, 9, 1)).reshape(9, 9)
    assert abs(float(mres[4, 4]) - 35.0) < 1e-5  # mean 135 against neighbours at 100
    assert np.count_nonzero(mres) == 3  # the three pixels that differ


def test_mean_residual_compares_same_colour_neighbours_only():
    """In an RGB image the neighbours of a red value are the 8 surrounding red values; a
    bright green plane next to it must not count. Bands and threads give the same answer."""
    rng = np.random.default_rng(5)
    mean = np.empty((2500, 40, 3), np.float32)  # 3 bands
    mean[..., 0], mean[..., 1], mean[..., 2] = 50, 200, 120
    mean += rng.normal(0, 0.5, mean.shape).astype(np.float32)
    mean[1092, 20, 0] += 30  # a hot red value, on a band edge
    one = mean_residual(mean, mean.shape, threads=1)
    two = mean_residual(mean, mean.shape, threads=2)
    np.testing.assert_array_equal(one, two)
    r = one.reshape(mean.shape)
    assert r[1092, 20, 0] > 28
    assert np.abs(np.delete(r.reshape(-1), 1092 * 120 + 60)).max() < 3


def test_detect_does_not_depend_on_bands_or_threads(monkeypatch):
    """Detection runs in row bands on threads with reused buffers and a pooled heat-map; the
    result must be the same for any band height and thread count (short last band too)."""
    from dedupe_gui.core import hotpixels as hp
    from dedupe_gui.core.pixelstats import PixelStats

    rng = np.random.default_rng(9)
    h, w, c = 1100, 157, 3  # heat cells of 3x3 px: they divide neither the rows nor a row
    mean = (100 + rng.normal(0, 2, (h, w, c))).astype(np.float32)
    m2 = (20 * (100 + rng.normal(0, 3, (h, w, c)) ** 2)).astype(np.float32)  # std ~10
    support = rng.integers(0, 3, (h, w, c)).astype(np.uint8)
    mean[50, 60, 2] += 60  # hot
    support[50, 60, 2] = 20
    m2[1000, 30, 1] = 0.0  # stuck
    mean[200, 100, 0] += 60  # as bright in the mean, but no frame supports it: scene detail
    spec = hp.GroupSpec("image", (h, w, c), "uint8", 8)

    def run(band_values, threads):
        monkeypatch.setattr(hp, "_BAND_VALUES", band_values)
        acc = hp.Accumulator()
        acc.stats = PixelStats(20, mean.reshape(h, -1).copy(), m2.reshape(h, -1).copy())
        acc.up = support.reshape(h, -1).copy()
        acc.dn = np.zeros_like(acc.up)
        return hp.detect(acc, spec, 255.0, hp.Thresholds(), lossy=False, threads=threads)

    found, heat = run(1 << 17, 1)
    kinds = {(r, col, k): kind for r, col, k, kind, *_ in found}
    assert kinds.get((50, 60, 2)) == "hot" and kinds.get((1000, 30, 1)) == "stuck"
    assert (200, 100, 0) not in kinds
    assert heat.max() == 1.0 and heat.shape == (367, 53)
    # the defects' cells alone reach the top of the heat-map's scale; the rest stays dim
    top = {(int(r), int(col)) for r, col in zip(*np.nonzero(heat == 1.0), strict=True)}
    assert top == {(r // 3, col // 3) for r, col, *_ in found}
    assert heat[heat < 1.0].max() <= hp.HEAT_BELOW
    for band_values, threads in ((3000, 1), (3000, 2), (1000, 2)):
        other_found, other_heat = run(band_values, threads)
        assert other_found == found
        np.testing.assert_array_equal(other_heat, heat)
