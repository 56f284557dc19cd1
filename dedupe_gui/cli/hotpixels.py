"""``dedupe hotpixels``: find a camera's hot, stuck and dead pixels from many of its photos."""
from __future__ import annotations

import argparse
import os
import sys

from dedupe_gui.cli._output import report_missing, write_text

HELP = "find hot, stuck and dead sensor pixels from many photos (or dark frames) of one camera"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="folders or picture files")
    p.add_argument("--json", metavar="OUT", help="write the result as JSON to OUT ('-' = stdout)")
    p.add_argument("--format", choices=("csv", "dcraw", "rawtherapee"),
                   help="also write the defects in this format (needs --out)")
    p.add_argument("--out", metavar="FILE", help="where --format writes ('-' = stdout)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes (default: one per core)")
    p.add_argument("--z", type=float, default=None, metavar="Z",
                   help="hot/dead threshold in robust z units (default 3)")
    p.add_argument("--support", type=float, default=None, metavar="F",
                   help="frames above minus frames below the neighbours (hot; dead: the "
                        "reverse), as a fraction of all frames (default 0.45)")




def run(args: argparse.Namespace) -> int:
    if report_missing("hotpixels", args.paths):
        return 2
    if args.format and not args.out:
        print("dedupe hotpixels: --format needs --out FILE", file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 1:
        print("dedupe hotpixels: --workers must be at least 1", file=sys.stderr)
        return 2

    from dataclasses import replace

    from dedupe_gui.cli.scan import _Reporter
    from dedupe_gui.core import hotpixels_export as export
    from dedupe_gui.core.hotpixels import HotPixelsFinished, RunOptions, Thresholds, find_hot_pixels
    from dedupe_gui.core.progress import Progress

    t = Thresholds()
    if args.z is not None:
        t = replace(t, z_hot=args.z, z_dead=args.z)
    if args.support is not None:
        t = replace(t, support=args.support)
    reporter = _Reporter()
    result = None
    try:
        for ev in find_hot_pixels([os.path.abspath(p) for p in args.paths],
                                  RunOptions(workers=args.workers, thresholds=t)):
            if isinstance(ev, Progress):
                reporter.progress(ev)
            elif isinstance(ev, HotPixelsFinished):
                result = ev.result
    finally:
        reporter.end()
    assert result is not None
    for path, reason in result.skipped:
        print(f"skipped: {path}: {reason}", file=sys.stderr)
    if result.note:
        print(f"dedupe hotpixels: {result.note}", file=sys.stderr)
    kinds = {k: sum(d.kind == k for d in result.defects) for k in ("hot", "stuck", "dead")}
    print(f"{result.camera or 'unknown camera'} {result.width}x{result.height}: "
          f"{result.frames} frames, {kinds['hot']} hot, {kinds['stuck']} stuck, "
          f"{kinds['dead']} dead ({result.seconds:.1f} s)", file=sys.stderr)
    if args.json:
        write_text(args.json, export.to_json(result) + "\n")
    if args.format:
        write_text(args.out, export.FORMATS[args.format](result))
    if not args.json and not args.format:
        for d in result.defects:
            print(f"{d.x}\t{d.y}\t{d.channel}\t{d.kind}\t{d.score:.1f}\t{d.frames}")
    return 0 if result.frames >= t.min_frames else 1
