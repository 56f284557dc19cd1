"""Rendering: pixels land where PROJ says, wrap, transparency, bands, tiles, sidecar."""
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pyproj
import pytest

from dedupe_gui.core import reproject
from dedupe_gui.core.mapfile import MapFileError, load_map, save_map, sidecar_path
from dedupe_gui.core.projection import make_projection
from dedupe_gui.core.reproject import RenderSpec, SourceGeometry, default_size
from dedupe_gui.core.reproject_bands import render

EARTH = Path("/usr/share/xplanet/images/earth.jpg")  # Debian xplanet-images (.ci/run installs it)
GEO = pyproj.CRS.from_proj4("+proj=longlat +R=1 +no_defs")

DOT_LONS = [-150, -100, -40, 0, 30, 75, 120, 170]
DOT_LATS = [-60, -30, 0, 20, 50, 70]
DOTS = [(lon, lat) for lon in DOT_LONS for lat in DOT_LATS]


def dot_colour(i):
    return (40 + 4 * i, 250 - 4 * i, 100 + (i % 7) * 20)


def dotted_map(src: SourceGeometry) -> np.ndarray:
    img = np.zeros((src.height, src.width, 3), np.uint8)
    cols, rows = src.to_pixels(np.radians([d[0] for d in DOTS]), np.radians([d[1] for d in DOTS]))
    for i, (c, r) in enumerate(zip(cols, rows, strict=True)):
        cv2.circle(img, (round(c * 16), round(r * 16)), 3 * 16, dot_colour(i), -1,
                   cv2.LINE_8, 4)
    return img


def proj_pixels(spec: RenderSpec, lon_deg, lat_deg):
    t = pyproj.Transformer.from_crs(GEO, pyproj.CRS.from_proj4(spec.projection.proj),
                                    always_xy=True)
    x, y = t.transform(np.asarray(lon_deg, float), np.asarray(lat_deg, float))
    side = spec.sidecar()
    xmin, xmax, ymin, ymax = side["extent"]
    # pixel (0, 0) is the top-left corner of the extent; centres at +0.5
    return ((np.asarray(x) - xmin) / (xmax - xmin) * side["width"] - 0.5,
            (ymax - np.asarray(y)) / (ymax - ymin) * side["height"] - 0.5)


RENDER_CASES = [
    ("transverse-mercator", {}),
    ("transverse-mercator", {"center": (0, 40)}),
    ("oblique-mercator", {}),
    ("oblique-mercator", {"pole": (45, -30), "lon_0": 20}),
    ("mercator", {"center": (0, 100)}),
    ("equirectangular", {"pole": (30, 40)}),
    ("orthographic", {"center": (30, 20)}),
    ("orthographic", {"center": (-50, 140)}),
    ("mollweide", {}),
    ("mollweide", {"pole": (10, 80), "lon_0": -30}),
]


