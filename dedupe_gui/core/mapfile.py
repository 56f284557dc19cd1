"""Reading a world map and writing a re-projected one with its georeferencing sidecar.

The sidecar ``OUT.json`` (the output's file name plus ``.json``) says what any GIS tool needs
to place the picture: projection name, PROJ string on the unit sphere, extent
[xmin, xmax, ymin, ymax] in projection units with pixel (0, 0) the top-left corner, and the
size. Files are written whole or not at all (temporary file, then rename), and an existing
file is replaced only when the caller says so.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from dedupe_gui.core.reproject import RenderSpec

ALPHA_FORMATS = frozenset({".png", ".webp", ".tif", ".tiff"})
WRITABLE = frozenset({".png", ".webp", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".ppm"})
MAX_PIXELS = 1 << 30  # OpenCV's own decode limit; a 21600x10800 mosaic is 233 MP


class MapFileError(Exception):
    """A map that cannot be read or written, with the reason in words."""


def load_map(path: str | os.PathLike) -> np.ndarray:
    """The map's pixels as cv2 gives them (BGR/BGRA/grey, 8 or 16 bit)."""
    p = Path(path)
    try:
        data = np.fromfile(p, np.uint8)  # not cv2.imread: non-ASCII paths on Windows
    except OSError as exc:
        raise MapFileError(f"{p}: cannot read ({exc.strerror or exc})") from exc
    if data.size == 0:
        raise MapFileError(f"{p}: empty file")
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise MapFileError(f"{p}: not a picture OpenCV can decode")
    if image.dtype not in (np.uint8, np.uint16):
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return image


def sidecar_path(out: str | os.PathLike) -> Path:
    p = Path(out)
    return p.with_name(p.name + ".json")


def supports_alpha(out: str | os.PathLike) -> bool:
    return Path(out).suffix.lower() in ALPHA_FORMATS


def _atomic_write(path: Path, data: bytes | memoryview) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_map(out: str | os.PathLike, image: np.ndarray, spec: RenderSpec, *,
             overwrite: bool = False) -> Path:
    """Write the picture and its sidecar; returns the sidecar's path."""
    p = Path(out)
    ext = p.suffix.lower()
    if ext not in WRITABLE:
        raise MapFileError(f"{p}: unknown picture type {ext or '(none)'}; "
                           f"use one of {', '.join(sorted(WRITABLE))}")
    side = sidecar_path(p)
    if not overwrite:
        for target in (p, side):
            if target.exists():
                raise MapFileError(f"{target} exists; choose another name or allow replacing")
    if image.ndim == 3 and image.shape[2] == 4 and ext not in ALPHA_FORMATS:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    ok, buf = cv2.imencode(ext, image)
    if not ok:
        raise MapFileError(f"{p}: OpenCV could not encode this picture as {ext}")
    try:
        _atomic_write(p, buf.data)
        _atomic_write(side, (json.dumps(spec.sidecar(), indent=2) + "\n").encode())
    except OSError as exc:
        raise MapFileError(f"{p}: cannot write ({exc.strerror or exc})") from exc
    return side
