"""What the review table shows about a picture, and which of two values is the better one.

GUI-free so the CLI export and tests use the same facts. Pillow reads only the header and
EXIF here (``Image.open`` is lazy), so this is cheap even for big files; the GUI still calls
it from its loader thread, because a network folder can make any read slow.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

ORIENTATION_TEXT = {
    1: "normal", 2: "mirrored", 3: "rotated 180°", 4: "mirrored vertically",
    5: "mirrored, rotated 90° CCW", 6: "rotated 90° CW", 7: "mirrored, rotated 90° CW",
    8: "rotated 90° CCW",
}
# Lossless and raw formats carry more of the original than a re-encoded JPEG.
FORMAT_RANK = {"DNG": 5, "CR2": 5, "NEF": 5, "ARW": 5, "TIFF": 4, "PNG": 4, "HEIF": 3,
               "HEIC": 3, "JPEG": 2, "WEBP": 1, "GIF": 0, "BMP": 2}

ROWS = ("Dimensions", "File size", "Format", "Modified", "Taken", "Camera", "Orientation",
        "Folder")


@dataclass(frozen=True)
class ImageMeta:
    path: str
    width: int = 0  # as displayed (EXIF orientation applied)
    height: int = 0
    size: int = 0
    format: str = ""
    modified: float = 0.0  # POSIX seconds
    taken: str = ""  # EXIF DateTimeOriginal, "YYYY:MM:DD HH:MM:SS"
    camera: str = ""
    orientation: int = 0  # EXIF value, 0 = none
    error: str = ""

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path)

    def text(self, row: str) -> str:
        """The table cell for ``row`` (one of ROWS)."""
        if row == "Dimensions":
            return f"{self.width} × {self.height}" if self.width else "?"
        if row == "File size":
            return human_size(self.size)
        if row == "Format":
            return self.format or "?"
        if row == "Modified":
            return datetime.fromtimestamp(self.modified).strftime("%Y-%m-%d %H:%M") \
                if self.modified else "?"
        if row == "Taken":
            return _nice_exif_date(self.taken) or "—"
        if row == "Camera":
            return self.camera or "—"
        if row == "Orientation":
            return ORIENTATION_TEXT.get(self.orientation, "—")
        if row == "Folder":
            return self.folder
        raise KeyError(row)


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{n} bytes" if unit == "bytes" else f"{size:.2f} {unit}"
        size /= 1024
    return f"{n} bytes"


def _nice_exif_date(value: str) -> str:
    if len(value) >= 19 and value[4] == ":" and value[7] == ":":
        return f"{value[:4]}-{value[5:7]}-{value[8:10]} {value[11:16]}"
    return value


def read_meta(path: str) -> ImageMeta:
    """Header facts of one picture; a file Pillow cannot read gets ``error`` set, not raised."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return ImageMeta(path, error=exc.strerror or str(exc))
    try:
        from PIL import Image

        with Image.open(path) as im:
            width, height = im.size
            fmt = im.format or ""
            exif = im.getexif()
            orientation = int(exif.get(0x0112, 0) or 0)
            make = str(exif.get(0x010F, "") or "").strip().strip("\x00")
            model = str(exif.get(0x0110, "") or "").strip().strip("\x00")
            taken = ""
            try:
                sub = exif.get_ifd(0x8769)
                taken = str(sub.get(0x9003, "") or "").strip("\x00")
            except Exception:  # noqa: BLE001 - a broken EXIF block is not an error
                pass
            taken = taken or str(exif.get(0x0132, "") or "").strip("\x00")
    except Exception as exc:  # noqa: BLE001 - any unreadable picture is shown, not raised
        return ImageMeta(path, size=st.st_size, modified=st.st_mtime,
                         error=f"{type(exc).__name__}: {exc}")
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    camera = model if model.lower().startswith(make.lower().split(" ")[0]) and make else \
        " ".join(x for x in (make, model) if x)
    return ImageMeta(path, width, height, st.st_size, fmt, st.st_mtime, taken, camera,
                     orientation)


def better(a: ImageMeta, b: ImageMeta) -> dict[str, str]:
    """For each row where one side is better: "a" or "b". Why each rule: more pixels and more
    bytes keep more detail; a lossless format beats a re-encode; the older date is the
    original (copies get newer dates); a camera tag means the EXIF survived."""
    out: dict[str, str] = {}

    def pick(row: str, va, vb, higher: bool = True) -> None:
        if va == vb:
            return
        out[row] = ("a" if va > vb else "b") if higher else ("a" if va < vb else "b")

    pick("Dimensions", a.width * a.height, b.width * b.height)
    pick("File size", a.size, b.size)
    pick("Format", FORMAT_RANK.get(a.format.upper(), 1), FORMAT_RANK.get(b.format.upper(), 1))
    if a.modified and b.modified and abs(a.modified - b.modified) >= 1:
        pick("Modified", a.modified, b.modified, higher=False)
    if a.taken and b.taken:
        pick("Taken", a.taken, b.taken, higher=False)
    elif a.taken or b.taken:
        out["Taken"] = "a" if a.taken else "b"
    if bool(a.camera) != bool(b.camera):
        out["Camera"] = "a" if a.camera else "b"
    return out
