"""Decoding pictures small and fast, as they are displayed, or saying clearly why not.

The scan's speed budget is about one reduced JPEG decode per file, so the JPEG path is the
decode floor's own call: OpenCV's libjpeg-turbo with DCT scaling (1/2, 1/4 or 1/8 while
decoding, grey straight from the luma channel), while size, bomb check and EXIF orientation
come from the header Pillow parses (microseconds). A JPEG that does not end in its EOI
marker goes to Pillow instead, which tells a truncated file from trailing bytes.
Other formats decode fully and are shrunk at once. Sizes are checked from the header before
any pixel is allocated (decompression bombs), and the format is taken from the content, not
the extension (a PNG named .jpg still decodes).
"""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 250_000_000  # refuse pictures claiming more (header check, before allocating)
DEFAULT_MIN_SIDE = 64  # shortest side kept by the reduced decode: enough for 32 px hashes
MIN_PICTURE_SIDE = 32  # smaller pictures (icons, spacers) carry too little to compare

RAW_EXTS = frozenset({
    ".3fr", ".ari", ".arw", ".cr2", ".cr3", ".crw", ".dcr", ".dng", ".erf", ".iiq", ".k25",
    ".kdc", ".mef", ".mos", ".mrw", ".nef", ".nrw", ".orf", ".pef", ".raf", ".raw", ".rw2",
    ".rwl", ".sr2", ".srf", ".srw", ".x3f",
})
RAW_MISSING = "RAW support not installed (pip install dedupe-gui[raw])"
HEIF_MISSING = "HEIC/HEIF support not installed (pip install dedupe-gui[heif])"

# Pillow's own bomb guard must not fire below our limit (it warns at 1x and fails at 2x).
Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, MAX_PIXELS)

# EXIF orientation -> the transpose that shows the picture upright (as ImageOps.exif_transpose)
_ORIENT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90,
}

_heif_state: bool | None = None


class UnreadableImage(Exception):
    """A file that cannot be fingerprinted; ``str(exc)`` is the reason shown to the user."""


@dataclass(frozen=True)
class Decoded:
    """A reduced grey picture, upright, and the full picture's size as displayed."""

    pixels: np.ndarray  # uint8 (h, w), EXIF orientation applied
    width: int  # full displayed width
    height: int
    format: str  # Pillow's format name ("JPEG", "PNG", ...), or "RAW"


def _heif_available() -> bool:
    """Register pillow-heif's opener once, if it is installed."""
    global _heif_state
    if _heif_state is None:
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _heif_state = True
        except ImportError:
            _heif_state = False
    return _heif_state


def _sniff(head: bytes) -> str:
    """Why a file Pillow does not recognise is not a picture (from its first bytes)."""
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in (
            b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif"):
        return HEIF_MISSING if not _heif_available() else "unsupported HEIF/AVIF variant"
    if not head.strip(b"\0"):
        return "not an image (zero bytes)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "not an image (unknown format)"
    if all(c.isprintable() or c in "\r\n\t\f" for c in text):
        return "not an image (text)"
    return "not an image (unknown format)"


def _bomb_reason(w: int, h: int) -> str:
    return f"image too large: {w}x{h} ({w * h / 1e6:.0f} MP) > limit of {MAX_PIXELS // 10**6} MP"


def _png_size(head: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG header (for the message when Pillow refuses at open)."""
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    return None


def _to_grey(im: Image.Image) -> Image.Image:
    """Grey 8-bit, keeping 16-bit and float pictures' range rather than clipping them."""
    if im.mode == "L":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im, dtype=np.float32)
        hi = float(a.max()) if a.size else 0.0
        scale = 255.0 / (65535.0 if hi > 255 else max(hi, 1.0)) if im.mode != "F" else (
            255.0 / hi if hi > 0 else 1.0)
        return Image.fromarray(np.clip(a * scale, 0, 255).astype(np.uint8), "L")
    if im.mode in ("P", "PA", "LA", "RGBA", "La"):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))  # transparency shows white
        im = Image.alpha_composite(white, im)
    return im.convert("L")


def _shrink(im: Image.Image, min_side: int) -> Image.Image:
    """Box-reduce by an integer factor while the short side stays >= min_side."""
    k = min(im.size) // max(1, min_side)
    return im.reduce(k) if k >= 2 else im


