"""Map projections on the unit sphere: vectorised forward/inverse pairs with their extents.

A projection here is a *raw* projection in its normal aspect (equirectangular, Mercator,
transverse Mercator, orthographic centred on 0,0, Mollweide) composed with a rotation of the
sphere (the *aspect*). Moving the pole of a Mercator map onto the equator at 90E is the same
raw Mercator seen through a different rotation, so every projection gets every aspect for
free and the renderer only has to know one rotation matrix.

Everything is radians on a sphere of radius 1, matching PROJ's ``+R=1``; the ``proj``
property gives the equivalent PROJ string so any GIS tool can place an output. Functions
accept arrays of any shape and keep their dtype, so the same code serves float64 for the
accuracy tests and float32 for rendering.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

HALF_PI = math.pi / 2
SQRT2 = math.sqrt(2.0)
PROJECTIONS = ("equirectangular", "mercator", "transverse-mercator", "oblique-mercator",
               "orthographic", "mollweide")
OBLIQUE_CAPABLE = ("equirectangular", "mercator", "oblique-mercator", "mollweide")


# ---------------------------------------------------------------- rotations

def _rot_z(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _rot_y(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def lonlat_to_xyz(lon, lat):
    """Unit vectors for longitude/latitude (radians)."""
    cl = np.cos(lat)
    return cl * np.cos(lon), cl * np.sin(lon), np.sin(lat)


def xyz_to_lonlat(x, y, z):
    """Longitude/latitude of (not necessarily unit) vectors; atan2 keeps the poles exact."""
    return np.arctan2(y, x), np.arctan2(z, np.sqrt(x * x + y * y))


def wrap_lon(lon):
    """Longitude folded into [-pi, pi)."""
    return (lon + math.pi) % (2 * math.pi) - math.pi


def _apply(m: np.ndarray, x, y, z):
    return (m[0, 0] * x + m[0, 1] * y + m[0, 2] * z,
            m[1, 0] * x + m[1, 1] * y + m[1, 2] * z,
            m[2, 0] * x + m[2, 1] * y + m[2, 2] * z)


# ---------------------------------------------------------------- raw projections
# Each raw projection works on longitude/latitude of the *rotated* frame.
# ``grid`` returns unit vectors (X, Y, Z) of the rotated frame for an output grid given by its
# column coordinates xs (1-D) and row coordinates ys (1-D), as arrays broadcastable to
# (rows, cols), plus a validity mask or None. Whatever depends on one axis only is computed
# in float64 on the 1-D axis, so the 2-D work stays small and float32 stays accurate.

class _Raw:
    name = ""
    proj = ""

    def forward(self, lam, phi):  # pragma: no cover - interface
        raise NotImplementedError

    def inverse(self, x, y):  # pragma: no cover - interface
        raise NotImplementedError

    def grid(self, xs: np.ndarray, ys: np.ndarray, dtype):  # pragma: no cover - interface
        raise NotImplementedError

    def extent(self, lat_limit: float) -> tuple[float, float, float, float]:
        raise NotImplementedError  # pragma: no cover


def _vectors_from_rows(phi_rows: np.ndarray, lam_cols: np.ndarray, dtype):
    """Separable lon/lat grid -> vectors: 2 multiplies per pixel."""
    cp = np.cos(phi_rows)[:, None].astype(dtype)
    sp = np.sin(phi_rows)[:, None].astype(dtype)
    cl = np.cos(lam_cols)[None, :].astype(dtype)
    sl = np.sin(lam_cols)[None, :].astype(dtype)
    return cp * cl, cp * sl, sp


class _Eqc(_Raw):
    name, proj = "eqc", "eqc"

    def forward(self, lam, phi):
        return lam + 0.0 * phi, phi + 0.0 * lam

    def inverse(self, x, y):
        return x + 0.0 * y, y + 0.0 * x

    def grid(self, xs, ys, dtype):
        return (*_vectors_from_rows(ys, xs, dtype), None)

    def extent(self, lat_limit):
        return (-math.pi, math.pi, -HALF_PI, HALF_PI)


def merc_y(lat_limit_deg: float) -> float:
    """Mercator ordinate of a latitude in degrees: asinh(tan(lat))."""
    return math.asinh(math.tan(math.radians(lat_limit_deg)))


class _Merc(_Raw):
    name, proj = "merc", "merc"

    def forward(self, lam, phi):
        return lam + 0.0 * phi, np.arcsinh(np.tan(phi)) + 0.0 * lam

    def inverse(self, x, y):
        return x + 0.0 * y, np.arctan(np.sinh(y)) + 0.0 * x

    def grid(self, xs, ys, dtype):
        return (*_vectors_from_rows(np.arctan(np.sinh(ys)), xs, dtype), None)

    def extent(self, lat_limit):
        ym = merc_y(lat_limit)
        return (-math.pi, math.pi, -ym, ym)


class _Tmerc(_Raw):
    """Transverse Mercator on the sphere (central meridian 0), as PROJ's tmerc."""

    name, proj = "tmerc", "tmerc"

    def forward(self, lam, phi):
        cp = np.cos(phi)
        return np.arctanh(cp * np.sin(lam)), np.arctan2(np.sin(phi), cp * np.cos(lam))

    def inverse(self, x, y):
        sh, cy = np.sinh(x), np.cos(y)
        # atan2 in both: an arcsin/arctan form folds longitudes beyond 90 deg back (DESIGN 5)
        return np.arctan2(sh, cy), np.arctan2(np.sin(y), np.sqrt(sh * sh + cy * cy))

    def grid(self, xs, ys, dtype):
        sech = (1.0 / np.cosh(xs))[None, :].astype(dtype)
        th = np.tanh(xs)[None, :].astype(dtype)
        cy = np.cos(ys)[:, None].astype(dtype)
        sy = np.sin(ys)[:, None].astype(dtype)
        return cy * sech, th, sy * sech, None

    def extent(self, lat_limit):
        ym = merc_y(lat_limit)
        return (-ym, ym, -math.pi, math.pi)


