"""Projection maths: round trips and agreement with PROJ (pyproj) on a sphere of radius 1."""
import math

import numpy as np
import pyproj
import pytest

from dedupe_gui.core.projection import Projection, make_projection

N = 12_000
GEO = pyproj.CRS.from_proj4("+proj=longlat +R=1 +no_defs")

# name, options: every projection in its normal aspect and in oblique/transverse aspects
CASES = [
    ("equirectangular", {}),
    ("equirectangular", {"center": (0, 100)}),
    ("equirectangular", {"pole": (30, 40), "lon_0": 10}),
    ("mercator", {}),
    ("mercator", {"center": (0, -35)}),
    ("oblique-mercator", {}),  # pole on the equator at 90E: the classic transverse picture
    ("oblique-mercator", {"pole": (45, -30), "lon_0": 20}),
    ("oblique-mercator", {"pole": (-20, 120)}),
    ("oblique-mercator", {"pole": (-90, 0)}),
    ("transverse-mercator", {}),
    ("transverse-mercator", {"center": (0, -75)}),
    ("orthographic", {"center": (0, 0)}),
    ("orthographic", {"center": (30, 20)}),
    ("orthographic", {"center": (-60, 150)}),
    ("orthographic", {"center": (90, 0)}),
    ("mollweide", {}),
    ("mollweide", {"pole": (10, 80), "lon_0": -30}),
]
IDS = [f"{n}-{'-'.join(f'{k}{v}' for k, v in o.items()) or 'normal'}" for n, o in CASES]


def sphere_points(n, seed, proj: Projection | None = None):
    """Uniform points on the sphere (only the visible hemisphere for a globe)."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-math.pi, math.pi, 4 * n)
    lat = np.arcsin(rng.uniform(-1, 1, 4 * n))
    if proj is not None and proj.name == "orthographic":
        x, _ = proj.forward(lon, lat)
        keep = np.isfinite(x)
        lon, lat = lon[keep], lat[keep]
    return lon[:n], lat[:n]


def angular_distance(lon1, lat1, lon2, lat2):
    v1 = np.stack([np.cos(lat1) * np.cos(lon1), np.cos(lat1) * np.sin(lon1), np.sin(lat1)])
    v2 = np.stack([np.cos(lat2) * np.cos(lon2), np.cos(lat2) * np.sin(lon2), np.sin(lat2)])
    chord = np.linalg.norm(v1 - v2, axis=0)
    return 2 * np.arcsin(np.minimum(1.0, chord / 2))


def usable(proj: Projection, lon, lat):
    """Points away from a projection's singular points (where x or y is infinite)."""
    x, y = proj.forward(lon, lat)
    return np.isfinite(x) & np.isfinite(y) & (np.abs(x) < 20) & (np.abs(y) < 20)


@pytest.mark.parametrize(("name", "opts"), CASES, ids=IDS)
def test_round_trip_below_1e9_rad(name, opts):
    proj = make_projection(name, **opts)
    lon, lat = sphere_points(N, 1, proj)
    keep = usable(proj, lon, lat)
    assert keep.sum() >= 10_000
    x, y = proj.forward(lon[keep], lat[keep])
    lon2, lat2 = proj.inverse(x, y)
    err = angular_distance(lon[keep], lat[keep], lon2, lat2)
    assert err.max() < 1e-9, err.max()


@pytest.mark.parametrize(("name", "opts"), CASES, ids=IDS)
def test_agrees_with_proj(name, opts):
    proj = make_projection(name, **opts)
    lon, lat = sphere_points(N, 2, proj)
    if name == "mollweide":
        # PROJ's Mollweide Newton loop stops at 1e-7 and is ~1e-5 off at the very pole;
        # the polar caps are checked against the closed-form solution below instead.
        rot_lon, rot_lat = proj.to_rotated(lon, lat)
        keep = np.abs(rot_lat) < math.radians(89.9)
        lon, lat = lon[keep], lat[keep]
    keep = usable(proj, lon, lat)
    lon, lat = lon[keep], lat[keep]
    assert len(lon) >= 10_000
    x, y = proj.forward(lon, lat)
    t = pyproj.Transformer.from_crs(GEO, pyproj.CRS.from_proj4(proj.proj), always_xy=True)
    px, py = t.transform(np.degrees(lon), np.degrees(lat))
    err = np.maximum(np.abs(x - np.asarray(px)), np.abs(y - np.asarray(py)))
    assert np.isfinite(err).all()
    assert err.max() < 1e-7, f"max error {err.max():.3g} for {proj.proj}"
    # and PROJ's inverse lands on our inverse
    ilon, ilat = proj.inverse(x, y)
    qlon, qlat = t.transform(px, py, direction="INVERSE")
    assert angular_distance(ilon, ilat, np.radians(qlon), np.radians(qlat)).max() < 1e-7


