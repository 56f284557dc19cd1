"""How many different scenes a set of frames shows (for the hot-pixel tool).

Why: hot-pixel detection compares each pixel with its neighbours in every frame and trusts
what persists. Scene detail persists too when the same scene comes back (a tripod series, a
timelapse, copies of one photo): with only a handful of different scenes, their fine detail
looks like defects. Counting the scenes lets the run say so instead of reporting thousands of
false defects silently. Dark frames and other flat frames have no detail to mistake, so they
are not counted as scenes at all.

A frame is described by a tiny grey thumbnail taken by striding (no filtering: it costs
microseconds next to the decode); two frames show the same scene when their standardised
thumbnails correlate at ``SAME_SCENE`` or more; scenes that come back often weigh more
(``count_scenes``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

THUMB = (24, 36)  # rows, columns of the strided thumbnail
SAME_SCENE = 0.9  # correlation of two thumbnails of the same scene (copies, tripod shots)
FLAT = 2.0 / 255  # thumbnail spread (share of full scale) below which a frame has no detail
MAX_FRAMES = 4000  # frames compared at most (evenly sampled): the comparison is O(n^2)


def frame_thumb(frame: np.ndarray, full_scale: float) -> np.ndarray:
    """A (24, 36) float32 grey thumbnail of a (rows, cols, planes) frame, in 0..1."""
    h, w = frame.shape[:2]
    sy, sx = max(1, h // THUMB[0]), max(1, w // THUMB[1])
    small = frame[sy // 2::sy, sx // 2::sx][:THUMB[0], :THUMB[1]]
    grey = small.mean(axis=2, dtype=np.float32) if small.ndim == 3 else small.astype(np.float32)
    return grey / np.float32(full_scale)


def count_scenes(thumbs: Sequence[np.ndarray]) -> tuple[int, int]:
    """(effective number of scenes, frames with detail) among ``thumbs`` (same-shape
    thumbnails); past ``MAX_FRAMES`` an even sample is compared and both are scaled up.

    Effective, not distinct: n frames divided by the mean number of frames each one shows
    (itself included), i.e. n**2 / sum of squared scene sizes for clean scenes. Detail
    that comes back in many frames weighs by how often it comes back: 30 frames of which 6
    scenes come back 4 times each show 12 distinct scenes, but are only as varied as ~9."""
    if not thumbs:
        return 0, 0
    step = max(1, -(-len(thumbs) // MAX_FRAMES))
    x = np.stack([t.reshape(-1) for t in thumbs[::step]]).astype(np.float64)
    x -= x.mean(axis=1, keepdims=True)
    spread = x.std(axis=1)
    detailed = spread >= FLAT
    z = x[detailed] / spread[detailed, None]  # standardised: z . z / size = correlation
    n = len(z)
    if n == 0:
        return 0, 0
    same = (z @ z.T / z.shape[1]) >= SAME_SCENE
    shown = same.sum(axis=1)  # frames each frame shows, itself included
    scenes = int(round(n * n / shown.sum()))
    return scenes * step, n * step