class _Ortho(_Raw):
    """Orthographic centred on (0, 0); the far hemisphere has no image (NaN)."""

    name, proj = "ortho", "ortho"

    def forward(self, lam, phi):
        cp = np.cos(phi)
        x, y = cp * np.sin(lam), np.sin(phi) + 0.0 * lam
        hidden = cp * np.cos(lam) < 0
        return np.where(hidden, np.nan, x), np.where(hidden, np.nan, y)

    def inverse(self, x, y):
        r2 = x * x + y * y
        depth = np.sqrt(np.maximum(0.0, 1.0 - r2))
        lam, phi = np.arctan2(x, depth), np.arctan2(y, np.sqrt(x * x + depth * depth))
        bad = r2 > 1.0
        return np.where(bad, np.nan, lam), np.where(bad, np.nan, phi)

    def grid(self, xs, ys, dtype):
        # float64 here: depth = sqrt(1 - r^2) loses digits near the limb in float32
        x = xs[None, :]
        y = ys[:, None]
        r2 = x * x + y * y
        depth = np.sqrt(np.maximum(0.0, 1.0 - r2)).astype(dtype)
        return depth, x.astype(dtype), y.astype(dtype), r2 <= 1.0

    def extent(self, lat_limit):
        return (-1.0, 1.0, -1.0, 1.0)


def _u_minus_sin_u(u):
    """u - sin(u) without cancellation for small u (series below 0.5)."""
    u2 = u * u
    series = u * u2 / 6 * (1 - u2 / 20 * (1 - u2 / 42 * (1 - u2 / 72 * (
        1 - u2 / 110 * (1 - u2 / 156 * (1 - u2 / 210))))))
    return np.where(u < 0.5, series, u - np.sin(u))


