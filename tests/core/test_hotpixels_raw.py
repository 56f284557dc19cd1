"""The RAW path of the hot-pixel tool on real raw files: DNGs written by ``tests/core/dng.py``,
read by LibRaw (rawpy), analysed on the Bayer mosaic by a real process pool.

The mosaics are sampled from crops of real photographs (``real_crops``): each sensor pixel
takes the colour its Bayer phase says from the RGB crop, scaled to 12 bits with headroom,
plus a little noise. Defects are written at known sensor positions before the file is saved, so the test
knows exactly which pixel (x, y), channel and kind must come back, and in which coordinates
the dcraw and RawTherapee lists must hold them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

rawpy = pytest.importorskip("rawpy", reason="the 'raw' extra (rawpy) is not installed")

from dedupe_gui.core import hotpixels_export  # noqa: E402
from dedupe_gui.core.hotpixels import RunOptions, analyse  # noqa: E402
from tests.core.dng import PATTERNS, write_dng  # noqa: E402
from tests.core.test_hotpixels_frames import real_crops  # noqa: E402

WHITE = 4095  # 12-bit data in 16-bit samples
LEVEL = WHITE / 255  # one 8-bit level in data units
EXPOSURE = 0.7  # the scene's brightest value, a fraction of white: headroom as in a real raw
NAMES = "RGB"  # CFAPattern colour codes 0, 1, 2
BGR = (2, 1, 0)  # CFA colour code -> OpenCV plane


def _colour_codes(pattern: str, shape: tuple[int, int], top: int = 0, left: int = 0
                  ) -> np.ndarray:
    """The CFA colour code (0 R, 1 G, 2 B) of each pixel of a ``shape`` sensor whose pattern
    starts at (top, left) (the DNG ActiveArea origin)."""
    codes = np.array(PATTERNS[pattern], np.uint8).reshape(2, 2)
    rows = (np.arange(shape[0]) - top) % 2
    cols = (np.arange(shape[1]) - left) % 2
    return codes[rows[:, None], cols[None, :]]


def _mosaic(crop: np.ndarray, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 12-bit Bayer mosaic from a BGR crop: each pixel keeps the colour its phase says."""
    planes = crop.astype(np.float32) * (LEVEL * EXPOSURE)
    h, w = codes.shape
    yy, xx = np.indices((h, w))
    values = planes[yy, xx, np.take(BGR, codes)]
    values += rng.normal(0, 0.7 * LEVEL, values.shape)  # sensor noise, ~0.7 8-bit levels
    return np.clip(np.rint(values), 0, WHITE).astype(np.uint16)


def _place(shape: tuple[int, int], per_kind: int, rng: np.random.Generator,
           spacing: int = 6) -> list[tuple[int, int, str]]:
    """(x, y, kind) in the visible grid, at least ``spacing`` sensor pixels apart (3 pixels
    of the same colour: neighbourhoods of defects do not overlap)."""
    h, w = shape
    out: list[tuple[int, int, str]] = []
    for kind in ("hot", "stuck", "dead"):
        for _ in range(per_kind):
            while True:
                x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
                if all(max(abs(x - a), abs(y - b)) > spacing for a, b, _ in out):
                    break
            out.append((x, y, kind))
    return out