@pytest.mark.parametrize("source_kind", ["equirectangular", "mercator"])
@pytest.mark.parametrize(("name", "opts"), RENDER_CASES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(RENDER_CASES)])
def test_dots_land_where_proj_says(name, opts, source_kind):
    src = (SourceGeometry("equirectangular", 720, 360) if source_kind == "equirectangular"
           else SourceGeometry.guess(720, 720))
    image = dotted_map(src)
    proj = make_projection(name, **opts)
    w, h = default_size(proj, src, 700)
    spec = RenderSpec(proj, src, w, h, interp="nearest", background=(0, 0, 0))
    out = render(image, spec, workers=2)
    assert out.shape[:2] == (h, w)
    ex, ey = proj_pixels(spec, [d[0] for d in DOTS], [d[1] for d in DOTS])
    # local stretch (output px per source px) by PROJ: a finite dot's centroid moves off its
    # centre where the map shears hard, so the 1 px check is for dots of moderate distortion
    lons, lats = np.array([d[0] for d in DOTS], float), np.array([d[1] for d in DOTS], float)
    step = 0.2
    np.seterr(invalid="ignore")
    jx = [proj_pixels(spec, lons + dl, lats + dp) for dl, dp in ((step, 0), (0, step))]
    xmin, xmax = spec.extent[:2]
    k0 = (w / (xmax - xmin)) / (src.width / (2 * math.pi))  # nominal output/source scale
    deg_px = k0 * src.width / 360  # source pixels per degree of longitude, at output scale
    lat_px = deg_px / (np.cos(np.radians(lats)) if src.kind == "mercator" else 1.0)
    s_lon = np.hypot(jx[0][0] - ex, jx[0][1] - ey) / (step * deg_px)
    s_lat = np.hypot(jx[1][0] - ex, jx[1][1] - ey) / (step * lat_px)
    area = np.abs((jx[0][0] - ex) * (jx[1][1] - ey) - (jx[0][1] - ey) * (jx[1][0] - ex)) / (
        step * step * deg_px * lat_px)
    moderate = (np.fmin(s_lon, s_lat) > 0.5) & (np.fmax(s_lon, s_lat) < 2.0) & (area > 0.4)
    o = out[:, :, :3].astype(np.int32)
    key = (o[:, :, 0] << 16) | (o[:, :, 1] << 8) | o[:, :, 2]
    checked = 0
    for i, (px, py) in enumerate(zip(ex, ey, strict=True)):
        if not (np.isfinite(px) and np.isfinite(py)) or not (12 < px < w - 12 and 12 < py < h - 12):
            continue
        if not moderate[i]:
            continue
        assert out[round(py), round(px), :3].tolist() == list(dot_colour(i)), DOTS[i]
        b, g, r = dot_colour(i)
        ys, xs = np.nonzero(key == (b << 16) | (g << 8) | r)
        if len(xs) < 6:  # squeezed to nothing at a globe's limb
            continue
        # only the blob around the expected place (a dot near a seam may appear twice)
        near = (np.abs(xs - px) < 40) & (np.abs(ys - py) < 40)
        assert near.any(), f"dot {DOTS[i]} missing near ({px:.1f}, {py:.1f})"
        cx, cy = xs[near].mean(), ys[near].mean()
        assert math.hypot(cx - px, cy - py) <= 1.0, (DOTS[i], cx, cy, px, py, s_lon[i], s_lat[i])
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize(("name", "opts"), RENDER_CASES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(RENDER_CASES)])
@pytest.mark.parametrize("source_kind", ["eqc", "merc"])
def test_every_pixel_samples_where_proj_says(name, opts, source_kind):
    """Source pixels carry their own (column, row); with nearest sampling every output pixel
    names the source pixel it took, which must be the one PROJ's inverse points at."""
    if source_kind == "eqc":
        src = SourceGeometry("equirectangular", 1440, 720)
    else:
        src = SourceGeometry.guess(1000, 1000)
    cols, rows = np.meshgrid(np.arange(src.width), np.arange(src.height))
    image = np.dstack([cols, rows, np.full_like(cols, 7)]).astype(np.uint16)
    proj = make_projection(name, **opts)
    w, h = default_size(proj, src, 360)
    spec = RenderSpec(proj, src, w, h, interp="nearest")
    out = render(image, spec, workers=2)
    valid = out[:, :, 2] == 7 if out.shape[2] == 3 else out[:, :, 3] > 0
    yy, xx = np.nonzero(valid)
    xmin, xmax, ymin, ymax = spec.sidecar()["extent"]
    x = xmin + (xx + 0.5) * (xmax - xmin) / w
    y = ymax - (yy + 0.5) * (ymax - ymin) / h
    to_geo = pyproj.Transformer.from_crs(pyproj.CRS.from_proj4(proj.proj), GEO, always_xy=True)
    lon, lat = to_geo.transform(x, y)
    src_crs = "+proj=eqc +R=1 +no_defs" if source_kind == "eqc" else "+proj=merc +R=1 +no_defs"
    sx, sy = pyproj.Transformer.from_crs(GEO, pyproj.CRS.from_proj4(src_crs),
                                         always_xy=True).transform(lon, lat)
    ylim = src.y_limit
    col = (np.asarray(sx) + math.pi) / (2 * math.pi) * src.width - 0.5
    row = (ylim - np.asarray(sy)) / (2 * ylim) * src.height - 0.5
    got_c = out[yy, xx, 0].astype(float)
    got_r = out[yy, xx, 1].astype(float)
    dc = np.abs(got_c - col)
    dc = np.minimum(dc, src.width - dc)  # across the date line
    assert len(yy) > 0.3 * w * h
    assert dc.max() <= 1.0 and np.abs(got_r - row).max() <= 1.0, (dc.max(), np.abs(got_r - row).max())
    if source_kind == "merc":  # and nothing beyond the Mercator source's latitude limit
        assert np.abs(lat).max() <= src.lat_limit + 0.2