class _Moll(_Raw):
    """Mollweide. Solved in u = pi - 2*theta, which is well conditioned at the poles."""

    name, proj = "moll", "moll"
    CX = 2 * SQRT2 / math.pi

    @staticmethod
    def _u_of_phi(phi):
        # pi*(1 - |sin phi|) = u - sin u, with 1 - |sin phi| = 2 sin^2(colat/2)
        colat = HALF_PI - np.abs(phi)
        delta = 2 * math.pi * np.sin(colat / 2) ** 2
        u = np.where(delta < 1.0, np.cbrt(6 * delta), math.pi - (math.pi - delta) / 2)
        for _ in range(8):
            f = _u_minus_sin_u(u) - delta
            d = 2 * np.sin(u / 2) ** 2
            step = np.where(d > 0, f / np.where(d > 0, d, 1.0), 0.0)
            u = np.clip(u - step, 0.0, math.pi)
            if not np.any(np.abs(step) > 1e-15 * np.maximum(u, 1e-300)):
                break  # converged everywhere (usually after 3-4 steps)
        return u

    def forward(self, lam, phi):
        u = self._u_of_phi(phi)
        return self.CX * lam * np.sin(u / 2), np.copysign(SQRT2 * np.cos(u / 2), phi)

    def _rows(self, y):
        s = np.minimum(np.abs(y) / SQRT2, 1.0)
        u = 2 * np.arctan2(np.sqrt((1 - s) * (1 + s)), s)
        colat = 2 * np.arcsin(np.sqrt(np.maximum(_u_minus_sin_u(u), 0.0) / (2 * math.pi)))
        return u, np.copysign(HALF_PI - colat, y)

    def inverse(self, x, y):
        u, phi = self._rows(y)
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = x / (self.CX * np.sin(u / 2))
        lam = np.where(np.abs(x) == 0, 0.0, lam)
        bad = (np.abs(y) > SQRT2) | (np.abs(lam) > math.pi)
        return np.where(bad, np.nan, lam), np.where(bad, np.nan, phi + 0.0 * x)

    def grid(self, xs, ys, dtype):
        u, phi = self._rows(ys)
        with np.errstate(divide="ignore"):
            inv = (1.0 / (self.CX * np.sin(u / 2)))[:, None].astype(dtype)
        lam = xs[None, :].astype(dtype) * inv
        cp = np.cos(phi)[:, None].astype(dtype)
        x, y, z = cp * np.cos(lam), cp * np.sin(lam), np.sin(phi)[:, None].astype(dtype)
        return x, y, z, np.abs(lam) <= np.float32(math.pi)

    def extent(self, lat_limit):
        return (-2 * SQRT2, 2 * SQRT2, -SQRT2, SQRT2)


RAW = {
    "equirectangular": _Eqc(),
    "mercator": _Merc(),
    "oblique-mercator": _Merc(),
    "transverse-mercator": _Tmerc(),
    "orthographic": _Ortho(),
    "mollweide": _Moll(),
}


# ---------------------------------------------------------------- the public projection

def _fmt(v: float) -> str:
    v = 0.0 if abs(v) < 1e-12 else v
    return f"{v:.12g}"


