"""A minimal uncompressed CFA DNG writer, so the RAW path is tested on real raw files.

No RAW file can be shipped or downloaded for the tests, and no library here writes DNG, so the
file is packed by hand: a little-endian TIFF with one IFD holding one 16-bit strip of the Bayer
mosaic and the DNG tags LibRaw needs to treat it as a raw CFA image (see ``write_dng``).
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_BYTE, _ASCII, _SHORT, _LONG, _SRATIONAL = 1, 2, 3, 4, 10
_SIZE = {_BYTE: 1, _ASCII: 1, _SHORT: 2, _LONG: 4, _SRATIONAL: 8}
_FMT = {_BYTE: "B", _ASCII: "B", _SHORT: "H", _LONG: "I", _SRATIONAL: "i"}
# CFAPattern colour codes (TIFF/EP): 0 = red, 1 = green, 2 = blue
PATTERNS = {"RGGB": (0, 1, 1, 2), "BGGR": (2, 1, 1, 0), "GRBG": (1, 0, 2, 1),
            "GBRG": (1, 2, 0, 1)}
# sRGB-ish XYZ -> camera matrix (D65), x10000: only needed for LibRaw to accept the colour data
_COLOR_MATRIX = (32404, -15371, -4985, -9692, 18760, 415, 556, -2040, 10572)


def _ascii(text: str) -> bytes:
    return text.encode("ascii") + b"\0"


def _entry(tag: int, typ: int, values: tuple | bytes) -> tuple[int, int, int, bytes]:
    if isinstance(values, bytes):
        data, count = values, len(values)
    elif typ == _SRATIONAL:
        count = len(values)
        data = b"".join(struct.pack("<ii", v, 10000) for v in values)
    else:
        count = len(values)
        data = struct.pack("<" + _FMT[typ] * count, *values)
    return tag, typ, count, data


def write_dng(path: str | Path, mosaic: np.ndarray, *, pattern: str = "RGGB",
              make: str = "Dedupe", model: str = "TestCam", white: int = 4095,
              black: int = 0,
              active: tuple[int, int, int, int] | None = None, omit: frozenset[int] = frozenset()) -> Path:
    """Write ``mosaic`` (H x W uint16, the CFA values as the sensor gave them) as a DNG 1.4
    with one uncompressed strip; returns the path. ``active``: ActiveArea (top, left, bottom,
    right), the sensor area outside it is masked (LibRaw's margins). ``omit``: tags to leave out (to check
    which ones LibRaw needs)."""
    mosaic = np.ascontiguousarray(mosaic, dtype="<u2")
    h, w = mosaic.shape
    pixels = mosaic.tobytes()
    entries = [
        _entry(254, _LONG, (0,)),
        _entry(256, _LONG, (w,)),
        _entry(257, _LONG, (h,)),
        _entry(258, _SHORT, (16,)),
        _entry(259, _SHORT, (1,)),
        _entry(262, _SHORT, (32803,)),
        _entry(271, _ASCII, _ascii(make)),
        _entry(272, _ASCII, _ascii(model)),
        _entry(273, _LONG, (0,)),  # strip offset: patched below
        _entry(277, _SHORT, (1,)),
        _entry(278, _LONG, (h,)),
        _entry(279, _LONG, (len(pixels),)),
        _entry(284, _SHORT, (1,)),
        _entry(33421, _SHORT, (2, 2)),
        _entry(33422, _BYTE, PATTERNS[pattern]),
        _entry(50706, _BYTE, (1, 4, 0, 0)),
        _entry(50707, _BYTE, (1, 1, 0, 0)),
        _entry(50708, _ASCII, _ascii(f"{make} {model}")),
        _entry(50714, _LONG, (black,)),
        _entry(50717, _LONG, (white,)),
        _entry(50721, _SRATIONAL, _COLOR_MATRIX),
        _entry(50778, _SHORT, (21,)),  # D65
    ]
    if active is not None:
        entries.append(_entry(50829, _LONG, tuple(active)))
    entries = sorted((e for e in entries if e[0] not in omit), key=lambda e: e[0])
    ifd_size = 2 + 12 * len(entries) + 4
    extra_at = 8 + ifd_size
    extra = bytearray()
    packed = []
    for tag, typ, count, data in entries:
        if len(data) <= 4:
            packed.append((tag, typ, count, data.ljust(4, b"\0")))
        else:
            if (extra_at + len(extra)) % 2:
                extra += b"\0"  # TIFF values start on a word boundary
            packed.append((tag, typ, count, struct.pack("<I", extra_at + len(extra))))
            extra += data
    strip_at = extra_at + len(extra)
    strip_at += (-strip_at) % 16
    extra += b"\0" * (strip_at - extra_at - len(extra))
    out = bytearray(b"II" + struct.pack("<HI", 42, 8))
    out += struct.pack("<H", len(packed))
    for tag, typ, count, value in packed:
        if tag == 273:
            value = struct.pack("<I", strip_at)
        out += struct.pack("<HHI", tag, typ, count) + value
    out += struct.pack("<I", 0)  # no next IFD
    out += extra
    assert len(out) == strip_at
    out += pixels
    target = Path(path)
    target.write_bytes(bytes(out))
    return target