def test_mollweide_poles_are_exact():
    """Near the poles the Mollweide equation is solved to the closed form's precision."""
    proj = make_projection("mollweide")
    lat = np.radians(90 - np.logspace(-9, 0, 200))
    lon = np.full_like(lat, 2.5)
    x, y = proj.forward(lon, lat)
    # 2t + sin 2t = pi sin(lat); with u = pi - 2t: u - sin u = pi (1 - sin lat), which keeps
    # its digits at the pole. Reference: bisection with a Taylor series for u - sin u.
    delta = math.pi * 2 * np.sin((math.pi / 2 - lat) / 2) ** 2

    def u_minus_sin(u):
        terms = [(-1) ** k * u ** (2 * k + 3) / math.factorial(2 * k + 3) for k in range(12)]
        return np.where(u < 1, sum(terms), u - np.sin(u))

    lo, hi = np.zeros_like(lat), np.full_like(lat, math.pi)
    for _ in range(200):
        mid = (lo + hi) / 2
        big = u_minus_sin(mid) > delta
        hi, lo = np.where(big, mid, hi), np.where(big, lo, mid)
    u = (lo + hi) / 2
    assert np.abs(y - math.sqrt(2) * np.cos(u / 2)).max() < 1e-14
    assert np.abs(x - 2 * math.sqrt(2) / math.pi * 2.5 * np.sin(u / 2)).max() < 1e-14
    x, y = proj.forward(np.array([1.0, -3.0]), np.radians([90.0, -90.0]))
    assert np.allclose(x, 0, atol=1e-15) and np.allclose(np.abs(y), math.sqrt(2))


def test_transverse_inverse_does_not_fold_back():
    """Longitudes more than 90 deg from the central meridian come back on the right side."""
    proj = make_projection("transverse-mercator")
    lon = np.radians([100.0, 135.0, 170.0, -100.0, -170.0])
    lat = np.radians([10.0, -20.0, 45.0, 5.0, -60.0])
    lon2, lat2 = proj.inverse(*proj.forward(lon, lat))
    assert np.allclose(lon2, lon, atol=1e-12) and np.allclose(lat2, lat, atol=1e-12)


def test_pole_moves_continuously_from_normal_aspect():
    near = make_projection("mercator", pole=(89.999, 0.0))
    normal = make_projection("mercator")
    lon, lat = sphere_points(2000, 3)
    keep = np.abs(lat) < 1.4
    xn, yn = normal.forward(lon[keep], lat[keep])
    xo, yo = near.forward(lon[keep], lat[keep])
    assert np.abs(yo - yn).max() < 1e-3


def test_oblique_mercator_default_puts_poles_on_equator():
    proj = make_projection("oblique-mercator")
    assert proj.pole == (0.0, 90.0)
    x, y = proj.forward(np.array([0.0, 0.0, 0.0]), np.radians([0.0, 90.0, -90.0]))
    assert np.allclose([x[0], y[0]], 0, atol=1e-12)  # (0, 0) stays in the middle
    assert np.allclose(y[1:], 0, atol=1e-12)  # the old poles lie on the map's equator
    assert np.allclose(np.abs(x[1:]), math.pi / 2)


@pytest.mark.parametrize("bad", [
    {"name": "nonsense"},
    {"name": "mercator", "pole": (95.0, 0.0)},
    {"name": "transverse-mercator", "pole": (0.0, 90.0)},
    {"name": "mercator", "lat_limit": 90.0},
])
def test_bad_parameters_say_why(bad):
    with pytest.raises(ValueError):
        Projection(**bad)


def test_extents():
    assert make_projection("mollweide").extent() == pytest.approx(
        (-2 * math.sqrt(2), 2 * math.sqrt(2), -math.sqrt(2), math.sqrt(2)))
    ym = math.asinh(math.tan(math.radians(85)))
    assert make_projection("mercator").extent() == pytest.approx((-math.pi, math.pi, -ym, ym))
    assert make_projection("transverse-mercator").extent() == pytest.approx(
        (-ym, ym, -math.pi, math.pi))
