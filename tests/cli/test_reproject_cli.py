"""``dedupe reproject`` end to end: real files in, picture and sidecar out."""
import json
import math
import subprocess
import sys

import cv2
import numpy as np
import pytest

from dedupe_gui.cli import main


@pytest.fixture
def world(tmp_path):
    """A 720x360 equirectangular map: a gradient with a white dot at 30N 60E."""
    img = np.zeros((360, 720, 3), np.uint8)
    img[:, :, 1] = np.linspace(0, 255, 720, dtype=np.uint8)[None, :]
    img[:, :, 2] = np.linspace(0, 255, 360, dtype=np.uint8)[:, None]
    cv2.circle(img, (round((60 + 180) * 2 - 0.5), round((90 - 30) * 2 - 0.5)), 3,
               (255, 255, 255), -1)
    path = tmp_path / "world.png"
    cv2.imwrite(str(path), img)
    return path


def test_transverse_mercator_with_sidecar(world, tmp_path, capsys):
    out = tmp_path / "tm.png"
    rc = main(["reproject", str(world), str(out), "--to", "transverse-mercator",
               "--size", "400x400", "--graticule", "30"])
    assert rc == 0, capsys.readouterr().err
    img = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert img.shape == (400, 400, 3)  # full globe source: every pixel has a source
    meta = json.loads((tmp_path / "tm.png.json").read_text())
    ym = math.asinh(math.tan(math.radians(85)))
    assert meta["projection"] == "transverse-mercator"
    assert meta["proj"] == "+proj=tmerc +lon_0=0 +R=1 +no_defs"
    assert meta["extent"] == pytest.approx([-ym, ym, -math.pi, math.pi])
    assert (meta["width"], meta["height"]) == (400, 400)
    # the white dot lands where the spherical transverse Mercator formulas put it
    lon, lat = math.radians(60), math.radians(30)
    x = math.atanh(math.cos(lat) * math.sin(lon))
    y = math.atan2(math.tan(lat), math.cos(lon))
    col = (x + ym) / (2 * ym) * 400 - 0.5
    row = (math.pi - y) / (2 * math.pi) * 400 - 0.5
    assert img[round(row), round(col)].min() > 200
    assert "wrote" in capsys.readouterr().out


def test_orthographic_transparent_png_and_refusals(world, tmp_path, capsys):
    out = tmp_path / "globe.png"
    assert main(["reproject", str(world), str(out), "--to", "orthographic",
                 "--center=-20,150", "--size", "200"]) == 0
    img = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert img.shape == (200, 200, 4) and img[0, 0, 3] == 0 and img[100, 100, 3] == 255
    meta = json.loads((tmp_path / "globe.png.json").read_text())
    assert meta["proj"] == "+proj=ortho +lat_0=-20 +lon_0=150 +R=1 +no_defs"
    before = out.read_bytes()
    assert main(["reproject", str(world), str(out), "--to", "mollweide"]) == 2
    assert "exists" in capsys.readouterr().err
    assert out.read_bytes() == before  # nothing changed without --overwrite
    assert main(["reproject", str(world), str(world)]) == 2
    assert main(["reproject", str(world), str(tmp_path / "x.png"), "--to",
                 "transverse-mercator", "--pole", "10,10"]) == 2
    assert "takes no pole" in capsys.readouterr().err
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    assert main(["reproject", str(bad), str(tmp_path / "y.png")]) == 2
    assert "decode" in capsys.readouterr().err
    assert not (tmp_path / "y.png").exists()


def test_mercator_input_jpeg_output_processes(world, tmp_path):
    # make a Mercator map from the equirectangular one, then go back to oblique Mercator
    merc = tmp_path / "merc.png"
    assert main(["reproject", str(world), str(merc), "--to", "mercator", "--size", "500"]) == 0
    assert cv2.imread(str(merc)).shape[:2] == (498, 500)  # square pixels, cut at 85 deg
    out = tmp_path / "ob.jpg"
    assert main(["reproject", str(merc), str(out), "--to", "oblique-mercator",
                 "--pole", "45,10", "--interp", "cubic", "--background", "#102030",
                 "--processes", "--workers", "2", "--size", "300x300"]) == 0
    img = cv2.imread(str(out))
    assert img.shape == (300, 300, 3)
    meta = json.loads((tmp_path / "ob.jpg.json").read_text())
    assert meta["proj"].startswith("+proj=ob_tran +o_proj=merc +o_lat_p=45 ")


def test_help_is_fast_and_lists_the_options():
    code = "import sys; from dedupe_gui.cli import main; sys.exit(main(['reproject', '--help']))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0
    for opt in ("--to", "--from", "--pole", "--center", "--lat-limit", "--size", "--interp",
                "--graticule"):
        assert opt in out.stdout
