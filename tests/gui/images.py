"""Real-looking test pictures made with numpy and OpenCV (CI has no photo corpus).

Each picture is a smooth multi-scale colour field (like sky, foliage, walls) with a few
shapes and fine grain, so perceptual hashes behave as on photos; duplicates are resized
and re-encoded copies, the way they occur in real libraries.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def make_photo(seed: int, width: int = 1200, height: int = 900) -> np.ndarray:
    """A BGR uint8 picture, different for every seed (~20 ms for 1 MP)."""
    rng = np.random.default_rng(seed)
    lw, lh = max(8, width // 4), max(8, height // 4)  # structure at 1/4 size, then upscaled
    img = np.zeros((lh, lw, 3), np.float32)
    for scale, weight in ((4, 90.0), (12, 45.0), (40, 20.0)):
        grid = rng.random((scale * lh // lw + 2, scale + 2, 3)).astype(np.float32)
        img += weight * cv2.resize(grid, (lw, lh), interpolation=cv2.INTER_CUBIC)
    img += rng.uniform(0, 60, 3).astype(np.float32)
    for _ in range(int(rng.integers(4, 10))):
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        centre = (int(rng.integers(0, lw)), int(rng.integers(0, lh)))
        if rng.random() < 0.5:
            cv2.circle(img, centre, int(rng.integers(lw // 30 + 1, lw // 6 + 2)), colour, -1,
                       cv2.LINE_AA)
        else:
            end = (int(rng.integers(0, lw)), int(rng.integers(0, lh)))
            cv2.line(img, centre, end, colour, int(rng.integers(1, 7)), cv2.LINE_AA)
    img = cv2.resize(np.clip(img, 0, 255).astype(np.uint8), (width, height),
                     interpolation=cv2.INTER_CUBIC)
    tile = rng.integers(0, 11, (256, 256, 3), dtype=np.uint8)  # sensor-like fine grain
    grain = np.tile(tile, (height // 256 + 1, width // 256 + 1, 1))[:height, :width]
    return cv2.subtract(cv2.add(img, grain), np.full_like(img, 5))


def write_jpeg(path: Path, img: np.ndarray, quality: int = 90) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def make_library(root: Path, n_originals: int, n_copies: int, size=(1200, 900),
                 seed: int = 0) -> tuple[list[Path], list[tuple[Path, Path]]]:
    """``n_originals`` distinct pictures in ``root/a``; the first ``n_copies`` of them also
    appear in ``root/b`` as a half-size, re-encoded copy. Returns (all files, true pairs)."""
    files, pairs = [], []
    for i in range(n_originals):
        img = make_photo(seed * 100_000 + i, *size)
        orig = write_jpeg(root / "a" / f"img_{i:04d}.jpg", img, 92)
        files.append(orig)
        if i < n_copies:
            w, h = size
            if i % 3 == 0:  # a half-size web copy
                variant = cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
            elif i % 3 == 1:  # a slight crop
                variant = img[h // 20: h - h // 20, w // 20: w - w // 20]
            else:  # brighter, strongly recompressed
                variant = cv2.convertScaleAbs(img, alpha=1.1, beta=8)
            copy = write_jpeg(root / "b" / f"copy_{i:04d}.jpg", variant, 60 + 10 * (i % 3))
            files.append(copy)
            pairs.append((orig, copy))
    return files, pairs
