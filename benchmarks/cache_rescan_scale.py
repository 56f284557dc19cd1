"""What a cache-only rescan costs per file: walk (stat), SQLite lookup, blob decode.

    .venv/bin/python benchmarks/cache_rescan_scale.py                       # 100k files, 1M rows
    .venv/bin/python benchmarks/cache_rescan_scale.py --files 20000 --rows 200000 --dir /tmp/x

A rescan of unchanged files touches no pixels: it walks the folders (one stat per file),
looks every file up in the fingerprint cache (path + size + mtime) and rebuilds the cached
fingerprints. This measures those three steps with the project's own code (files.walk,
cache.FingerprintCache, FingerprintBatch.from_blobs) on real files and a real SQLite cache:
``--files`` real (empty) files on disk, and a cache of ``--rows`` rows of real blob size, of
which the files are a part, so lookups search a table of the full size. One million real
files is a lot of inodes for a shared disk: the per-file costs are measured on ``--files``
and extrapolated to 1M, and printed as such. The matching of the cached fingerprints
(stage 1 + 2) is not part of this: see candidates_scale.py.
Page cache: warm (the files and the database were just written); a cold cache on a
spinning disk or a NAS costs a seek per stat and per lookup instead.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PER_DIR = 1000


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_files(root: Path, n: int) -> None:
    for d in range((n + PER_DIR - 1) // PER_DIR):
        folder = root / f"{d // 100:03d}" / f"roll_{d:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(min(PER_DIR, n - d * PER_DIR)):
            (folder / f"IMG_{k:04d}.jpg").touch()


def fill_cache(cache, entries, rows: int, blob_size: int) -> None:
    """The real files' rows, plus fake rows (paths elsewhere) up to ``rows``."""
    from dedupe_gui.core.files import FileEntry

    blob = os.urandom(blob_size)
    batch = 20_000
    real = iter(entries)
    made = 0
    while made < rows:
        part = []
        for _ in range(min(batch, rows - made)):
            e = next(real, None)
            if e is None:
                e = FileEntry(f"/archive/elsewhere/{made:08d}.jpg", 4_000_000 + made, made)
            part.append((e, f"{e.size}:{made:016x}", blob))
            made += 1
        cache.store(part)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100_000, help="real files on disk")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows in the cache")
    ap.add_argument("--dir", help="where to make the files and the cache (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the files and the cache")
    args = ap.parse_args()
    from dedupe_gui.core import fingerprint as fp
    from dedupe_gui.core.cache import FingerprintCache
    from dedupe_gui.core.files import walk
    from dedupe_gui.core.fingerprint import FingerprintBatch

    work = Path(args.dir or tempfile.mkdtemp(prefix="dedupe-rescan-"))
    work.mkdir(parents=True, exist_ok=True)
    root, db = work / "photos", work / "cache.sqlite"
    blob_size = 8 + 8 * fp.HASH_WORDS + fp.FEATURES
    try:
        t0 = time.perf_counter()
        make_files(root, args.files)
        entries = walk([str(root)]).files
        assert len(entries) == args.files, len(entries)
        with FingerprintCache(db, fp.FINGERPRINT_VERSION) as cache:
            fill_cache(cache, entries, max(args.rows, args.files), blob_size)
        setup = time.perf_counter() - t0

        # the rescan, step by step, as scan.py does it
        c0, t0 = _cpu(), time.perf_counter()
        entries = walk([str(root)]).files
        c1, t1 = _cpu(), time.perf_counter()
        with FingerprintCache(db, fp.FINGERPRINT_VERSION) as cache:
            rows = cache.lookup(entries)
        c2, t2 = _cpu(), time.perf_counter()
        hits = [(e.path, r[1]) for e, r in zip(entries, rows, strict=True) if r is not None]
        for s in range(0, len(hits), 1024):  # scan.HIT_SLICE
            part = hits[s:s + 1024]
            FingerprintBatch.from_blobs([p for p, _ in part], [b for _, b in part])
        c3, t3 = _cpu(), time.perf_counter()
        n = len(entries)
        per = {"walk_stat": (t1 - t0, c1 - c0), "sqlite_lookup": (t2 - t1, c2 - c1),
               "blob_decode": (t3 - t2, c3 - c2)}
        out = {
            "files": n, "cache_rows": max(args.rows, args.files), "hits": len(hits),
            "blob_bytes": blob_size, "cache_file_mb": round(db.stat().st_size / 2**20),
            "setup_s": round(setup, 1), "load_avg": round(os.getloadavg()[0], 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
        for name, (wall, cpu) in per.items():
            out[f"{name}_us_per_file"] = round(wall / n * 1e6, 2)
            out[f"{name}_cpu_us_per_file"] = round(cpu / n * 1e6, 2)
        total_wall = sum(w for w, _ in per.values()) / n
        total_cpu = sum(c for _, c in per.values()) / n
        out["total_us_per_file"] = round(total_wall * 1e6, 2)
        out["extrapolated_1M_files_s"] = round(total_wall * 1e6, 1)
        out["extrapolated_1M_files_cpu_s"] = round(total_cpu * 1e6, 1)
        print(json.dumps(out))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
