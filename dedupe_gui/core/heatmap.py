"""A difference heat-map of two pictures of (nearly) the same scene.

Why normalised: two copies of one photo differ in size and in compression, so both are
brought to one small size, to grey, and slightly blurred before subtracting; what remains
is where the content really differs (a crop edge, an edit, a different moment), drawn with a
colour map whose range follows the strongest difference so a small edit is still visible.
"""
from __future__ import annotations

import cv2
import numpy as np


def difference_heatmap(a_rgb: np.ndarray, b_rgb: np.ndarray, width: int = 512) -> np.ndarray:
    """RGB uint8 heat-map (``width`` wide, ``a``'s aspect): dark = same, hot = different."""
    h = max(1, round(a_rgb.shape[0] * width / a_rgb.shape[1]))

    def prep(img: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
        grey = cv2.resize(grey, (width, h), interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(grey.astype(np.float32), (0, 0), 1.5)

    diff = np.abs(prep(a_rgb) - prep(b_rgb))
    top = max(float(np.percentile(diff, 99.5)), 16.0)  # noise floor: JPEG re-encodes
    scaled = np.clip(diff * (255.0 / top), 0, 255).astype(np.uint8)
    coloured = cv2.applyColorMap(scaled, cv2.COLORMAP_INFERNO)
    return cv2.cvtColor(coloured, cv2.COLOR_BGR2RGB)


def difference_score(a_rgb: np.ndarray, b_rgb: np.ndarray, width: int = 256) -> float:
    """Mean absolute grey difference (0-255) at a common small size: a quick sanity figure."""
    h = max(1, round(a_rgb.shape[0] * width / a_rgb.shape[1]))
    ga = cv2.resize(cv2.cvtColor(a_rgb, cv2.COLOR_RGB2GRAY), (width, h), interpolation=cv2.INTER_AREA)
    gb = cv2.resize(cv2.cvtColor(b_rgb, cv2.COLOR_RGB2GRAY), (width, h), interpolation=cv2.INTER_AREA)
    return float(np.mean(np.abs(ga.astype(np.int16) - gb.astype(np.int16))))
