"""``dedupe scan``: find duplicate pictures from the command line (JSON/CSV for scripts)."""
from __future__ import annotations

import argparse
import os
import sys
import time

from dedupe_gui.cli._output import report_missing, write_text

HELP = "find duplicate and near-duplicate pictures under folders"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="folders or picture files")
    p.add_argument("--threshold", type=float, default=None, metavar="T",
                   help="report pairs with a score >= T (0-100; default: the engine's)")
    p.add_argument("--json", metavar="OUT", help="write the result as JSON to OUT ('-' = stdout)")
    p.add_argument("--csv", metavar="OUT", help="write the pairs as CSV to OUT ('-' = stdout)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes (default: one per core)")
    cache = p.add_mutually_exclusive_group()
    cache.add_argument("--cache", metavar="PATH", help="fingerprint cache file to use")
    cache.add_argument("--no-cache", action="store_true", help="use no fingerprint cache")
    p.add_argument("--mirror", action="store_true", help="also find mirrored copies")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="skip files and folders matching GLOB (name or full path); repeatable")
    p.add_argument("--include-hidden", action="store_true",
                   help="also scan hidden files and folders (names starting with a dot)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="fingerprint on a Dask cluster (tcp://HOST:PORT of its scheduler); "
                        "workers must see the same paths (shared storage)")


class _Reporter:
    """Progress on stderr: a redrawn bar on a terminal, an occasional plain line otherwise."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last = 0.0
        self.drawn = False

    def progress(self, p) -> None:
        now = time.monotonic()
        if self.tty:
            width = 30
            filled = int(width * p.fraction)
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {p.describe()}\x1b[K")
            self.stream.flush()
            self.drawn = True
        elif now - self.last >= 5.0 or p.done == p.total:
            self.stream.write(p.describe() + "\n")
            self.stream.flush()
            self.last = now

    def line(self, text: str) -> None:
        self.end()
        self.stream.write(text + "\n")

    def end(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


def result_dict(result, threshold: float) -> dict:
    """The JSON document: absolute paths, pairs >= threshold best first, groups, skipped."""
    from dedupe_gui.core.grouping import groups_at

    paths = [f.path for f in result.files]
    k = result.pairs.count_at(threshold)
    t = result.pairs
    pairs = [{"a": paths[a], "b": paths[b], "score": round(float(s), 2), "distance": int(d)}
             for a, b, s, d in zip(t.a[:k].tolist(), t.b[:k].tolist(), t.score[:k].tolist(),
                                   t.distance[:k].tolist(), strict=True)]
    return {
        "files": len(result.files),
        "seconds": round(result.seconds, 3),
        "pairs": pairs,
        "groups": groups_at(result.pairs, paths, threshold),
        "skipped": [{"path": p, "reason": r} for p, r in result.skipped],
    }




def _csv_text(doc: dict) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["a", "b", "score", "distance"])
    for p in doc["pairs"]:
        w.writerow([p["a"], p["b"], p["score"], p["distance"]])
    return buf.getvalue()


def run(args: argparse.Namespace) -> int:
    if report_missing("scan", args.paths):
        return 2
    if args.threshold is not None and not 0 <= args.threshold <= 100:
        print("dedupe scan: --threshold must be between 0 and 100", file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 1:
        print("dedupe scan: --workers must be at least 1", file=sys.stderr)
        return 2

    from dedupe_gui.core.cache import CacheError
    from dedupe_gui.core.progress import Progress
    from dedupe_gui.core.results import LARGE_LIBRARY_NOTE, ScanFinished, ScanStarted
    from dedupe_gui.core.scan import ScanOptions, scan

    options = ScanOptions(threshold=args.threshold, mirror=args.mirror, workers=args.workers,
                          cache_path=args.cache, use_cache=not args.no_cache,
                          excludes=tuple(args.exclude), include_hidden=args.include_hidden)
    reporter = _Reporter()
    result = None
    roots = [os.path.abspath(p) for p in args.paths]
    cluster = None
    if args.cluster:
        from dedupe_gui.core.cluster import ClusterError, connect

        try:
            cluster = connect(args.cluster)
            cluster.check_paths(roots)
        except ClusterError as exc:
            if cluster is not None:
                cluster.close()
            print(f"dedupe scan: {exc}", file=sys.stderr)
            return 2
        options.max_in_flight = options.max_in_flight or 2 * cluster.threads
    try:
        for event in scan(roots, options, executor=cluster and cluster.executor):
            if isinstance(event, Progress):
                reporter.progress(event)
            elif isinstance(event, ScanStarted):
                reporter.line(f"{event.total} pictures found" + (
                    f" ({LARGE_LIBRARY_NOTE})" if event.large_library else ""))
            elif isinstance(event, ScanFinished):
                result = event.result
    except CacheError as exc:
        reporter.end()
        print(f"dedupe scan: {exc}", file=sys.stderr)
        return 2
    finally:
        reporter.end()
        if cluster is not None:
            cluster.close()
    assert result is not None
    threshold = result.threshold if args.threshold is None else args.threshold
    doc = result_dict(result, threshold)

    if args.json:
        import json

        write_text(args.json, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    if args.csv:
        write_text(args.csv, _csv_text(doc))
    if args.json != "-" and args.csv != "-":
        print(f"{doc['files']} pictures in {doc['seconds']:.1f} s: {len(doc['pairs'])} pairs "
              f"in {len(doc['groups'])} groups at score >= {threshold:g}, "
              f"{len(doc['skipped'])} skipped")
        for group in doc["groups"][:20]:
            print("  " + "\n    ".join(group))
        if len(doc["groups"]) > 20:
            print(f"  ... and {len(doc['groups']) - 20} more groups (use --json for all)")
        for s in doc["skipped"][:10]:
            print(f"  skipped {s['path']}: {s['reason']}")
        if len(doc["skipped"]) > 10:
            print(f"  ... and {len(doc['skipped']) - 10} more skipped")
    return 0
