"""Test frames for the hot-pixel tool: crops of real photographs with injected defects.

The photographs ship in the Debian package plasma-workspace-wallpapers (.ci/run installs it),
so CI on a fresh machine has them without a download. Each frame is a crop of a different
region (and scale) of one of nine photographs, so the scene under a given pixel changes from
frame to frame like in a real photo collection. Defects are written into the frames before
they are saved: hot (+40..+120 levels in 80-100% of the frames), stuck (one constant value),
dead (0), each in one random channel, at least 3 pixels apart.

The module also tests the generator itself (the fixtures must be what they claim).
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

WALLPAPERS = Path("/usr/share/wallpapers")
# The photographs among the KDE wallpapers (the others are drawings or gradients).
PHOTOS = ("BytheWater", "ColdRipple", "ColorfulCups", "EveningGlow", "FallenLeaf", "Grey",
          "OneStandsOut", "Path", "summer_1am")
CHANNELS = ("B", "G", "R")  # OpenCV's plane order; the reported channel names


@dataclass(frozen=True)
class Injected:
    x: int
    y: int
    channel: str
    kind: str
    kept: float = 1.0  # how much of a hot pixel's excess the saved files still hold (0..1)


def photo_paths() -> list[Path]:
    """The largest JPEG of each photograph."""
    out = []
    for name in PHOTOS:
        files = glob.glob(str(WALLPAPERS / name / "contents" / "images" / "*.jpg"))
        assert files, f"{name}: install plasma-workspace-wallpapers (see .ci/run)"
        out.append(Path(max(files, key=lambda f: int(Path(f).stem.split("x")[0]))))
    return out


def real_crops(n: int, height: int, width: int, seed: int = 1, varied: bool = False
               ) -> list[np.ndarray]:
    """``n`` distinct BGR uint8 crops of real photographs, each a different region/scale.

    ``varied``: from the full-size photographs, each crop also mirrored and/or turned
    half-way at random. Frames of 640x480 and more are otherwise nearly whole views of the
    nine photographs, so the same detail comes back at the same place (a tripod series
    rather than a photo collection); the tests keep the plain crops they were tuned on."""
    rng = np.random.default_rng(seed)
    sources = []
    for p in photo_paths():
        img = cv2.imread(str(p), cv2.IMREAD_COLOR if varied else cv2.IMREAD_REDUCED_COLOR_2)
        assert img is not None, p
        sources.append(img)
    crops = []
    for i in range(n):
        src = sources[i % len(sources)]
        if varied:  # none, mirrored, upside down, turned half-way
            flip = int(rng.integers(0, 4))
            src = src if flip == 3 else cv2.flip(src, flip - 1)
        scale = rng.uniform(0.35, 1.0)
        h, w = src.shape[:2]
        small = cv2.resize(src, (max(width, int(w * scale)), max(height, int(h * scale))),
                           interpolation=cv2.INTER_AREA)
        y = int(rng.integers(0, small.shape[0] - height + 1))
        x = int(rng.integers(0, small.shape[1] - width + 1))
        crops.append(np.ascontiguousarray(small[y:y + height, x:x + width]))
    return crops


def place_defects(shape: tuple[int, int], per_kind: int, seed: int = 2,
                  spacing: int = 3) -> list[Injected]:
    rng = np.random.default_rng(seed)
    h, w = shape
    taken: list[tuple[int, int]] = []
    out = []
    for kind in ("hot", "stuck", "dead"):
        for _ in range(per_kind):
            while True:
                x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
                if all(max(abs(x - a), abs(y - b)) > spacing for a, b in taken):
                    break
            taken.append((x, y))
            out.append(Injected(x, y, CHANNELS[int(rng.integers(0, 3))], kind))
    return out


def inject(frames: list[np.ndarray], defects: list[Injected], full_scale: int,
           seed: int = 3) -> None:
    """Write the defects into ``frames`` in place (levels are 8-bit levels scaled)."""
    rng = np.random.default_rng(seed)
    level = full_scale / 255
    n = len(frames)
    for d in defects:
        k = CHANNELS.index(d.channel)
        if d.kind == "hot":
            amp = rng.uniform(40, 120) * level
            on = rng.random(n) < rng.uniform(0.8, 1.0)
            for f, active in zip(frames, on, strict=True):
                if active:
                    f[d.y, d.x, k] = min(full_scale, f[d.y, d.x, k] + amp)
        elif d.kind == "stuck":
            value = round(rng.uniform(40, 230) * level)
            for f in frames:
                f[d.y, d.x, k] = value
        else:
            for f in frames:
                f[d.y, d.x, k] = 0


def _jpeg(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90,
                                         cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                                         cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444])
    assert ok
    return buf.tobytes()


def make_set(folder: Path, fmt: str, n: int = 36, height: int = 240, width: int = 320,
             per_kind: int = 40, seed: int = 1, varied: bool = False) -> list[Injected]:
    """Write ``n`` frames as ``fmt`` ("jpg": q=90, 4:4:4; "tif": 16-bit) and return the truth
    (``varied``: see ``real_crops``).

    For JPEG each hot pixel's ``kept`` says how much of its injected excess survived the
    compression: the decoded frames with and without the defect are compared.
    """
    folder.mkdir(parents=True, exist_ok=True)
    crops = real_crops(n, height, width, seed, varied)
    defects = place_defects((height, width), per_kind, seed + 1)
    if fmt == "tif":
        noise = np.random.default_rng(seed + 2)
        # 8-bit levels widened, plus sub-level noise; clipped: 255 * 257 + noise wrapped
        # around to ~0 in uint16, and saturated skies became fields of "dead" pixels
        frames = [np.minimum(c.astype(np.int32) * 257 + noise.integers(0, 257, c.shape),
                             65535).astype(np.uint16) for c in crops]
        inject(frames, defects, 65535, seed + 3)
        for i, f in enumerate(frames):
            assert cv2.imwrite(str(folder / f"frame_{i:03d}.tif"), f)
        return defects
    clean = [c.copy() for c in crops]
    inject(crops, defects, 255, seed + 3)
    decoded_clean = [cv2.imdecode(np.frombuffer(_jpeg(c), np.uint8), cv2.IMREAD_UNCHANGED)
                     for c in clean]
    decoded = []
    for i, f in enumerate(crops):
        data = _jpeg(f)
        (folder / f"frame_{i:03d}.jpg").write_bytes(data)
        decoded.append(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED))
    out = []
    for d in defects:
        if d.kind == "hot":
            k = CHANNELS.index(d.channel)
            injected = np.mean([int(f[d.y, d.x, k]) - int(c[d.y, d.x, k])
                                for f, c in zip(crops, clean, strict=True)])
            left = np.mean([int(f[d.y, d.x, k]) - int(c[d.y, d.x, k])
                            for f, c in zip(decoded, decoded_clean, strict=True)])
            d = Injected(d.x, d.y, d.channel, d.kind, float(left / max(injected, 1e-6)))
        out.append(d)
    return out


def test_crops_are_distinct_real_photographs():
    crops = real_crops(12, 64, 96)
    assert len({c.tobytes() for c in crops}) == 12
    # photographs have texture, not a flat fill (a small crop of fog may be nearly flat)
    assert np.median([c.std() for c in crops]) > 10
    # consecutive crops come from different photographs: their colour statistics differ
    assert np.abs(crops[0].mean(axis=(0, 1)) - crops[1].mean(axis=(0, 1))).max() > 1


def test_injected_defects_are_in_the_files(tmp_path):
    truth = make_set(tmp_path, "tif", n=6, height=48, width=64, per_kind=3)
    frames = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(tmp_path.iterdir())]
    assert all(f.dtype == np.uint16 and f.shape == (48, 64, 3) for f in frames)
    for d in truth:
        k = CHANNELS.index(d.channel)
        values = [int(f[d.y, d.x, k]) for f in frames]
        if d.kind == "dead":
            assert values == [0] * 6
        elif d.kind == "stuck":
            assert len(set(values)) == 1 and values[0] > 0
    assert len({(d.x, d.y) for d in truth}) == len(truth)
    assert os.path.getsize(tmp_path / "frame_000.tif") > 48 * 64 * 6


def test_sixteen_bit_frames_clip_at_white(tmp_path):
    """Each 16-bit value is its 8-bit level widened (x 257) plus noise below one level,
    clipped at white: a saturated value must not wrap around to black (it did, and
    saturated skies became fields of false dead pixels)."""
    truth = make_set(tmp_path, "tif", n=6, height=120, width=160, per_kind=3)
    frames = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(tmp_path.iterdir())]
    levels = real_crops(6, 120, 160, seed=1)  # make_set's crops
    assert any((c == 255).any() for c in levels)  # the case that wrapped is in the sample
    clean = np.ones((120, 160, 3), bool)
    for d in truth:
        clean[d.y, d.x] = False
    for f, c in zip(frames, levels, strict=True):
        lo = c.astype(np.int32) * 257
        v = f.astype(np.int32)
        assert np.all(((v >= lo) & (v <= np.minimum(lo + 256, 65535)))[clean])
