"""Accuracy of the duplicate scan on a labelled corpus (../shared/bench/make_corpus.py).

Fingerprints every file under CORPUS with the real worker function in a process pool, matches
at the default threshold (``matching.DEFAULT_THRESHOLD``, or ``--threshold``), writes the
answer JSON and prints score.py's table (per kind of copy, precision, hard negatives, junk).

    .venv/bin/python benchmarks/accuracy.py /work/corpora/corpus [--mirror] [--out ANSWER.json]
        [--score-script ../shared/bench/score.py] [--workers 2] [--speed 100]

A scale corpus (make_scale_corpus.py: truth.json lists "pairs", or names "X (copy).jpg")
is scored here instead: known pairs found, and every other pair counted as false.
``--speed N`` also measures, side by side in this process (CPU time, best of 3), the
per-file cost of ``fingerprint_chunk`` against a bare ``cv2.imread(IMREAD_REDUCED_GRAYSCALE_8)``
on N of the corpus's JPEGs.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from dedupe_gui.core.fingerprint import FingerprintBatch, fingerprint_chunk
from dedupe_gui.core.matching import DEFAULT_THRESHOLD, Matcher
from dedupe_gui.core.parallel import chunked, run_chunks


def corpus_files(root: Path) -> list[str]:
    """Regular files under ``root``, symlinks not followed (the scan's walker does more)."""
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(d, f)
            if f != "truth.json" and not os.path.islink(p):
                out.append(p)
    return out


def fingerprint_all(files: list[str], workers: int) -> FingerprintBatch:
    batches = []
    for res in run_chunks(fingerprint_chunk, chunked(files, 16), workers=workers):
        if res.result is not None:
            batches.append(res.result)
        for path, reason in res.failed:
            batches.append(FingerprintBatch.empty())
            batches[-1].skipped = [(path, reason)]
    return FingerprintBatch.concat(batches)


def speed(files: list[str], n: int) -> None:
    """Per-file CPU cost of the worker function vs the decode floor's bare reduced decode."""
    from dedupe_gui.core.parallel import worker_setup

    worker_setup()
    jpegs = [f for f in files if f.lower().endswith((".jpg", ".jpeg"))][:n]
    for f in jpegs:  # page cache warm for both
        Path(f).read_bytes()

    def best(fn) -> float:
        times = []
        for _ in range(3):
            t = time.process_time()
            fn()
            times.append(time.process_time() - t)
        return min(times) / len(jpegs) * 1e3

    floor = best(lambda: [cv2.imread(f, cv2.IMREAD_REDUCED_GRAYSCALE_8) for f in jpegs])
    ours = best(lambda: fingerprint_chunk(jpegs))
    floor = min(floor, best(lambda: [cv2.imread(f, cv2.IMREAD_REDUCED_GRAYSCALE_8)
                                      for f in jpegs]))
    print(f"speed on {len(jpegs)} JPEGs: bare reduced decode {floor:.2f} ms/file, "
          f"fingerprint_chunk {ours:.2f} ms/file, ratio {ours / floor:.3f}")


def score_pairs(corpus: Path, pairs: list[dict]) -> None:
    """Score against a list of known pairs (scale corpus): every other pair is false."""
    truth_file = corpus / "truth.json"
    rel = lambda p: os.path.relpath(p, corpus)  # noqa: E731
    if truth_file.exists():
        known = {frozenset(p) for p in json.loads(truth_file.read_text())["pairs"]}
    else:  # still being generated: the copies are named after their originals
        known = set()
        for d, _, names in os.walk(corpus):
            for f in names:
                if f.endswith(" (copy).jpg"):
                    known.add(frozenset((rel(os.path.join(d, f.replace(" (copy)", ""))),
                                         rel(os.path.join(d, f)))))
    found = {frozenset((rel(p["a"]), rel(p["b"]))) for p in pairs}
    tp = len(found & known)
    print(f"known pairs {len(known)}, found {tp} (recall {tp / max(1, len(known)):.3f}); "
          f"other pairs reported: {len(found) - tp} (precision {tp / max(1, len(found)):.4f})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--mirror", action="store_true")
    ap.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="answer JSON (default: a temp file)")
    ap.add_argument("--speed", type=int, default=0, metavar="N",
                    help="also time fingerprint_chunk vs a bare reduced decode on N JPEGs")
    ap.add_argument("--score-script", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared/bench/score.py")
    a = ap.parse_args()

    files = corpus_files(a.corpus)
    t0 = time.perf_counter()
    batch = fingerprint_all(files, a.workers)
    t1 = time.perf_counter()
    matcher = Matcher(mirror=a.mirror)
    table = matcher.add(batch, 0)
    t2 = time.perf_counter()
    n = table.count_at(a.threshold)
    pairs = [{"a": batch.paths[int(table.a[k])], "b": batch.paths[int(table.b[k])],
              "score": round(float(table.score[k]), 2), "distance": int(table.distance[k])}
             for k in range(n)]
    answer = {"pairs": pairs, "skipped": [{"path": p, "reason": r} for p, r in batch.skipped]}
    out = a.out or Path(f"/tmp/dedupe-accuracy-{os.getpid()}.json")
    out.write_text(json.dumps(answer, indent=1, ensure_ascii=False))
    print(f"{len(files)} files, {len(batch.paths)} fingerprinted in {t1 - t0:.1f} s, "
          f"{len(batch.skipped)} skipped; matching {t2 - t1:.2f} s; {len(table)} pairs kept "
          f">= MIN_SCORE, {n} at threshold {a.threshold:g} (mirror={'on' if a.mirror else 'off'})")
    for p, r in batch.skipped:
        print(f"  skipped {os.path.relpath(p, a.corpus)}: {r}")
    truth = a.corpus / "truth.json"
    if not truth.exists() or "pairs" in json.loads(truth.read_text()):
        score_pairs(a.corpus, pairs)
    elif a.score_script.exists():
        cmd = [sys.executable, str(a.score_script), str(a.corpus), str(out)]
        if not a.mirror:
            cmd.append("--no-mirror")
        sys.stdout.flush()
        subprocess.run(cmd, check=False)
    else:
        print(f"(score script {a.score_script} not found; answer in {out})")
    if a.speed:
        speed(files, a.speed)
    if len(table):
        print("score quantiles of kept pairs:",
              np.round(np.quantile(table.score, [0, 0.1, 0.5, 0.9, 1]), 1).tolist())
    return 0


if __name__ == "__main__":
    sys.exit(main())