def test_real_world_map_lands_where_proj_says():
    assert EARTH.exists(), "install Debian's xplanet-images (CI installs it in .ci/run)"
    image = load_map(EARTH)
    src = SourceGeometry.guess(image.shape[1], image.shape[0])
    assert (src.kind, src.width, src.height) == ("equirectangular", 2048, 1024)
    spec = RenderSpec(make_projection("transverse-mercator"), src, 2048, 2048,
                      graticule=0)
    out = render(image, spec, workers=2)
    rng = np.random.default_rng(5)
    lon = rng.uniform(-179, 179, 3000)
    lat = rng.uniform(-75, 75, 3000)
    ok = np.abs(np.cos(np.radians(lat)) * np.sin(np.radians(lon))) < 0.98  # not near poles
    lon, lat = lon[ok], lat[ok]
    ox, oy = proj_pixels(spec, lon, lat)
    sx, sy = src.to_pixels(np.radians(lon), np.radians(lat))

    def sample(img, x, y):
        return cv2.remap(img, x.astype(np.float32)[None], y.astype(np.float32)[None],
                         cv2.INTER_LINEAR)[0].astype(float)

    truth = sample(image, sx, sy)
    good = np.abs(sample(out, ox, oy) - truth).mean()
    # the same comparison one degree off: the map's texture must tell the difference
    sx2, sy2 = src.to_pixels(np.radians(lon + 1.0), np.radians(lat))
    off = np.abs(sample(image, sx2, sy2) - truth).mean()
    assert good < 4.0 and good < off / 3, (good, off)


def test_longitude_wraps_but_poles_do_not():
    src = SourceGeometry("equirectangular", 360, 180)
    image = np.zeros((180, 360, 3), np.uint8)
    image[:, 0] = image[:, -1] = 255  # the date line, on both edges
    image[0, 1:-1] = (0, 0, 255)  # top row red
    image[-1, 1:-1] = (255, 0, 0)  # bottom row blue
    # central meridian half a pixel east: the last output column samples across the seam
    spec = RenderSpec(make_projection("equirectangular", lon_0=0.5), src, 360, 180)
    out = render(image, spec, workers=1)
    assert out[90, 359].tolist() == [255, 255, 255]  # half col 359 + half col 0: both white
    assert out[90, 358].tolist() == [128, 128, 128]
    assert out[0, 100].tolist() == [0, 0, 255]  # top row stays red: no pole-to-pole wrap
    assert out[-1, 100].tolist() == [255, 0, 0]
    rolled = render(image, RenderSpec(make_projection("equirectangular", lon_0=180), src,
                                      360, 180), workers=1)
    assert np.abs(rolled.astype(int) - np.roll(image, 180, axis=1)).max() <= 1


def test_outside_the_domain_is_transparent_or_background():
    src = SourceGeometry("equirectangular", 720, 360)
    image = np.full((360, 720, 3), 200, np.uint8)
    spec = RenderSpec(make_projection("orthographic", center=(10, 10)), src, 301, 301)
    out = render(image, spec, workers=1)
    assert out.shape == (301, 301, 4)
    assert out[150, 150].tolist() == [200, 200, 200, 255]
    assert out[2, 2, 3] == 0 and out[298, 2, 3] == 0
    yy, xx = np.mgrid[:301, :301]
    r = np.hypot(xx - 150, yy - 150)
    assert (out[r < 148, 3] == 255).all() and (out[r > 152, 3] == 0).all()
    spec_bg = RenderSpec(spec.projection, src, 301, 301, background=(10, 20, 30))
    out_bg = render(image, spec_bg, workers=1)
    assert out_bg.shape == (301, 301, 3) and out_bg[2, 2].tolist() == [10, 20, 30]


