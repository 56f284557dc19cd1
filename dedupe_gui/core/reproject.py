"""Drawing a world map in another projection: inverse maps in float32, sampled by cv2.remap.

For every output pixel: pixel -> projection x, y -> rotated-frame unit vector -> geographic
longitude/latitude -> source pixel. What depends on one axis only is computed once per row
or column (in float64), so the per-pixel work is a few float32 multiplies, two arctan2 and
one sqrt; a band of rows at a time keeps those temporaries in cache (DESIGN.md 5).

Longitude wraps by padding the source with a few wrapped columns (``BORDER_WRAP`` would also
wrap pole to pole) and replicated rows; pixels outside the projection's domain (the back of
a globe, outside Mollweide's ellipse, the polar caps a Mercator source lacks) get the
background, or alpha 0. ``cv2.remap`` refuses images with a side of 32767 px or more, so
bigger sources are sampled tile by tile and bigger outputs block by block.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from dedupe_gui.core.projection import RAW, Projection, merc_y

INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
}
_PAD = {"nearest": 2, "linear": 2, "cubic": 3, "lanczos": 5}  # source margin the kernel reads
SOURCE_KINDS = ("equirectangular", "mercator")
MAX_REMAP_SIDE = 32766  # cv2.remap asserts every side < SHRT_MAX (32767)
_OFF = -32000.0  # a map coordinate that lands outside any source: background
GUESS_TOLERANCE = 0.05


# ---------------------------------------------------------------- the source raster

@dataclass(frozen=True)
class SourceGeometry:
    """Where the pixels of an input world map sit: full longitude range, -180 at the left.

    ``equirectangular``: rows linear in latitude from +90 to -90.
    ``mercator``: rows linear in Mercator ordinate between +-``lat_limit``.
    """

    kind: str
    width: int
    height: int
    lat_limit: float = 90.0

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"unknown source projection {self.kind!r}; "
                             f"one of {', '.join(SOURCE_KINDS)}")
        if self.width < 2 or self.height < 2:
            raise ValueError(f"map too small: {self.width}x{self.height}")
        if self.kind == "mercator" and not 1 <= self.lat_limit < 90:
            raise ValueError(f"Mercator latitude limit {self.lat_limit} outside [1, 90)")

    @classmethod
    def guess(cls, width: int, height: int, kind: str | None = None,
              lat_limit: float | None = None) -> SourceGeometry:
        """Equirectangular maps are 2:1; a square-pixel Mercator world map is about 1:1
        (its latitude limit follows from the aspect). ``kind``/``lat_limit`` override."""
        aspect = width / height
        if kind is None:
            if abs(aspect - 2.0) <= 2.0 * GUESS_TOLERANCE:
                kind = "equirectangular"
            elif 0.75 <= aspect <= 1.6:
                kind = "mercator"
            else:
                raise ValueError(
                    f"cannot tell the projection of a {width}x{height} map (aspect "
                    f"{aspect:.3f}): world maps are 2:1 (equirectangular) or about 1:1 "
                    "(Mercator); say which")
        if kind == "mercator":
            if lat_limit is None:  # square pixels: 2*Y/H == 2*pi/W
                lat_limit = math.degrees(math.atan(math.sinh(math.pi * height / width)))
            return cls(kind, width, height, float(lat_limit))
        return cls(kind, width, height)

    @property
    def y_limit(self) -> float:
        return merc_y(self.lat_limit) if self.kind == "mercator" else math.pi / 2

    def to_pixels(self, lon, lat):
        """Pixel coordinates (column, row; centres at integers) of lon/lat in radians."""
        col = (np.asarray(lon) + math.pi) * (self.width / (2 * math.pi)) - 0.5
        if self.kind == "mercator":
            v = np.arcsinh(np.tan(lat))
        else:
            v = np.asarray(lat)
        row = (self.y_limit - v) * (self.height / (2 * self.y_limit)) - 0.5
        return col, row


# ---------------------------------------------------------------- what to draw

@dataclass(frozen=True)
class RenderSpec:
    """Everything a band worker needs: small and picklable."""

    projection: Projection
    source: SourceGeometry
    width: int
    height: int
    interp: str = "linear"
    background: tuple[int, ...] | None = None  # None: transparent (alpha channel)
    graticule: float = 0.0  # line spacing in degrees; 0 = none
    graticule_color: tuple[int, int, int] = (235, 235, 235)
    lines: tuple = field(default=(), compare=False, repr=False)  # filled by with_lines()

    def __post_init__(self) -> None:
        if self.interp not in INTERPOLATIONS:
            raise ValueError(f"unknown interpolation {self.interp!r}; "
                             f"one of {', '.join(INTERPOLATIONS)}")
        if self.width < 1 or self.height < 1:
            raise ValueError(f"bad output size {self.width}x{self.height}")
        if self.graticule and not 1 <= self.graticule <= 90:
            raise ValueError(f"graticule spacing {self.graticule} outside [1, 90] degrees")

    @property
    def extent(self) -> tuple[float, float, float, float]:
        return self.projection.extent()

    @property
    def pad(self) -> int:
        return _PAD[self.interp]

    @property
    def may_be_empty(self) -> bool:
        """Can some output pixel have no source? (decides the alpha channel)"""
        if self.projection.name in ("orthographic", "mollweide"):
            return True
        return self.source.kind == "mercator"

    @property
    def transparent(self) -> bool:
        return self.background is None and self.may_be_empty

    def col_axis(self, c0: int = 0, c1: int | None = None) -> np.ndarray:
        """Projection x of pixel-centre columns c0..c1 (pixel 0's left edge is xmin)."""
        xmin, xmax, _, _ = self.extent
        c = np.arange(c0, self.width if c1 is None else c1, dtype=np.float64)
        return xmin + (c + 0.5) * ((xmax - xmin) / self.width)

    def row_axis(self, r0: int = 0, r1: int | None = None) -> np.ndarray:
        """Projection y of pixel-centre rows r0..r1 (row 0 is at the top, ymax)."""
        _, _, ymin, ymax = self.extent
        r = np.arange(r0, self.height if r1 is None else r1, dtype=np.float64)
        return ymax - (r + 0.5) * ((ymax - ymin) / self.height)

    def to_output_pixels(self, x, y):
        """Projection x, y -> output pixel coordinates (centres at integers)."""
        xmin, xmax, ymin, ymax = self.extent
        return ((np.asarray(x) - xmin) * (self.width / (xmax - xmin)) - 0.5,
                (ymax - np.asarray(y)) * (self.height / (ymax - ymin)) - 0.5)

    def with_lines(self) -> RenderSpec:
        """A copy carrying the graticule polylines (computed once, not per band)."""
        from dataclasses import replace

        from dedupe_gui.core.graticule import graticule_polylines

        if not self.graticule:
            return self
        return replace(self, lines=tuple(graticule_polylines(self)))

    def sidecar(self) -> dict:
        """The OUT.json record that lets a GIS tool place the output."""
        return {
            "projection": self.projection.name,
            "proj": self.projection.proj,
            "extent": [float(v) for v in self.extent],
            "width": int(self.width),
            "height": int(self.height),
        }


def default_size(projection: Projection, source: SourceGeometry,
                 width: int | None = None) -> tuple[int, int]:
    """Square output pixels at the source's scale on the equator (or the given width)."""
    xmin, xmax, ymin, ymax = projection.extent()
    if width is None:
        width = max(1, round(source.width * (xmax - xmin) / (2 * math.pi)))
    return int(width), max(1, round(width * (ymax - ymin) / (xmax - xmin)))


# ---------------------------------------------------------------- source preparation

def out_channels(spec: RenderSpec, src_channels: int) -> int:
    """Channels of the output for a source with this many channels."""
    if spec.transparent:
        return 4 if src_channels != 2 else 2
    return src_channels


def padded_shape(spec: RenderSpec, image_shape: tuple[int, ...]) -> tuple[int, ...]:
    h, w = image_shape[:2]
    src_c = 1 if len(image_shape) == 2 else image_shape[2]
    c = out_channels(spec, src_c)
    p = spec.pad
    return (h + 2 * p, w + 2 * p) if c == 1 else (h + 2 * p, w + 2 * p, c)


def pad_source(image: np.ndarray, spec: RenderSpec, out: np.ndarray | None = None
               ) -> np.ndarray:
    """The source with wrapped columns left/right and replicated rows top/bottom, with an
    opaque alpha channel added when the output is transparent. One copy, into ``out`` if
    given (a shared-memory buffer)."""
    if image.shape[0] != spec.source.height or image.shape[1] != spec.source.width:
        raise ValueError("image size does not match its source geometry")
    shape = padded_shape(spec, image.shape)
    if out is None:
        out = np.empty(shape, image.dtype)
    p = spec.pad
    h, w = image.shape[:2]
    img = image if image.ndim == 3 else image[:, :, None]
    dst = out if out.ndim == 3 else out[:, :, None]
    c_in, c_out = img.shape[2], dst.shape[2]
    body = dst[p:p + h]
    if c_out > c_in:  # add an opaque alpha (grey -> BGRA); cv2 writes into the strided view
        code = {1: cv2.COLOR_GRAY2BGRA, 3: cv2.COLOR_BGR2BGRA}[c_in]
        view = body[:, p:p + w]
        res = cv2.cvtColor(image, code, dst=view)
        if res is not view and not np.shares_memory(res, view):
            view[...] = res
    else:
        body[:, p:p + w] = img
    body[:, :p] = body[:, w:w + p]  # wrap: left pad = last columns
    body[:, p + w:] = body[:, p:2 * p]  # right pad = first columns
    dst[:p] = dst[p]
    dst[p + h:] = dst[p + h - 1]
    return out


# ---------------------------------------------------------------- inverse maps

def _normal_lonlat(name: str, xs: np.ndarray, ys: np.ndarray):
    """Longitude/latitude (float32, broadcastable) of a normal-aspect grid, fewest ops."""
    f32 = np.float32
    if name in ("eqc", "merc"):
        lat = ys if name == "eqc" else np.arctan(np.sinh(ys))
        return xs[None, :].astype(f32), lat[:, None].astype(f32), None
    if name == "tmerc":
        sh = np.sinh(xs)[None, :].astype(f32)
        cy = np.cos(ys)[:, None].astype(f32)
        sy = np.sin(ys)[:, None].astype(f32)
        lon = np.arctan2(sh, cy)
        t = sh * sh + cy * cy
        np.sqrt(t, out=t)
        return lon, np.arctan2(sy, t, out=t), None
    # moll: latitude per row, longitude = x / (CX cos theta)
    raw = RAW["mollweide"]
    u, phi = raw._rows(ys)
    with np.errstate(divide="ignore"):
        inv = (1.0 / (raw.CX * np.sin(u / 2)))[:, None].astype(f32)
    lon = xs[None, :].astype(f32) * inv
    return lon, phi[:, None].astype(f32), np.abs(lon) <= f32(math.pi)


def _rotated_vectors(proj: Projection, xs: np.ndarray, ys: np.ndarray):
    """Geographic unit vectors (X, Y, Z) of an oblique grid, float32 2-D each."""
    f32 = np.float32
    m = proj.matrix
    name = proj.raw.proj
    if name in ("eqc", "merc"):
        # separable: component k = cos(phi)[r] * (m_k0 cos(lam) + m_k1 sin(lam))[c]
        #                          + m_k2 sin(phi)[r]   -> two ops per pixel
        phi = ys if name == "eqc" else np.arctan(np.sinh(ys))
        cp = np.cos(phi)[:, None].astype(f32)
        sp = np.sin(phi)
        cl, sl = np.cos(xs), np.sin(xs)
        out = []
        for k in range(3):
            a = cp * (m[k, 0] * cl + m[k, 1] * sl)[None, :].astype(f32)
            a += (m[k, 2] * sp)[:, None].astype(f32)
            out.append(a)
        return (*out, None)
    if name == "ortho":
        # X' = depth, Y' = x (per column), Z' = y (per row): component k =
        # m_k0 * depth + (m_k1 x)[c] + (m_k2 y)[r]. float32 depth is ample: at one output
        # pixel from the limb of a 20000 px globe its error is ~4e-6 rad.
        depth = (1.0 - xs * xs)[None, :].astype(f32) - (ys * ys)[:, None].astype(f32)
        valid = depth >= 0
        np.maximum(depth, 0, out=depth)
        np.sqrt(depth, out=depth)
        out = []
        for k in range(3):
            a = depth * f32(m[k, 0])
            a += (m[k, 1] * xs)[None, :].astype(f32)
            a += (m[k, 2] * ys)[:, None].astype(f32)
            out.append(a)
        return (*out, valid)
    x, y, z, valid = proj.raw.grid(xs, ys, f32)
    m = m.astype(f32)
    return (m[0, 0] * x + m[0, 1] * y + m[0, 2] * z,
            m[1, 0] * x + m[1, 1] * y + m[1, 2] * z,
            m[2, 0] * x + m[2, 1] * y + m[2, 2] * z, valid)


def inverse_maps(spec: RenderSpec, r0: int, r1: int, c0: int = 0, c1: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """float32 (map_x, map_y) into the padded source for output rows r0..r1, cols c0..c1."""
    proj, src, p = spec.projection, spec.source, spec.pad
    xs, ys = spec.col_axis(c0, c1), spec.row_axis(r0, r1)
    f32 = np.float32
    shape = (len(ys), len(xs))
    shift = proj.z_rotation
    w, h = src.width, src.height
    merc_src = src.kind == "mercator"
    if shift is not None and proj.raw.proj in ("eqc", "merc", "tmerc", "moll"):
        lon, lat, valid = _normal_lonlat(proj.raw.proj, xs, ys)
        v = np.arcsinh(np.tan(lat)) if merc_src else lat
    else:
        x, y, z, valid = _rotated_vectors(proj, xs, ys)
        shift = 0.0
        lon = np.arctan2(y, x)
        rho = x * x
        rho += y * y
        np.sqrt(rho, out=rho)
        if merc_src:
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.arcsinh(np.divide(z, rho, out=rho), out=rho)
        else:
            v = np.arctan2(z, rho, out=rho)
    # column: lon in [-pi, pi] -> [-0.5, w - 0.5] (+ pad); the z rotation folds into the offset
    sx = w / (2 * math.pi)
    mapx = lon * f32(sx)
    mapx += f32(w / 2 - 0.5 + p + shift * sx)
    if shift:
        lo = p - 0.5
        np.subtract(mapx, f32(w), out=mapx, where=mapx >= lo + w)
        np.add(mapx, f32(w), out=mapx, where=mapx < lo)
    ylim = src.y_limit
    if merc_src:
        inside = np.abs(v) <= f32(ylim * (1 + 0.5 / h))  # half a pixel past the edge row
        valid = inside if valid is None else valid & inside
    mapy = v * f32(-h / (2 * ylim))
    mapy += f32(h / 2 - 0.5 + p)
    if mapx.shape != shape:
        mapx = np.ascontiguousarray(np.broadcast_to(mapx, shape))
    if mapy.shape != shape:
        mapy = np.ascontiguousarray(np.broadcast_to(mapy, shape))
    if valid is not None:
        bad = ~np.broadcast_to(valid, shape)
        off = np.float32(_OFF)
        np.copyto(mapx, off, where=bad)  # much faster than boolean-index assignment
        np.copyto(mapy, off, where=bad)
    return mapx, mapy


# ---------------------------------------------------------------- sampling

def _border(spec: RenderSpec, channels: int) -> tuple:
    if spec.background is None:
        return (0, 0, 0, 0)
    bg = tuple(spec.background) + (255,) * 4
    return bg[:channels] if channels > 1 else (bg[0],)


def remap_into(src: np.ndarray, mapx: np.ndarray, mapy: np.ndarray, dst: np.ndarray,
               interp: int, border: tuple, max_side: int | None = None) -> None:
    """cv2.remap into ``dst``; sources with a side past cv2's limit go tile by tile."""
    limit = MAX_REMAP_SIDE if max_side is None else max_side
    h, w = src.shape[:2]
    if h <= limit and w <= limit:
        # cv2 writes straight into a strided view (a tile of the output) when it fits
        res = cv2.remap(src, mapx, mapy, interp, dst=dst,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=border)
        if res is not dst and not np.shares_memory(res, dst):
            dst[...] = res.reshape(dst.shape)
        return
    margin = 8
    step = limit - 2 * margin
    dst[...] = np.asarray(border[:dst.shape[2] if dst.ndim == 3 else 1], dst.dtype)
    ok = (mapx > -margin) & (mapy > -margin)
    tx = np.where(ok, mapx // step, -1).astype(np.int32)
    ty = np.where(ok, mapy // step, -1).astype(np.int32)
    for j, i in set(zip(ty[ok].tolist(), tx[ok].tolist(), strict=True)):
        y0, x0 = max(0, j * step - margin), max(0, i * step - margin)
        tile = src[y0:min(h, (j + 1) * step + margin), x0:min(w, (i + 1) * step + margin)]
        mine = ok & (tx == i) & (ty == j)
        mx = np.where(mine, mapx - np.float32(x0), _OFF).astype(np.float32)
        my = np.where(mine, mapy - np.float32(y0), _OFF).astype(np.float32)
        part = cv2.remap(tile, mx, my, interp, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=border).reshape(dst.shape)
        np.copyto(dst, part, where=mine if dst.ndim == 2 else mine[:, :, None])


def render_block(spec: RenderSpec, src: np.ndarray, dst: np.ndarray, r0: int, r1: int,
                 c0: int = 0, c1: int | None = None) -> None:
    """Draw output rows r0..r1 (cols c0..c1) into ``dst`` (that block's own array)."""
    mapx, mapy = inverse_maps(spec, r0, r1, c0, c1)
    channels = dst.shape[2] if dst.ndim == 3 else 1
    remap_into(src, mapx, mapy, dst, INTERPOLATIONS[spec.interp], _border(spec, channels))
