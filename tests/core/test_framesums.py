"""The compiled per-frame pass (``_framesums``) against the OpenCV passes and against numpy.

The kernel is optional (built at install when a C compiler is there). Without it, the
OpenCV path is what runs and what these tests check against numpy; CI requires the kernel
(DEDUPE_REQUIRE_FRAMESUMS=1, .ci/run installs gcc), so both paths are tested there.
"""
from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from dedupe_gui.core import hotpixels
from dedupe_gui.core.hotpixels import Sums

# odd sizes; rows of 1026 and 2049 values end in a column block shorter than one pixel
SHAPES = [(37, 23, 3), (5, 4, 1), (1, 7, 3), (2, 1, 3), (3, 1025, 3), (4, 342, 3), (2, 683, 3),
          (64, 64, 4)]


def _frames(n, shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    base = rng.integers(0, top, shape)
    return [np.clip(base + rng.normal(0, top / 8, shape), 0, top).astype(dtype)
            for _ in range(n)]


def _numpy_sums(frames, deviation):
    """What the sums mean, written plainly: x, x*x, and x - med > deviation / med - x >
    deviation (med: the 3x3 same-channel median, border replicated)."""
    stack = np.stack(frames).astype(np.int64)
    n, h, w, c = stack.shape
    padded = np.pad(stack, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    windows = [padded[:, dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)]
    med = np.median(np.stack(windows), axis=0)
    row = w * c
    return (stack.sum(0).reshape(h, row), (stack * stack).sum(0).reshape(h, row),
            (stack - med > deviation).sum(0).reshape(h, row),
            (med - stack > deviation).sum(0).reshape(h, row))


def _sums(frames, deviation, kernel):
    h, w, c = frames[0].shape
    s = Sums(h, w * c, Sums.exact32_for(frames[0].dtype, len(frames)))
    saved = hotpixels._framesums
    hotpixels._framesums = kernel
    try:
        s.add(frames, deviation)
    finally:
        hotpixels._framesums = saved
    return s


def test_kernel_is_built_where_required_and_current_wherever_built():
    """A built module speaks this source's ABI (a stale editable build would be ignored, and
    the OpenCV passes run silently); CI requires the module at all."""
    try:
        from dedupe_gui.core import _framesums
    except ImportError:
        assert os.environ.get("DEDUPE_REQUIRE_FRAMESUMS") != "1", \
            "the C kernel did not build (see setup.py)"
        return
    assert _framesums.ABI == hotpixels.FRAMESUMS_ABI, "a stale build: reinstall (make)"
    if os.environ.get("DEDUPE_FRAMESUMS") != "0":
        assert hotpixels._framesums is _framesums


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("shape", SHAPES)
def test_opencv_passes_equal_numpy(shape, dtype):
    frames = _frames(6, shape, dtype)
    dev = 20 if dtype == np.uint8 else 5000
    want = _numpy_sums(frames, dev)
    got = _sums(frames, dev, None)
    assert got.n == 6
    for a, b in zip(got.arrays(), want, strict=True):
        assert np.array_equal(a, b)
    if shape[0] * shape[1] > 20:  # big enough for values on both sides of the median
        assert got.up.any() and got.dn.any()


kernel = pytest.mark.skipif(hotpixels._framesums is None,
                            reason="C kernel not built here (no compiler); CI requires it")


@kernel
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("frames", [1, 6])
def test_kernel_equals_opencv_passes(shape, dtype, frames):
    stack = _frames(frames, shape, dtype, seed=frames)
    dev = 20 if dtype == np.uint8 else 5000
    ref = _sums(stack, dev, None)
    got = _sums(stack, dev, hotpixels._framesums)
    for a, b in zip(ref.arrays(), got.arrays(), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@kernel
def test_kernel_extremes_and_many_frames():
    """Saturated values (x*x at the top of its type) and more frames than one call takes."""
    shape = (9, 11, 3)
    for dtype, n in ((np.uint8, 257), (np.uint16, 256)):  # float32 s1 exact up to there
        top = np.iinfo(dtype).max
        frames = [np.full(shape, top, dtype) for _ in range(n)]
        for f in frames[::2]:
            f[4, 5] = 0  # a pixel below its neighbours in every other frame
        got = _sums(frames, 1, hotpixels._framesums)
        assert got.n == n
        assert got.s1[0, 0] == n * top and got.s2[0, 0] == n * float(top) ** 2
        assert got.dn[4, 15] == (n + 1) // 2 and not got.up.any() and got.dn[0, 0] == 0
        ref = _sums(frames, 1, None)
        assert np.array_equal(ref.s1, got.s1) and np.array_equal(ref.s2, got.s2)


@kernel
def test_kernel_rejects_wrong_buffers():
    f = np.zeros((4, 5, 3), np.uint8)
    s1, s2, up, dn = (np.zeros((4, 15), np.float32), np.zeros((4, 15), np.float32),
                      np.zeros((4, 15), np.uint8), np.zeros((4, 15), np.uint8))
    add = hotpixels._framesums.add
    with pytest.raises(ValueError):
        add([f], s1, s2, up, dn, 4, 6, 3, 8)  # frame smaller than the shape says
    with pytest.raises(ValueError):
        add([f], s1, np.zeros((4, 15), np.float64), up, dn, 4, 5, 3, 8)  # s2 of the wrong type
    with pytest.raises(TypeError):
        add([f.astype(np.float32)], s1, s2, up, dn, 4, 5, 3, 8)
    for size_of_uint16 in (np.int16, np.float16):  # the item size alone would let them in
        with pytest.raises(TypeError):
            add([f.astype(size_of_uint16)], s1, np.zeros((4, 15)), up, dn, 4, 5, 3, 8)
    with pytest.raises(ValueError):  # a uint16 frame after a uint8 one
        add([f, f.astype(np.uint16)], s1, s2, up, dn, 4, 5, 3, 8)
    with pytest.raises(ValueError):  # counts of the wrong type
        add([f], s1, s2, up.astype(np.int8), dn, 4, 5, 3, 8)
    with pytest.raises(ValueError):
        add([], s1, s2, up, dn, 4, 5, 3, 8)
    with pytest.raises(ValueError):  # numpy refuses a C-contiguous view of a strided array
        add([np.zeros((4, 10, 3), np.uint8)[:, ::2]], s1, s2, up, dn, 4, 5, 3, 8)
    assert not s1.any() and not up.any() and not dn.any()  # nothing written on an error
    add([f + 1], s1, s2, up, dn, 4, 5, 3, 8)
    assert (s1 == 1).all() and (s2 == 1).all()


def test_median_matches_opencv_border():
    """The numpy oracle above uses the same border as cv2.medianBlur (so the oracle is right)."""
    f = _frames(1, (7, 9, 3), np.uint8)[0]
    padded = np.pad(f, ((1, 1), (1, 1), (0, 0)), mode="edge")
    med = np.median(np.stack([padded[dy:dy + 7, dx:dx + 9] for dy in range(3)
                              for dx in range(3)]), axis=0)
    assert np.array_equal(med.astype(np.uint8), cv2.medianBlur(f, 3))
