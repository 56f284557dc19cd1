#!/usr/bin/env python3
"""Scan speed, side by side in one run: the decode floor, our cold scan, the warm rescan, and
the naive way; plus the scan's peak memory and (when CORPUS/truth.json lists pairs) accuracy.

    python benchmarks/scan_speed.py CORPUS [--workers 2] [--naive-sample 40] [--chunk 16]

(a) floor: every JPEG decoded at 1/8 (cv2.IMREAD_REDUCED_GRAYSCALE_8) by N processes in
    chunks of 16, nothing else: a scan cannot be much faster. Measured before AND after the
    cold scan (the machine may be shared); the mean is the reference.
(b) cold: ``scan`` with a fresh cache file (walk, decode, fingerprints, matching, cache).
(c) warm: the same scan again; every fingerprint comes from the cache.
(d) naive: imagehash.phash on full PIL decodes in one process, timed on a sample and
    extrapolated per file.
Scans run in a child process each, so their peak RSS (and their pool workers') is their own.
Targets (issue 2): cold/floor <= 1.25, warm <= 2 s for 4500 files.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2

_SCAN_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from dedupe_gui.core.scan import ScanOptions, scan_result
t_import = time.perf_counter() - t0
root, cache, workers, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
t0 = time.perf_counter()
r = scan_result([root], ScanOptions(cache_path=cache, workers=workers, chunk_size=chunk))
secs = time.perf_counter() - t0
paths = [f.path for f in r.files]
k = r.pairs.count_at(r.threshold)
print(json.dumps({
    "seconds": secs, "import_seconds": t_import, "files": len(r.files),
    "skipped": len(r.skipped), "pairs_kept": len(r.pairs),
    "pairs": [[paths[a], paths[b]] for a, b in zip(r.pairs.a[:k].tolist(), r.pairs.b[:k].tolist())],
    "self_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "children_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    "self_cpu": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
    "children_cpu": sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2]),
}))
"""


# (a) the decode floor: the same few lines as ../shared/bench/decode_floor.py
def _decode(paths: list[str]) -> int:
    cv2.setNumThreads(1)
    for p in paths:
        cv2.imread(p, cv2.IMREAD_REDUCED_GRAYSCALE_8)
    return len(paths)


def decode_floor(root: Path, workers: int) -> tuple[int, float, float]:
    """(files, wall seconds, CPU seconds of the worker processes)."""
    files = sorted(str(p) for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg")
                   and p.is_file() and not p.is_symlink())
    chunks = [files[i:i + 16] for i in range(0, len(files), 16)]
    cpu0 = sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2])
    start = time.perf_counter()
    with ProcessPoolExecutor(workers) as ex:
        n = sum(ex.map(_decode, chunks))
    wall = time.perf_counter() - start
    return n, wall, sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2]) - cpu0