def test_mercator_source_leaves_polar_caps_empty_in_transverse_output():
    src = SourceGeometry.guess(512, 512)
    assert src.kind == "mercator" and src.lat_limit == pytest.approx(85.05, abs=0.01)
    image = np.full((512, 512, 3), 90, np.uint8)
    spec = RenderSpec(make_projection("transverse-mercator"), src, 400, 400)
    out = render(image, spec, workers=2)
    # the north pole sits at x=0, y=pi/2 of the transverse map
    px, py = proj_pixels(spec, [0.0, 0.0, 45.0], [90.0, -90.0, 0.0])
    assert out[round(py[0]), round(px[0]), 3] == 0 and out[round(py[1]), round(px[1]), 3] == 0
    assert out[round(py[2]), round(px[2])].tolist() == [90, 90, 90, 255]


@pytest.mark.parametrize("interp", ["nearest", "linear", "cubic", "lanczos"])
def test_bands_threads_and_processes_give_the_same_picture(interp):
    src = SourceGeometry("equirectangular", 400, 200)
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 255, (200, 400, 3), np.uint8), (5, 5), 0)
    spec = RenderSpec(make_projection("mollweide", pole=(20, 30)), src, 333, 167,
                      interp=interp, graticule=30)
    one = render(image, spec, workers=1, band_rows=167)
    threads = render(image, spec, workers=2, band_rows=7)
    assert np.array_equal(one, threads)
    tiles = render(image, spec, workers=2, band_rows=11, tile_cols=37)  # strided tile views
    assert np.array_equal(one, tiles)
    if interp == "linear":
        procs = render(image, spec, workers=2, mode="processes", band_rows=16)
        assert np.array_equal(one, procs)


def test_progress_and_cancel():
    import threading

    src = SourceGeometry("equirectangular", 400, 200)
    image = np.zeros((200, 400, 3), np.uint8)
    spec = RenderSpec(make_projection("transverse-mercator"), src, 300, 300)
    seen = []
    assert render(image, spec, workers=2, band_rows=10, progress=seen.append) is not None
    assert seen[-1].done == seen[-1].total == 300
    cancel = threading.Event()
    cancel.set()
    assert render(image, spec, workers=2, band_rows=10, cancel=cancel) is None
    assert render(image, spec, workers=1, band_rows=10, cancel=cancel) is None
    assert render(image, spec, workers=2, mode="processes", cancel=cancel) is None


def test_sources_wider_than_cv2_allows_are_tiled():
    """cv2.remap refuses sides >= 32767 px: a 40000 px wide map still renders."""
    w = 40_000
    src = SourceGeometry("equirectangular", w, 24)
    ramp = (np.arange(w) * 250 // (w - 1)).astype(np.uint8)
    image = np.ascontiguousarray(np.broadcast_to(ramp, (24, w)))
    spec = RenderSpec(make_projection("equirectangular"), src, 500, 12, interp="linear")
    out = render(image, spec, workers=2)
    expected = ((np.arange(500) + 0.5) / 500 * w - 0.5) * 250 / (w - 1)
    assert np.abs(out[6].astype(float) - expected).max() <= 1.0


def test_forced_small_tiles_match_untiled(monkeypatch):
    src = SourceGeometry("equirectangular", 600, 300)
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (300, 600, 3), np.uint8)
    spec = RenderSpec(make_projection("oblique-mercator"), src, 320, 320, interp="cubic")
    whole = render(image, spec, workers=1)
    monkeypatch.setattr(reproject, "MAX_REMAP_SIDE", 150)
    tiled = render(image, spec, workers=1)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1


