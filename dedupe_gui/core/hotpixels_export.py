"""Writing a hot-pixel result in the formats other tools read, and repaired copies.

Coordinates: x = column, y = row, 0-based, in the stored pixel grid (no EXIF rotation); for
RAW sources the visible sensor area as LibRaw reports it. dcraw/LibRaw ``-P`` wants the full
raw grid, so the visible area's left/top margins are added there. RawTherapee reads
``<Make> <Model>.badpixels`` with a border offset (4 for Bayer) as a lone number on the first
line. Repaired copies go to a new file; an original is never overwritten.
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np

from dedupe_gui.core.hotpixels import Defect, HotPixelResult

FIELDS = ("x", "y", "channel", "kind", "score", "frames")


def to_csv(result: HotPixelResult) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FIELDS)
    for d in result.defects:
        row = d.as_dict()
        writer.writerow([row[f] for f in FIELDS])
    return buf.getvalue()


def to_json(result: HotPixelResult) -> str:
    return json.dumps(result.as_json(), indent=1)


def _pixels(defects: list[Defect]) -> list[tuple[int, int]]:
    """Each defective pixel once (a JPEG defect may be listed in several channels)."""
    return sorted({(d.x, d.y) for d in defects}, key=lambda p: (p[1], p[0]))


def to_dcraw(result: HotPixelResult) -> str:
    """dcraw/LibRaw ``-P`` file: ``column row unix_time_of_death`` (0 = unknown)."""
    left, top = result.raw_margins
    lines = [f"# dead/hot pixels of {result.camera or 'unknown camera'}, found by dedupe "
             f"hotpixels in {result.frames} frames",
             "# column row time-of-death (0 = unknown), raw sensor grid"]
    if result.source != "raw":
        lines.append("# NOTE: found in processed images; coordinates are image pixels")
    lines += [f"{x + left} {y + top} 0" for x, y in _pixels(result.defects)]
    return "\n".join(lines) + "\n"


def rawtherapee_name(result: HotPixelResult) -> str:
    """RawTherapee looks the file up by camera: ``<Make> <Model>.badpixels``."""
    camera = (result.camera or "unknown camera").replace("/", "_")
    return f"{camera}.badpixels"


def to_rawtherapee(result: HotPixelResult, offset: int | None = None) -> str:
    """``x y`` per line; the first line is the lone border offset (Bayer 4 for RAW sources)."""
    if offset is None:
        offset = 4 if result.source == "raw" else 0
    lines = [str(offset),
             f"# {result.camera or 'unknown camera'}: {len(result.defects)} defects in "
             f"{result.frames} frames (dedupe hotpixels)"]
    lines += [f"{x} {y}" for x, y in _pixels(result.defects)]
    return "\n".join(lines) + "\n"


FORMATS = {"csv": to_csv, "json": to_json, "dcraw": to_dcraw, "rawtherapee": to_rawtherapee}


def write(result: HotPixelResult, fmt: str, path: str | os.PathLike) -> Path:
    """Write ``fmt`` (one of FORMATS) to ``path`` (a folder takes the format's usual name)."""
    target = Path(path)
    if target.is_dir():
        name = {"csv": "hotpixels.csv", "json": "hotpixels.json", "dcraw": ".badpixels",
                "rawtherapee": rawtherapee_name(result)}[fmt]
        target = target / name
    target.write_text(FORMATS[fmt](result), encoding="utf-8")
    return target


def _free_name(folder: Path, stem: str, suffix: str) -> Path:
    candidate = folder / f"{stem}.repaired{suffix}"
    i = 2
    while candidate.exists():
        candidate = folder / f"{stem}.repaired-{i}{suffix}"
        i += 1
    return candidate


def repair_copy(result: HotPixelResult, source: str | os.PathLike,
                out_dir: str | os.PathLike) -> Path:
    """A copy of ``source`` with every defect replaced by the median of its same-colour
    neighbours (the 8 around it in that channel; in all channels for JPEG sources, where
    compression spread the defect). Never writes over an existing file. Raises ValueError for
    sources it cannot repair (RAW: writing RAW formats is out of scope)."""
    import cv2

    src = Path(source)
    if result.source == "raw":
        raise ValueError("RAW files cannot be rewritten; use the dcraw or RawTherapee list")
    img = cv2.imread(str(src), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"cannot decode {src}")
    if img.shape[0] != result.height or img.shape[1] != result.width:
        raise ValueError(f"{src.name} is {img.shape[1]}x{img.shape[0]}, the result is for "
                         f"{result.width}x{result.height}")
    planes = img[:, :, None] if img.ndim == 2 else img
    names = ["L"] if planes.shape[2] == 1 else ["B", "G", "R", "A"][:planes.shape[2]]
    h, w = planes.shape[:2]
    bad = np.zeros(planes.shape, bool)
    for d in result.defects:
        ks = range(min(3, planes.shape[2])) if result.lossy else [names.index(d.channel)]
        for k in ks:
            bad[d.y, d.x, k] = True
    out = planes.copy()
    for d in result.defects:
        ks = range(min(3, planes.shape[2])) if result.lossy else [names.index(d.channel)]
        y0, y1, x0, x1 = max(0, d.y - 1), min(h, d.y + 2), max(0, d.x - 1), min(w, d.x + 2)
        for k in ks:
            win = planes[y0:y1, x0:x1, k]
            good = win[~bad[y0:y1, x0:x1, k]]
            if good.size:
                out[d.y, d.x, k] = np.median(good).astype(out.dtype)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_name(folder, src.stem, src.suffix)
    if target.resolve() == src.resolve():  # cannot happen with .repaired, but never risk it
        raise ValueError("refusing to overwrite the original")
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if src.suffix.lower() in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(src.suffix.lower() or ".png", out if img.ndim == 3 else out[:, :, 0],
                           params)
    if not ok:
        raise ValueError(f"cannot encode {src.suffix}")
    with open(target, "xb") as fh:  # exclusive: never replaces a file
        fh.write(buf.tobytes())
    return target