@dataclass(frozen=True)
class Projection:
    """A named projection with its aspect; degrees in the parameters, radians in the maths.

    ``pole``: where this projection's north pole sits on the globe (lat, lon); (90, 0) is the
    normal aspect. ``lon_0``: central meridian, counted in the rotated frame (the ordinary
    central meridian in the normal aspect). ``center``: the centre of an orthographic globe.
    ``lat_limit``: where Mercator-like maps are cut (degrees of the rotated frame).
    The rotation that moves the pole is the smallest one, so a pole slider moves the map
    continuously: pole (0, 90) keeps (0, 0) in the middle and puts the poles on the equator
    at 90E/90W (the classic "transverse" picture, seen sideways).
    """

    name: str
    pole: tuple[float, float] = (90.0, 0.0)
    lon_0: float = 0.0
    center: tuple[float, float] = (0.0, 0.0)
    lat_limit: float = 85.0

    def __post_init__(self) -> None:
        if self.name not in PROJECTIONS:
            raise ValueError(f"unknown projection {self.name!r}; one of {', '.join(PROJECTIONS)}")
        if not -90 <= self.pole[0] <= 90:
            raise ValueError(f"pole latitude {self.pole[0]} outside [-90, 90]")
        if not -90 <= self.center[0] <= 90:
            raise ValueError(f"centre latitude {self.center[0]} outside [-90, 90]")
        if not 1 <= self.lat_limit < 90:
            raise ValueError(f"latitude limit {self.lat_limit} outside [1, 90)")
        if self.pole != (90.0, 0.0) and self.name not in OBLIQUE_CAPABLE:
            raise ValueError(f"{self.name} takes no pole (use center / lon_0)")

    @property
    def raw(self) -> _Raw:
        return RAW[self.name]

    @property
    def oblique(self) -> bool:
        return self.name in OBLIQUE_CAPABLE and self.pole[0] != 90.0

    @cached_property
    def matrix(self) -> np.ndarray:
        """Rotation taking rotated-frame vectors to geographic ones (3x3, float64)."""
        if self.name == "orthographic":
            lat0, lon0 = (math.radians(v) for v in self.center)
            return _rot_z(lon0) @ _rot_y(-lat0)
        plat, plon = (math.radians(v) for v in self.pole)
        tilt = _rot_z(plon) @ _rot_y(HALF_PI - plat) @ _rot_z(-plon)
        return tilt @ _rot_z(math.radians(self.lon_0))

    @cached_property
    def z_rotation(self) -> float | None:
        """The angle when the aspect is a pure turn about the polar axis, else None."""
        m = self.matrix
        if abs(m[2, 2] - 1.0) < 1e-15 and abs(m[0, 2]) + abs(m[1, 2]) < 1e-15:
            return math.atan2(m[1, 0], m[0, 0])
        return None

    def extent(self) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) in projection units on the unit sphere."""
        return self.raw.extent(self.lat_limit)

    # ------------------------------------------------------------ maths
    def to_rotated(self, lon, lat):
        """Geographic -> rotated-frame longitude/latitude (radians)."""
        a = self.z_rotation
        if a is not None:
            return wrap_lon(lon - a), lat + 0.0 * lon
        return xyz_to_lonlat(*_apply(self.matrix.T, *lonlat_to_xyz(lon, lat)))

    def from_rotated(self, lam, phi):
        """Rotated-frame -> geographic longitude/latitude (radians)."""
        a = self.z_rotation
        if a is not None:
            return wrap_lon(lam + a), phi + 0.0 * lam
        return xyz_to_lonlat(*_apply(self.matrix, *lonlat_to_xyz(lam, phi)))

    def forward(self, lon, lat):
        """Longitude/latitude (radians) -> x, y (NaN where the projection has no image)."""
        return self.raw.forward(*self.to_rotated(np.asarray(lon), np.asarray(lat)))

    def inverse(self, x, y):
        """x, y -> longitude/latitude (radians); NaN outside the projection's domain."""
        lam, phi = self.raw.inverse(np.asarray(x), np.asarray(y))
        return self.from_rotated(lam, phi)

    # ------------------------------------------------------------ PROJ
    def _ob_tran(self) -> str:
        plat, plon = self.pole
        proj_lon0 = math.radians(plon + 180.0)
        sp, cp = math.sin(math.radians(plat)), math.cos(math.radians(plat))
        # PROJ's rotated longitude (Snyder 5-8b) of the map centre, with o_lon_p = 0; the
        # difference to ours (0 at the centre) is o_lon_p.
        q = self.matrix @ np.array([1.0, 0.0, 0.0])
        lon, lat = math.atan2(q[1], q[0]), math.asin(max(-1.0, min(1.0, q[2])))
        dl = lon - proj_lon0
        lam_p = math.atan2(math.cos(lat) * math.sin(dl),
                           sp * math.cos(lat) * math.cos(dl) + cp * math.sin(lat))
        o_lon_p = math.degrees(wrap_lon(-lam_p))
        lon0 = math.degrees(wrap_lon(proj_lon0))
        return (f"+proj=ob_tran +o_proj={self.raw.proj} +o_lat_p={_fmt(plat)} "
                f"+o_lon_p={_fmt(o_lon_p)} +lon_0={_fmt(lon0)} +R=1 +no_defs")

    @property
    def proj(self) -> str:
        """The equivalent PROJ string (sphere of radius 1)."""
        if self.name == "orthographic":
            lat0, lon0 = self.center
            return f"+proj=ortho +lat_0={_fmt(lat0)} +lon_0={_fmt(lon0)} +R=1 +no_defs"
        if self.oblique:
            return self._ob_tran()
        return f"+proj={self.raw.proj} +lon_0={_fmt(self.lon_0)} +R=1 +no_defs"

    def describe(self) -> str:
        """A short human label for status bars and file names."""
        if self.name == "orthographic":
            return f"orthographic centred on {self.center[0]:g}, {self.center[1]:g}"
        text = self.name
        if self.oblique:
            text += f", pole at {self.pole[0]:g}, {self.pole[1]:g}"
        if self.lon_0:
            text += f", central meridian {self.lon_0:g}"
        return text


def make_projection(name: str, *, pole: tuple[float, float] | None = None,
                    center: tuple[float, float] | None = None, lon_0: float | None = None,
                    lat_limit: float = 85.0) -> Projection:
    """Build a projection from user-level options (what the CLI and the panel offer).

    ``oblique-mercator`` defaults to the pole on the equator at 90E; ``center`` gives an
    orthographic globe's centre, and for the others its longitude is the central meridian.
    """
    if pole is None:
        pole = (0.0, 90.0) if name == "oblique-mercator" else (90.0, 0.0)
    c = center or (0.0, 0.0)
    if lon_0 is None:
        lon_0 = c[1] if name != "orthographic" else 0.0
    if name == "orthographic":
        return Projection(name, center=(float(c[0]), float(c[1])))
    return Projection(name, pole=(float(pole[0]), float(pole[1])), lon_0=float(lon_0),
                      lat_limit=float(lat_limit))