def test_graticule_lines_lie_on_projected_parallels():
    src = SourceGeometry("equirectangular", 720, 360)
    image = np.zeros((360, 720, 3), np.uint8)
    spec = RenderSpec(make_projection("oblique-mercator", pole=(40, 20)), src, 500, 500,
                      graticule=30, graticule_color=(0, 255, 0))
    out = render(image, spec, workers=2)
    lon = np.arange(-175, 176, 5.0)
    for lat in (-30.0, 0.0, 30.0, 60.0):
        px, py = proj_pixels(spec, lon, np.full_like(lon, lat))
        inside = (px > 2) & (px < 497) & (py > 2) & (py < 497)
        on_line = out[np.round(py[inside]).astype(int), np.round(px[inside]).astype(int), 1]
        assert (on_line > 100).mean() > 0.9
    assert (out[:, :, 1] > 0).mean() < 0.15  # lines, not paint


def test_sidecar_and_files(tmp_path):
    src = SourceGeometry("equirectangular", 200, 100)
    image = np.full((100, 200, 3), 77, np.uint8)
    spec = RenderSpec(make_projection("orthographic", center=(45, -30)), src, 120, 120)
    out = render(image, spec, workers=1)
    target = tmp_path / "globe.png"
    side = save_map(target, out, spec)
    assert side == sidecar_path(target) == tmp_path / "globe.png.json"
    meta = json.loads(side.read_text())
    assert meta == {"projection": "orthographic",
                    "proj": "+proj=ortho +lat_0=45 +lon_0=-30 +R=1 +no_defs",
                    "extent": [-1.0, 1.0, -1.0, 1.0], "width": 120, "height": 120}
    assert load_map(target).shape == (120, 120, 4)
    with pytest.raises(MapFileError, match="exists"):
        save_map(target, out, spec)
    save_map(tmp_path / "globe.jpg", out, spec)  # no alpha in JPEG: dropped, not an error
    assert load_map(tmp_path / "globe.jpg").shape == (120, 120, 3)
    (tmp_path / "junk.png").write_bytes(b"not a picture")
    with pytest.raises(MapFileError, match="decode"):
        load_map(tmp_path / "junk.png")
    with pytest.raises(MapFileError, match="cannot read"):
        load_map(tmp_path / "missing.png")


def test_source_guess():
    assert SourceGeometry.guess(2048, 1024).kind == "equirectangular"
    assert SourceGeometry.guess(2000, 1024).kind == "equirectangular"
    merc = SourceGeometry.guess(1000, 1000)
    assert merc.kind == "mercator" and merc.lat_limit == pytest.approx(85.0511, abs=1e-3)
    assert SourceGeometry.guess(2048, 1024, kind="mercator", lat_limit=85).lat_limit == 85
    with pytest.raises(ValueError, match="cannot tell"):
        SourceGeometry.guess(3000, 1000)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_grey_colour_and_alpha_sources(channels):
    src = SourceGeometry("equirectangular", 360, 180)
    shape = (180, 360) if channels == 1 else (180, 360, channels)
    image = np.full(shape, 120, np.uint8)
    if channels == 4:
        image[:, :180, 3] = 0  # the western hemisphere is transparent in the source
    spec = RenderSpec(make_projection("orthographic", center=(0, -90)), src, 101, 101)
    out = render(image, spec, workers=1)
    assert out.shape == (101, 101, 4)
    assert out[50, 50, :3].tolist() == [120, 120, 120]
    assert out[50, 50, 3] == (0 if channels == 4 else 255)  # the source's own alpha is kept
    assert out[0, 0, 3] == 0


def test_outputs_wider_than_cv2_allows_and_their_graticule():
    src = SourceGeometry("equirectangular", 720, 360)
    ramp = np.linspace(0, 250, 720).astype(np.uint8)
    image = np.ascontiguousarray(np.broadcast_to(ramp, (360, 720)))
    spec = RenderSpec(make_projection("equirectangular"), src, 33_000, 6, interp="nearest",
                      graticule=90, graticule_color=(255, 255, 255))
    out = render(image, spec, workers=2)
    assert out.shape == (6, 33_000)
    cols = np.array([10, 9000, 20000, 32990])
    expected = ramp[((cols + 0.5) / 33_000 * 720).astype(int)]
    assert np.array_equal(out[0, cols], expected)
    # the meridian at 90E is drawn even though it lies beyond column 32767
    assert out[3, 24_749:24_752].max() >= 200
