"""``dedupe reproject``: draw a world map in another projection, with a georeferencing sidecar.

Example: ``dedupe reproject earth.jpg earth_tm.png --to transverse-mercator --graticule 30``
writes ``earth_tm.png`` and ``earth_tm.png.json`` (projection, PROJ string, extent, size).
Negative values need the ``=`` form: ``--pole=-20,120``.
"""
from __future__ import annotations

import argparse
import sys
import time

HELP = "re-project a world map (equirectangular or Mercator) to another projection"
TARGETS = ("transverse-mercator", "oblique-mercator", "mercator", "equirectangular",
           "orthographic", "mollweide")


def _pair(text: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LAT,LON, got {text!r}") from None
    return a, b


def _size(text: str) -> tuple[int, int | None]:
    try:
        if "x" in text.lower():
            w, h = text.lower().split("x")
            return int(w), int(h)
        return int(text), None
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH or W, got {text!r}") from None


def _colour(text: str) -> tuple[int, int, int] | None:
    """'transparent', '#rrggbb' or 'R,G,B' -> BGR (OpenCV order) or None."""
    t = text.strip().lower()
    if t in ("transparent", "none"):
        return None
    try:
        if t.startswith("#") and len(t) == 7:
            r, g, b = (int(t[i:i + 2], 16) for i in (1, 3, 5))
        else:
            r, g, b = (int(v) for v in t.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected transparent, #rrggbb or R,G,B: {text!r}"
                                         ) from None
    if not all(0 <= v <= 255 for v in (r, g, b)):
        raise argparse.ArgumentTypeError(f"colour values must be 0-255: {text!r}")
    return b, g, r


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="IN", help="world map picture (covers -180..180 longitude)")
    p.add_argument("output", metavar="OUT", help="picture to write (.png, .jpg, .tif, .webp)")
    p.add_argument("--to", choices=TARGETS, default="transverse-mercator",
                   help="output projection (default: transverse-mercator)")
    p.add_argument("--from", dest="source", choices=("equirectangular", "mercator"),
                   help="input projection (default: guessed from the aspect, 2:1 or ~1:1)")
    p.add_argument("--src-lat-limit", type=float, metavar="DEG",
                   help="latitude where a Mercator input is cut (default: from its aspect)")
    p.add_argument("--pole", type=_pair, metavar="LAT,LON",
                   help="where the projection's north pole goes (oblique aspects; "
                        "oblique-mercator default 0,90)")
    p.add_argument("--center", type=_pair, metavar="LAT,LON",
                   help="orthographic: the globe's centre; others: LON is the central meridian")
    p.add_argument("--lat-limit", type=float, default=85.0, metavar="DEG",
                   help="where Mercator-like outputs are cut (default 85)")
    p.add_argument("--size", type=_size, metavar="WxH",
                   help="output size; W alone keeps square pixels (default: the input's scale)")
    p.add_argument("--interp", choices=("nearest", "linear", "cubic", "lanczos"),
                   default="linear", help="resampling (default: linear)")
    p.add_argument("--graticule", type=float, default=0.0, metavar="DEG",
                   help="draw meridians and parallels every DEG degrees (e.g. 15 or 30)")
    p.add_argument("--background", type=_colour, default=None, metavar="COLOUR",
                   help="outside the map: transparent (default; black for JPEG), #rrggbb or R,G,B")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="threads (default: one per core)")
    p.add_argument("--processes", action="store_true",
                   help="use a process pool with shared memory instead of threads")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dedupe_gui.core.mapfile import MapFileError, load_map, save_map, supports_alpha
    from dedupe_gui.core.projection import make_projection
    from dedupe_gui.core.reproject import RenderSpec, SourceGeometry, default_size
    from dedupe_gui.core.reproject_bands import render

    def fail(msg: str) -> int:
        print(f"dedupe reproject: error: {msg}", file=sys.stderr)
        return 2

    src_path, out_path = Path(args.input), Path(args.output)
    try:
        if out_path.resolve() == src_path.resolve():
            return fail("OUT is the input map; choose another name")
    except OSError:
        pass
    try:
        image = load_map(src_path)
        source = SourceGeometry.guess(image.shape[1], image.shape[0], args.source,
                                      args.src_lat_limit)
        proj = make_projection(args.to, pole=args.pole, center=args.center,
                               lat_limit=args.lat_limit)
        if args.size is None:
            w, h = default_size(proj, source)
        else:
            w, h = args.size
            if h is None:
                w, h = default_size(proj, source, w)
        background = args.background
        if background is None and not supports_alpha(out_path):
            background = (0, 0, 0)
        spec = RenderSpec(proj, source, w, h, interp=args.interp, background=background,
                          graticule=args.graticule)
    except (MapFileError, ValueError) as exc:
        return fail(str(exc))
    if out_path.exists() and not args.overwrite:
        return fail(f"{out_path} exists; pass --overwrite to replace it")

    last = [0.0]

    def progress(p) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0 or p.done == p.total:
            last[0] = now
            print(p.describe("rows"), file=sys.stderr)

    t0 = time.perf_counter()
    out = render(image, spec, workers=args.workers,
                 mode="processes" if args.processes else "threads", progress=progress)
    t1 = time.perf_counter()
    del image
    try:
        side = save_map(out_path, out, spec, overwrite=args.overwrite)
    except MapFileError as exc:
        return fail(str(exc))
    print(f"{source.kind} {source.width}x{source.height} -> {proj.describe()} {w}x{h} "
          f"in {t1 - t0:.2f} s (+{time.perf_counter() - t1:.2f} s writing); "
          f"wrote {out_path} and {side.name}")
    return 0
