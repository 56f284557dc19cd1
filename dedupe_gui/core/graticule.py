"""Graticule overlay: meridians and parallels drawn as anti-aliased polylines.

Lines are forward-projected once per render (a few thousand points) and drawn in output
space, so they stay one crisp width everywhere instead of being stretched with the map.
A line is cut where it leaves the projection's image (the back of a globe) or jumps across
the map's seam.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

_SHIFT = 4  # sub-pixel bits for cv2.polylines
_SAMPLE_DEG = 0.25


def _pieces(px: np.ndarray, py: np.ndarray, width: int, height: int) -> list[np.ndarray]:
    far = 4 * max(width, height)
    ok = np.isfinite(px) & np.isfinite(py) & (np.abs(px) < far) & (np.abs(py) < far)
    jump = np.zeros(len(px), bool)
    jump[1:] = (np.abs(np.diff(px)) > width / 4) | (np.abs(np.diff(py)) > height / 4)
    idx = np.flatnonzero(ok)
    if idx.size < 2:
        return []
    new = np.ones(len(idx), bool)
    new[1:] = (np.diff(idx) != 1) | jump[idx[1:]]
    starts = np.flatnonzero(new).tolist() + [len(idx)]
    out: list[np.ndarray] = []
    for s, e in zip(starts[:-1], starts[1:], strict=True):
        seg = idx[s:e]
        if len(seg) >= 2:
            pts = np.stack([px[seg], py[seg]], axis=1) * (1 << _SHIFT)
            out.append(np.round(pts).astype(np.int32))
    return out


def graticule_polylines(spec) -> list[np.ndarray]:
    """Output-pixel polylines (fixed point, ``_SHIFT`` bits) for every ``spec.graticule``
    degrees of longitude and latitude."""
    step = float(spec.graticule)
    proj = spec.projection
    lines: list[tuple[np.ndarray, np.ndarray]] = []
    lats = np.radians(np.arange(-90.0, 90.0 + 1e-9, _SAMPLE_DEG))
    for lon in np.arange(-180.0, 180.0 - 1e-9, step):
        lines.append((np.full_like(lats, math.radians(lon)), lats))
    lons = np.radians(np.arange(-180.0, 180.0 + 1e-9, _SAMPLE_DEG))
    for lat in np.arange(-90.0 + step, 90.0 - 1e-9, step):
        lines.append((lons, np.full_like(lons, math.radians(lat))))
    # one forward projection for all lines (a call per line costs more than the maths)
    sizes = [len(lo) for lo, _ in lines]
    with np.errstate(all="ignore"):
        x, y = proj.forward(np.concatenate([lo for lo, _ in lines]),
                            np.concatenate([la for _, la in lines]))
        px, py = spec.to_output_pixels(x, y)
    out: list[np.ndarray] = []
    start = 0
    for n in sizes:
        out.extend(_pieces(px[start:start + n], py[start:start + n], spec.width, spec.height))
        start += n
    return out


def line_width(spec) -> int:
    """About 1 px per 1000 px of picture size (the geometric mean, so odd shapes stay thin)."""
    return max(1, round(math.sqrt(spec.width * spec.height) / 1000))


def draw_lines(dst: np.ndarray, spec, c0: int, r0: int) -> None:
    """Draw the spec's polylines into a block whose top-left is output pixel (c0, r0)."""
    channels = dst.shape[2] if dst.ndim == 3 else 1
    color = tuple(spec.graticule_color) + (255,)
    color = color[:channels] if channels >= 3 else (color[0],) * channels
    offset = np.array([c0, r0], np.int32) << _SHIFT
    h, w = dst.shape[:2]
    pad = (line_width(spec) + 2) << _SHIFT
    pts = []
    for line in spec.lines:
        moved = line - offset
        ys = moved[:, 1]
        xs = moved[:, 0]
        if ys.max() < -pad or ys.min() > (h << _SHIFT) + pad:
            continue
        if xs.max() < -pad or xs.min() > (w << _SHIFT) + pad:
            continue
        pts.append(moved)
    if pts:
        target = dst if dst.flags.c_contiguous else np.ascontiguousarray(dst)
        cv2.polylines(target, pts, False, color, line_width(spec), cv2.LINE_AA, _SHIFT)
        if target is not dst:
            dst[...] = target