def run_scan(root: Path, cache: Path, workers: int, chunk: int) -> dict:
    out = subprocess.run([sys.executable, "-c", _SCAN_CHILD, str(root), str(cache),
                          str(workers), str(chunk)], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        sys.exit(f"scan failed:\n{out.stderr}")
    return json.loads(out.stdout)


def naive_per_file(root: Path, sample: int) -> float:
    import imagehash
    from PIL import Image

    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    picks = random.Random(1).sample(files, min(sample, len(files)))
    start = time.perf_counter()
    for p in picks:
        with Image.open(p) as im:
            imagehash.phash(im)
    return (time.perf_counter() - start) / len(picks)


def grouping_ms(n_files: int = 4500, n_pairs: int = 100_000) -> tuple[float, float]:
    """Milliseconds to regroup 100k pairs at a threshold (what a slider move costs): median
    over 20 thresholds; random pairs (a worst case: one giant component) and clustered ones."""
    import numpy as np

    from dedupe_gui.core.grouping import group_indices
    from dedupe_gui.core.results import PairTable

    rng = np.random.default_rng(0)
    out = []
    for clustered in (False, True):
        a = rng.integers(0, n_files, n_pairs)
        b = (a + rng.integers(1, 8, n_pairs)) % n_files if clustered else \
            rng.integers(0, n_files, n_pairs)
        keep = a != b
        t = PairTable.build(a[keep], b[keep], rng.uniform(50, 100, keep.sum()),
                            np.zeros(keep.sum()))
        times = []
        for th in np.linspace(50, 100, 20):
            t0 = time.perf_counter()
            group_indices(t, n_files, float(th))
            times.append(time.perf_counter() - t0)
        out.append(float(np.median(times)) * 1000)
    return out[0], out[1]


def accuracy(root: Path, pairs: list[list[str]]) -> str:
    truth_file = root / "truth.json"
    if not truth_file.exists():
        return "no truth.json"
    truth = json.loads(truth_file.read_text())
    if "pairs" not in truth:
        return "truth.json has no pairs list"
    want = {frozenset(os.path.normpath(os.path.join(root, x)) for x in p) for p in truth["pairs"]}
    got = {frozenset(os.path.normpath(x) for x in p) for p in pairs}
    tp = len(want & got)
    return (f"{tp}/{len(want)} known pairs found (recall {tp / max(1, len(want)):.4f}), "
            f"{len(got - want)} other pairs reported")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=16, help="files per scan task")
    ap.add_argument("--naive-sample", type=int, default=40)
    a = ap.parse_args()
    root = a.corpus.resolve()
    load = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="scan-speed-") as tmp:
        cache = Path(tmp) / "fingerprints.sqlite"
        n_floor, floor1, floor_cpu1 = decode_floor(root, a.workers)
        cold = run_scan(root, cache, a.workers, a.chunk)
        _, floor2, floor_cpu2 = decode_floor(root, a.workers)
        warm = run_scan(root, cache, a.workers, a.chunk)
        cache_mb = cache.stat().st_size / 2**20
    naive = naive_per_file(root, a.naive_sample) * cold["files"]
    g_random, g_clustered = grouping_ms()
    floor = (floor1 + floor2) / 2
    floor_cpu = (floor_cpu1 + floor_cpu2) / 2

    print(f"corpus: {root}  ({cold['files']} pictures fingerprinted, {cold['skipped']} skipped;"
          f" {n_floor} JPEGs in the floor)  workers={a.workers} chunk={a.chunk}"
          f"  load average at start {load:.1f} on {os.cpu_count()} cores")
    print(f"(a) decode floor      {floor:8.2f} s   (before {floor1:.2f} s, after {floor2:.2f} s)")
    print(f"(b) cold scan         {cold['seconds']:8.2f} s   cold/floor = "
          f"{cold['seconds'] / floor:.3f}   (target <= 1.25)")
    print(f"    CPU seconds (less sensitive to a shared machine): floor workers {floor_cpu:.1f};"
          f" scan workers {cold['children_cpu']:.1f}, scan parent {cold['self_cpu']:.1f};"
          f" (workers + parent)/floor = {(cold['children_cpu'] + cold['self_cpu']) / floor_cpu:.3f}")
    print(f"(c) warm rescan       {warm['seconds']:8.2f} s   (target <= 2 s for 4500 files)")
    print(f"(d) naive, estimated  {naive:8.1f} s   naive/cold = {naive / cold['seconds']:.1f}x,"
          f" naive/warm = {naive / warm['seconds']:.0f}x  (imagehash.phash on full decodes, "
          f"1 process, {a.naive_sample} files sampled)")
    print(f"peak memory: cold scan parent {cold['self_rss_mb']:.0f} MB, largest worker "
          f"{cold['children_rss_mb']:.0f} MB; warm rescan parent {warm['self_rss_mb']:.0f} MB;"
          f" cache file {cache_mb:.1f} MB")
    print(f"(e) regrouping 100k pairs at a new threshold: {g_random:.1f} ms (random pairs), "
          f"{g_clustered:.1f} ms (clustered), median of 20 thresholds")
    print(f"pairs at the default threshold: cold {len(cold['pairs'])}, warm {len(warm['pairs'])}"
          f" ({'identical' if sorted(map(sorted, cold['pairs'])) == sorted(map(sorted, warm['pairs'])) else 'DIFFERENT'});"
          f" accuracy: {accuracy(root, cold['pairs'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
