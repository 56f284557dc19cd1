"""Review facts (EXIF orientation, camera, dates, better value) and the difference heat-map,
on real JPEGs written with Pillow/OpenCV."""
from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from dedupe_gui.core.heatmap import difference_heatmap
from dedupe_gui.core.metadata import better, read_meta
from tests.gui.images import make_photo


def test_exif_orientation_camera_and_date_are_read(tmp_path):
    rgb = cv2.cvtColor(make_photo(3, 400, 300), cv2.COLOR_BGR2RGB)
    im = Image.fromarray(rgb)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90° CW
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 80D"
    exif.get_ifd(0x8769)[0x9003] = "2019:07:14 18:03:22"
    path = tmp_path / "cam.jpg"
    im.save(path, exif=exif, quality=90)
    plain = tmp_path / "plain.png"
    Image.fromarray(rgb).resize((200, 150)).save(plain)
    a, b = read_meta(str(path)), read_meta(str(plain))
    assert (a.width, a.height, a.orientation) == (300, 400, 6)  # as displayed
    assert a.camera == "Canon EOS 80D" and a.text("Taken") == "2019-07-14 18:03"
    assert a.text("Orientation") == "rotated 90° CW" and b.format == "PNG"
    marks = better(a, b)
    assert marks["Dimensions"] == "a" and marks["Taken"] == "a" and marks["Camera"] == "a"
    assert marks["Format"] == "b"  # lossless beats a JPEG re-encode
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a picture")
    assert read_meta(str(bad)).error


def test_heatmap_is_dark_where_same_and_hot_where_edited():
    img = cv2.cvtColor(make_photo(4, 640, 480), cv2.COLOR_BGR2RGB)
    ok, buf = cv2.imencode(".jpg", cv2.resize(img, (320, 240)), [cv2.IMWRITE_JPEG_QUALITY, 70])
    copy = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    edited = copy.copy()
    edited[20:80, 200:300] = 255  # a white patch, top right
    same = difference_heatmap(img, copy)
    diff = difference_heatmap(img, edited)
    assert same.shape == diff.shape == (384, 512, 3)
    grey = diff.mean(axis=2)
    inside = grey[int(30 * 1.6):int(70 * 1.6), int(210 * 1.6):int(290 * 1.6)].mean()
    outside = np.median(grey)
    assert inside > 4 * max(outside, 1.0)