_CV_REDUCED = ((8, cv2.IMREAD_REDUCED_GRAYSCALE_8), (4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
               (2, cv2.IMREAD_REDUCED_GRAYSCALE_2), (1, cv2.IMREAD_GRAYSCALE))


def _jpeg_reduced(path: str, w: int, h: int, min_side: int) -> Image.Image | None:
    """The JPEG decoded by OpenCV's libjpeg-turbo with DCT scaling (the decode floor's own
    call), grey, not yet oriented; None when the file does not end in an EOI marker (then
    Pillow decodes it and tells a truncated file from trailing garbage)."""
    data = np.fromfile(path, np.uint8)  # imdecode: also works for non-ASCII paths on Windows
    if b"\xff\xd9" not in data[-64:].tobytes():
        return None
    factor, flag = next((k, f) for k, f in _CV_REDUCED if min(w, h) // k >= min_side or k == 1)
    px = cv2.imdecode(data, flag | cv2.IMREAD_IGNORE_ORIENTATION)
    if px is None or px.ndim != 2 or abs(px.shape[1] * factor - w) > factor:
        return None
    return _shrink(Image.fromarray(px, "L"), min_side)


def _pil_load(im: Image.Image, fmt: str, min_side: int) -> Image.Image:
    """Pillow's decode (JPEG at a reduced scale too), failures turned into reasons."""
    if fmt == "JPEG":
        w, h = im.size
        scale = max(1, min_side) / min(w, h)
        im.draft("L", (max(1, int(w * scale + 0.999)), max(1, int(h * scale + 0.999))))
    try:
        im.load()
    except OSError as exc:
        msg = str(exc)
        if "truncated" in msg or "broken data stream" in msg or "end of file" in msg:
            raise UnreadableImage(f"truncated {fmt}") from None
        raise UnreadableImage(f"corrupt {fmt}: {msg}") from None
    except (SyntaxError, ValueError, EOFError) as exc:
        raise UnreadableImage(f"corrupt {fmt}: {exc}") from None
    return im


def _open_pil(path: str, min_side: int) -> Decoded:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(path)
        except Image.DecompressionBombError as exc:
            with open(path, "rb") as f:
                size = _png_size(f.read(32))
            if size:
                raise UnreadableImage(_bomb_reason(*size)) from None
            m = re.search(r"\((\d+) pixels\)", str(exc))
            mp = f"{int(m.group(1)) / 1e6:.0f} MP" if m else "too many pixels"
            raise UnreadableImage(f"image too large: {mp} > limit of "
                                  f"{MAX_PIXELS // 10**6} MP") from None
        except UnidentifiedImageError:
            with open(path, "rb") as f:
                raise UnreadableImage(_sniff(f.read(512))) from None
    with im:
        fmt = im.format or "image"
        w, h = im.size
        if w * h > MAX_PIXELS:
            raise UnreadableImage(_bomb_reason(w, h))
        if min(w, h) < MIN_PICTURE_SIDE:
            raise UnreadableImage(f"too small to compare: {w}x{h} (< {MIN_PICTURE_SIDE} px)")
        try:
            orientation = int(im.getexif().get(0x0112, 1) or 1)
        except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the picture
            orientation = 1
        small = _jpeg_reduced(path, w, h, min_side) if fmt == "JPEG" else None
        if small is None:
            small = _shrink(_to_grey(_pil_load(im, fmt, min_side)), min_side)
    if orientation in _ORIENT:
        small = small.transpose(_ORIENT[orientation])
        if orientation >= 5:
            w, h = h, w
    return Decoded(np.asarray(small, dtype=np.uint8), w, h, fmt)


def _open_raw(path: str, min_side: int) -> Decoded:
    """A RAW file's embedded preview (far faster than demosaicing, and enough to compare)."""
    try:
        import rawpy
    except ImportError:
        raise UnreadableImage(RAW_MISSING) from None
    import io

    try:
        with rawpy.imread(path) as raw:
            flip = int(raw.sizes.flip)
            thumb = raw.extract_thumb()
            full_w, full_h = int(raw.sizes.width), int(raw.sizes.height)
    except (rawpy.LibRawError, OSError, ValueError) as exc:
        raise UnreadableImage(f"unreadable RAW: {exc}") from None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        im = Image.open(io.BytesIO(thumb.data))
        im.draft("L", (min_side, min_side))
        im = _to_grey(im)
    else:  # a bitmap preview
        im = _to_grey(Image.fromarray(np.asarray(thumb.data)))
    small = _shrink(im, min_side)
    # LibRaw flip: 3 = 180, 5 = 90 CCW, 6 = 90 CW (as EXIF 3, 8, 6)
    exif = {3: 3, 5: 8, 6: 6}.get(flip, 1)
    if exif in _ORIENT:
        small = small.transpose(_ORIENT[exif])
    if exif in (6, 8):
        full_w, full_h = full_h, full_w
    return Decoded(np.asarray(small, dtype=np.uint8), full_w, full_h, "RAW")


def load_reduced(path: str, min_side: int = DEFAULT_MIN_SIDE) -> Decoded:
    """Decode ``path`` small (short side >= ``min_side`` unless the picture is smaller), grey,
    upright. Raises UnreadableImage with a user-facing reason for anything else."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise UnreadableImage("file vanished") from None
    except PermissionError:
        raise UnreadableImage("permission denied") from None
    except OSError as exc:
        raise UnreadableImage(f"cannot read: {exc.strerror or exc}") from None
    if not os.path.isfile(path):
        raise UnreadableImage("not a regular file")
    if st.st_size == 0:
        raise UnreadableImage("empty file")
    try:
        if os.path.splitext(path)[1].lower() in RAW_EXTS:
            try:
                return _open_raw(path, min_side)
            except UnreadableImage as exc:  # maybe a mislabelled ordinary picture
                try:
                    return _open_pil(path, min_side)
                except UnreadableImage:
                    raise exc from None
        _heif_available()
        return _open_pil(path, min_side)
    except FileNotFoundError:
        raise UnreadableImage("file vanished") from None
    except PermissionError:
        raise UnreadableImage("permission denied") from None
    except MemoryError:
        raise UnreadableImage("out of memory while decoding") from None
    except OSError as exc:
        raise UnreadableImage(f"cannot read: {exc.strerror or exc}") from None
