"""Decoding: reduced size, EXIF orientation, content over extension, and clear reasons."""
from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from dedupe_gui.core import imageio
from dedupe_gui.core.imageio import UnreadableImage, load_reduced
from tests.core.imagegen import photo, save


def reason(path) -> str:
    with pytest.raises(UnreadableImage) as exc:
        load_reduced(str(path))
    return str(exc.value)


def corr(a: np.ndarray, b: np.ndarray) -> float:
    b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)
    a = a.astype(np.float64) - a.mean()
    b = b.astype(np.float64) - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def test_jpeg_is_decoded_reduced_with_full_size(tmp_path):
    path = save(tmp_path / "big.jpg", photo(1, 2000, 1500))
    dec = load_reduced(path, min_side=128)
    assert (dec.width, dec.height, dec.format) == (2000, 1500, "JPEG")
    assert dec.pixels.dtype == np.uint8 and dec.pixels.ndim == 2
    assert 128 <= min(dec.pixels.shape) < 256  # libjpeg scaled while decoding
    grey = cv2.cvtColor(photo(1, 2000, 1500), cv2.COLOR_BGR2GRAY)
    assert corr(dec.pixels, grey) > 0.98


def test_exif_orientation_is_applied(tmp_path):
    upright = cv2.cvtColor(photo(2, 900, 600), cv2.COLOR_BGR2RGB)
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # 600x900 on disk
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display: shows the upright picture
    path = tmp_path / "rotated.jpg"
    stored.save(path, "JPEG", quality=92, exif=exif.tobytes())
    dec = load_reduced(str(path))
    assert (dec.width, dec.height) == (900, 600)
    assert dec.pixels.shape[1] > dec.pixels.shape[0]
    grey = cv2.cvtColor(upright, cv2.COLOR_RGB2GRAY)
    assert corr(dec.pixels, grey) > 0.95
    assert corr(dec.pixels, cv2.rotate(grey, cv2.ROTATE_180)) < 0.5


def test_png_named_jpg_decodes_by_content(tmp_path):
    ok = save(tmp_path / "real.png", photo(3, 300, 200))
    fake = tmp_path / "looks like.jpg"
    fake.write_bytes(open(ok, "rb").read())
    dec = load_reduced(str(fake))
    assert (dec.format, dec.width, dec.height) == ("PNG", 300, 200)


@pytest.mark.parametrize("ext", [".webp", ".bmp", ".tif", ".gif", ".png"])
def test_other_formats_decode_and_shrink(tmp_path, ext):
    img = photo(4, 1200, 800)
    path = tmp_path / f"pic{ext}"
    Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)).save(path)
    dec = load_reduced(str(path), min_side=100)
    assert (dec.width, dec.height) == (1200, 800)
    assert 100 <= min(dec.pixels.shape) < 200
    assert corr(dec.pixels, cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)) > 0.9


def test_sixteen_bit_png_keeps_its_range(tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (128, 1))
    path = tmp_path / "deep.png"
    assert cv2.imwrite(str(path), ramp)
    px = load_reduced(str(path)).pixels
    assert px.min() < 10 and px.max() > 245  # not clipped to white


def test_decompression_bomb_is_refused_from_the_header(tmp_path):
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
           + chunk(b"IEND", b""))
    path = tmp_path / "bomb.png"
    path.write_bytes(png)
    msg = reason(path)
    assert msg.startswith("image too large") and "60000x60000" in msg


def test_bomb_limit_is_our_constant(tmp_path, monkeypatch):
    path = save(tmp_path / "fine.jpg", photo(5, 400, 300))
    monkeypatch.setattr(imageio, "MAX_PIXELS", 100_000)
    assert "400x300" in reason(path)


def test_bad_files_get_reasons(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert reason(tmp_path / "empty.jpg") == "empty file"
    good = open(save(tmp_path / "good.jpg", photo(6, 640, 480)), "rb").read()
    (tmp_path / "cut.jpg").write_bytes(good[: len(good) // 3])
    assert reason(tmp_path / "cut.jpg") == "truncated JPEG"
    (tmp_path / "random.jpg").write_bytes(np.random.default_rng(0).bytes(4096))
    assert reason(tmp_path / "random.jpg").startswith("not an image")
    (tmp_path / "notes.png").write_text("this is not an image\n")
    assert reason(tmp_path / "notes.png") == "not an image (text)"
    assert reason(tmp_path / "missing.jpg") == "file vanished"
    (tmp_path / "folder.jpg").mkdir()
    assert reason(tmp_path / "folder.jpg") == "not a regular file"
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, "PNG")
    (tmp_path / "tiny.png").write_bytes(buf.getvalue())
    assert reason(tmp_path / "tiny.png").startswith("too small to compare")


def test_heic_and_raw_without_their_extras_say_what_to_install(tmp_path):
    heic = tmp_path / "phone.heic"
    heic.write_bytes(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 200)
    raw = tmp_path / "camera.nef"
    raw.write_bytes(b"II*\0" + b"\0" * 500)
    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        assert reason(heic) == imageio.HEIF_MISSING
    else:
        reason(heic)  # installed: a broken HEIC is still refused with a reason
    try:
        import rawpy  # noqa: F401
    except ImportError:
        assert reason(raw) == imageio.RAW_MISSING
    else:
        reason(raw)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow(tmp_path, orientation):
    from PIL import ImageOps

    stored = Image.fromarray(cv2.cvtColor(photo(7, 640, 400), cv2.COLOR_BGR2RGB))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    stored.save(path, "JPEG", quality=92, exif=exif.tobytes())
    with Image.open(path) as im:
        want = np.asarray(ImageOps.exif_transpose(im).convert("L"))
    dec = load_reduced(str(path))
    assert (dec.width, dec.height) == (want.shape[1], want.shape[0])
    assert corr(dec.pixels, want) > 0.97


def test_jpeg_with_data_after_its_end_still_decodes(tmp_path):
    path = save(tmp_path / "padded.jpg", photo(8, 640, 480))
    with open(path, "ab") as f:
        f.write(b"\0" * 5000 + b"camera maker trailer")
    dec = load_reduced(path)
    assert (dec.width, dec.height, dec.format) == (640, 480, "JPEG")
    assert corr(dec.pixels, cv2.cvtColor(photo(8, 640, 480), cv2.COLOR_BGR2GRAY)) > 0.97