def make_raw_set(folder: Path, pattern: str, n: int = 24, height: int = 192, width: int = 256,
                 margins: tuple[int, int] = (0, 0), per_kind: int = 6, seed: int = 5
                 ) -> list[tuple[int, int, str, str]]:
    """Write ``n`` DNGs of a ``height`` x ``width`` sensor (visible area inset by ``margins``
    = (top, left) on each side) and return the truth: (x, y, channel, kind) in the visible
    grid, the grid the tool reports in."""
    folder.mkdir(parents=True, exist_ok=True)
    top, left = margins
    active = (top, left, height - top, width - left)
    vis = (height - 2 * top, width - 2 * left)
    rng = np.random.default_rng(seed)
    codes = _colour_codes(pattern, (height, width), top, left)
    mosaics = [_mosaic(c, codes, rng) for c in real_crops(n, height, width, seed)]
    truth = []
    for x, y, kind in _place(vis, per_kind, rng):
        sy, sx = y + top, x + left  # sensor position
        if kind == "hot":
            # 40-70 levels over a scene at most 0.7 white: never clipped at white (a hot
            # pixel saturated in most frames is reported as stuck, see the report)
            amp = rng.uniform(40, 70) * LEVEL
            for m in mosaics:
                if rng.random() < 0.9:
                    m[sy, sx] = min(WHITE, int(m[sy, sx] + amp))
        elif kind == "stuck":
            value = round(rng.uniform(60, 220) * LEVEL)
            for m in mosaics:
                m[sy, sx] = value
        else:
            for m in mosaics:
                m[sy, sx] = 0
        truth.append((x, y, NAMES[codes[sy, sx]], kind))
    for i, m in enumerate(mosaics):
        write_dng(folder / f"IMG_{i:04d}.dng", m, pattern=pattern, white=WHITE,
                  active=active if margins != (0, 0) else None)
    return truth


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_libraw_reads_the_written_dng(tmp_path, pattern):
    rng = np.random.default_rng(0)
    mosaic = rng.integers(0, WHITE + 1, (48, 64)).astype(np.uint16)
    path = write_dng(tmp_path / "a.dng", mosaic, pattern=pattern, white=WHITE)
    with rawpy.imread(str(path)) as raw:
        assert np.array_equal(raw.raw_image_visible, mosaic)
        s = raw.sizes
        assert (s.width, s.height, s.raw_width, s.raw_height) == (64, 48, 64, 48)
        assert (s.top_margin, s.left_margin) == (0, 0)
        desc = raw.color_desc.decode()
        colours = [[desc[c] for c in row] for row in np.asarray(raw.raw_pattern).tolist()]
        want = [NAMES[c] for c in PATTERNS[pattern]]
        assert colours == [want[:2], want[2:]]
        assert raw.white_level == WHITE


def test_libraw_reads_the_active_area_as_margins(tmp_path):
    mosaic = np.random.default_rng(1).integers(0, WHITE + 1, (48, 64)).astype(np.uint16)
    path = write_dng(tmp_path / "a.dng", mosaic, pattern="GBRG", active=(2, 4, 46, 60))
    with rawpy.imread(str(path)) as raw:
        s = raw.sizes
        assert (s.top_margin, s.left_margin, s.width, s.height) == (2, 4, 56, 44)
        assert np.array_equal(raw.raw_image_visible, mosaic[2:46, 4:60])
        # the CFA pattern starts at the active area's corner (even margins: unchanged)
        desc = raw.color_desc.decode()
        assert [desc[c] for c in np.asarray(raw.raw_pattern).reshape(-1)] == list("GBRG")


@pytest.mark.parametrize(("pattern", "margins"), [("RGGB", (0, 0)), ("GBRG", (2, 4))])
def test_raw_defects_found_at_their_sensor_pixels(tmp_path, pattern, margins):
    truth = make_raw_set(tmp_path / "raw", pattern, margins=margins)
    result = analyse([tmp_path / "raw"], RunOptions(workers=2))
    top, left = margins
    assert result.source == "raw"
    assert result.note == ""  # 24 different scenes in 12-bit data: no scene warning
    assert (result.width, result.height) == (256 - 2 * left, 192 - 2 * top)
    assert result.raw_margins == (left, top)
    assert result.frames == 24 and not result.skipped
    found = {(d.x, d.y, d.channel, d.kind) for d in result.defects}
    assert len(found) == len(result.defects)  # a sensor pixel is one channel: listed once
    missing = [t for t in truth if t not in found]
    assert not missing, f"not found as injected (x, y, channel, kind): {missing}"
    hits = len(found & set(truth))
    precision, recall = hits / max(1, len(found)), hits / len(truth)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall, sorted(found - set(truth)))

    pixels = {(x, y) for x, y, _, _ in truth}
    dcraw = hotpixels_export.to_dcraw(result).splitlines()
    listed = {tuple(map(int, line.split()[:2])) for line in dcraw if not line.startswith("#")}
    assert {(x + left, y + top) for x, y in pixels} <= listed  # full raw grid
    assert all(line.endswith(" 0") for line in dcraw if not line.startswith("#"))
    assert not any("processed images" in line for line in dcraw)
    rt = hotpixels_export.to_rawtherapee(result).splitlines()
    assert rt[0] == "4"  # RawTherapee's border offset for Bayer sensors
    listed_rt = {tuple(map(int, line.split())) for line in rt[1:] if not line.startswith("#")}
    assert pixels <= listed_rt  # visible grid, as RawTherapee counts
