"""Photo-like test pictures generated with numpy/cv2 (CI has no photo corpus).

A picture is multi-scale noise (structure at every size, as in photos) plus a few hard-edged
shapes, in colour; different seeds give unrelated pictures.
"""
from __future__ import annotations

import cv2
import numpy as np


def photo(seed: int, width: int = 800, height: int = 600) -> np.ndarray:
    """A BGR uint8 picture with detail at all scales."""
    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3), np.float32)
    for cells, weight in ((3, 60.0), (6, 45.0), (12, 30.0), (24, 20.0), (48, 12.0), (96, 8.0)):
        noise = rng.normal(0, 1, (cells * height // width + 2, cells + 2, 3)).astype(np.float32)
        img += weight * cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(12):
        colour = tuple(float(c) for c in rng.uniform(-120, 120, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(width // 40, width // 8))
        if rng.random() < 0.5:
            cv2.circle(img, (x, y), r, colour, -1)
        else:
            cv2.rectangle(img, (x, y), (x + r, y + r // 2), colour, -1)
    img = 128 + img * (60.0 / (img.std() + 1e-6))
    return np.clip(img, 0, 255).astype(np.uint8)


def crop(img: np.ndarray, frac: float) -> np.ndarray:
    """The central part without ``frac`` of each dimension."""
    h, w = img.shape[:2]
    dy, dx = round(h * frac / 2), round(w * frac / 2)
    return img[dy:h - dy, dx:w - dx]


def rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def watermark(img: np.ndarray) -> np.ndarray:
    """A white box with black text in the lower right corner."""
    out = img.copy()
    h, w = out.shape[:2]
    x0, y0, x1, y1 = w - w // 4, h - h // 12, w - w // 40, h - h // 40
    cv2.rectangle(out, (x0, y0), (x1, y1), (255, 255, 255), -1)
    cv2.putText(out, "(c) sample", (x0 + 5, y1 - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    return out


def save(path, img: np.ndarray, quality: int = 90) -> str:
    path = str(path)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if path.lower().endswith((".jpg", ".jpeg")) else []
    assert cv2.imwrite(path, img, params)
    return path
