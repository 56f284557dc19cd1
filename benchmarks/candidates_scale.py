"""Stage-1 candidate search at scale: the multi-index hash index against tiles.

    .venv/bin/python benchmarks/candidates_scale.py                 # 1M and 5M, radius 8 and 10
    .venv/bin/python benchmarks/candidates_scale.py --n 1000000 --radius 8 10 12
    .venv/bin/python benchmarks/candidates_scale.py --crossover      # index vs tiles per batch
    .venv/bin/python benchmarks/candidates_scale.py --fit            # model vs measured P(d<=r)
    .venv/bin/python benchmarks/candidates_scale.py --matcher 8 8 --n 200000 1000000
    .venv/bin/python benchmarks/candidates_scale.py --matcher 8 8 --rule orientations --n 200000

``--matcher WHOLE INNER`` (the large-library mode): ``library_hashes``, whose distinct
pictures are real fingerprints (benchmarks/stage1_radius.py's cache) with each DCT sign
flipped with probability SCENE_NOISE = 0.1, fitted so distinct pictures' stage-1 distances
match the measured ones (``--fit``: P(d<=8) 6.1e-5 model vs 7.7e-5 real, P(d<=12) 3.2e-4 vs
3.4e-4, P(d<=18) 8.4e-3 vs 1.0e-2); all 24 words of a picture move together, so orientations
and crops stay consistent. It runs the matcher's words: 8 query words x 2 stored (whole/85%)
and 4 x 1 (central 70%). Uniform random codes (the default runs) are far easier than that.

Fingerprints with the structure of a real library: random distinct pictures, near copies a
few bits away, bursts (clusters of similar shots) and exact duplicates. Each configuration
runs in its own process, so its peak memory (max RSS) is its own. Tiles cost N^2/2 pair
tests, so for large N their time is extrapolated from a measured sample of rows, in the same
run, and printed as such.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def flip_bits(codes: np.ndarray, flips: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``codes`` with ``flips[i]`` distinct random bits of code i flipped."""
    out = codes.copy()
    if codes.size == 0:
        return out
    k = max(1, int(flips.max()))
    for s in range(0, codes.size, 100_000):  # in slices: small temporaries at 5M codes
        # random distinct positions: argsort of random keys, first k columns per row
        pos = np.argsort(rng.random((min(100_000, codes.size - s), 64)), axis=1)[:, :k]
        f = flips[s:s + pos.shape[0]]
        part = out[s:s + pos.shape[0]]
        for c in range(k):
            on = f > c
            part[on] ^= np.uint64(1) << pos[on, c].astype(np.uint64)
    return out


def realistic_codes(n: int, seed: int = 0) -> np.ndarray:
    """``n`` 64-bit hashes: ~60% distinct pictures, ~25% copies 0-6 bits from one of them,
    ~10% bursts (10-60 shots 0-4 bits from a centre), ~5% exact duplicates; shuffled."""
    rng = np.random.default_rng(seed)
    n_base = int(n * 0.6)
    base = rng.integers(0, np.iinfo(np.uint64).max, n_base, dtype=np.uint64, endpoint=True)
    n_copy = int(n * 0.25)
    src = base[rng.integers(0, n_base, n_copy)]
    copies = flip_bits(src, np.minimum(rng.geometric(0.35, n_copy) - 1, 6), rng)
    n_burst = int(n * 0.10)
    sizes = rng.integers(10, 61, n_burst // 10 + 1)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n_burst) + 1]
    centres = rng.integers(0, np.iinfo(np.uint64).max, sizes.size, dtype=np.uint64, endpoint=True)
    burst = np.repeat(centres, sizes)[:n_burst]
    burst = flip_bits(burst, rng.integers(0, 5, burst.size), rng)
    parts = [base, copies, burst]
    have = sum(p.size for p in parts)
    parts.append(base[rng.integers(0, n_base, n - have)])  # exact duplicates
    codes = np.concatenate(parts)
    rng.shuffle(codes)
    return codes


# -- fingerprints with the distance structure of real pHashes ------------------------------
STAGE1_CACHE = Path.home() / ".cache" / "dedupe-bench-stage1"  # written by stage1_radius.py
SCENE_NOISE = 0.10  # per-bit noise of a distinct picture around its real template (fitted)
_SHIFT = np.arange(63, -1, -1, dtype=np.uint64)


def real_templates() -> np.ndarray:
    """Real fingerprints' hash rows (N, HASH_WORDS), cached by benchmarks/stage1_radius.py."""
    from dedupe_gui.core import fingerprint as fp

    files = sorted(STAGE1_CACHE.glob(f"*-v{fp.FINGERPRINT_VERSION}.npz"))
    if not files:
        raise SystemExit(f"no real hashes in {STAGE1_CACHE}: run benchmarks/stage1_radius.py first")
    return np.unique(np.concatenate([np.load(f)["hashes"] for f in files]), axis=0)


def _transposed(masks: np.ndarray) -> np.ndarray:
    """64-bit masks of 8x8 DCT positions (row-major, first bit = MSB), transposed."""
    bits = ((masks[:, None] >> _SHIFT) & np.uint64(1)).astype(np.uint8).reshape(-1, 8, 8)
    return np.packbits(bits.transpose(0, 2, 1).reshape(-1, 64), axis=1).view(">u8") \
        .astype(np.uint64).ravel()


def perturb(rows: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Hash rows with the DCT-sign ``masks`` flipped in every word, oriented as the word is.

    ``fingerprint._orient_dct``: a mirror only negates coefficients (a bit keeps its
    position), a quarter turn transposes the block. So one mask, transposed for the odd
    turns, changes a picture the same way in all 8 orientations and 3 crops, and the
    orientation words of a synthetic picture stay those of one picture.
    """
    from dedupe_gui.core import fingerprint as fp

    out = rows.copy()
    t = _transposed(masks)
    for w in range(fp.HASH_WORDS):
        out[:, w] ^= t if (w % fp.N_ORIENT) % 2 else masks
    return out


def bit_masks(n: int, p: float | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``n`` random 64-bit masks, each bit set with probability ``p`` (per row if an array)."""
    p = np.broadcast_to(np.asarray(p, np.float64), (n,))[:, None]
    return np.packbits(rng.random((n, 64)) < p, axis=1).view(">u8").astype(np.uint64).ravel()


def library_hashes(n: int, seed: int = 0, templates: np.ndarray | None = None,
                   noise: float = SCENE_NOISE) -> np.ndarray:
    """(n, HASH_WORDS) hash rows of a library: the mix of ``realistic_codes`` (60% distinct
    pictures, 25% copies 0-6 bits from one, 10% bursts of 10-60 shots 0-4 bits from a centre,
    5% exact duplicates), but a distinct picture is a real fingerprint's full hash row (all
    orientations and crops) with each DCT sign flipped with probability ``noise``, and every
    copy or burst shot moves all its words together (``perturb``)."""
    rng = np.random.default_rng(seed)
    t = real_templates() if templates is None else templates

    def distinct(k: int) -> np.ndarray:
        out = np.empty((k, t.shape[1]), np.uint64)
        for s in range(0, k, 100_000):  # bounded temporaries at 5M
            m = min(100_000, k - s)
            out[s:s + m] = perturb(t[rng.integers(0, len(t), m)], bit_masks(m, noise, rng))
        return out

    def moved(rows: np.ndarray, flips: np.ndarray) -> np.ndarray:
        masks = flip_bits(np.zeros(len(rows), np.uint64), flips, rng)
        return perturb(rows, masks)

    n_base = int(n * 0.6)
    base = distinct(n_base)
    n_copy = int(n * 0.25)
    copies = moved(base[rng.integers(0, n_base, n_copy)],
                   np.minimum(rng.geometric(0.35, n_copy) - 1, 6))
    n_burst = int(n * 0.10)
    sizes = rng.integers(10, 61, n_burst // 10 + 1)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n_burst) + 1]
    burst = np.repeat(distinct(sizes.size), sizes, axis=0)[:n_burst]
    burst = moved(burst, rng.integers(0, 5, len(burst)))
    have = n_base + n_copy + len(burst)
    rows = np.concatenate([base, copies, burst, base[rng.integers(0, n_base, n - have)]])
    return rows[rng.permutation(n)]


def _cpu() -> float:
    """CPU seconds of this process (all threads): the machine is shared, wall time is not."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def tiled_rows(codes: np.ndarray, rows: np.ndarray, radius: int) -> tuple[np.ndarray, ...]:
    """The tiled search (core/hamming.py) of ``rows`` against all codes: reference + timing."""
    from dedupe_gui.core.hamming import pairs_within as tiles

    i, j, d, _, _ = tiles(codes[rows], codes, radius)
    return rows[i], j, d


def run_one(n: int, radius: int, workers: int, seed: int) -> dict:
    """One configuration (called in a fresh process): all pairs within ``radius``."""
    from dedupe_gui.core import hashindex

    codes = realistic_codes(n, seed)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu0 = _cpu()
    t0 = time.perf_counter()
    index = hashindex.HashIndex(codes, radius)
    t1 = time.perf_counter()
    i, j, d = index.pairs(workers=workers)
    t2 = time.perf_counter()
    cpu1 = _cpu()
    # tiles on a sample of rows: the same pairs for those rows, and the time per pair test
    rng = np.random.default_rng(seed + 1)
    rows = np.sort(rng.choice(n, size=min(n, 2000, max(200, 2_000_000_000 // n)), replace=False))
    t3 = time.perf_counter()
    ti, tj, td = tiled_rows(codes, rows, radius)
    t4 = time.perf_counter()
    cpu2 = _cpu()
    keep = ti != tj
    want = {(min(a, b), max(a, b), c) for a, b, c in
            zip(ti[keep].tolist(), tj[keep].tolist(), td[keep].tolist(), strict=True)}
    sel = np.isin(i, rows) | np.isin(j, rows)
    got = set(zip(i[sel].tolist(), j[sel].tolist(), d[sel].tolist(), strict=True))
    tile_all = (t4 - t3) / (rows.size * n) * n * (n - 1) / 2
    tile_cpu = (cpu2 - cpu1) / (rows.size * n) * n * (n - 1) / 2
    return {
        "n": n, "radius": radius, "workers": workers, "plan": str(index.plan),
        "build_s": round(t1 - t0, 2), "pairs_s": round(t2 - t1, 2),
        "total_s": round(t2 - t0, 2), "cpu_s": round(cpu1 - cpu0, 2), "pairs": int(i.size),
        "pairs_per_s": round(i.size / (t2 - t0)),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_before_index_mb": round(rss0 / 1024),
        "tiles_estimated_s": round(tile_all, 1), "tiles_estimated_cpu_s": round(tile_cpu, 1),
        "load_avg": round(os.getloadavg()[0], 1),
        "same_as_tiles_on_sample": got == want, "sample_rows": int(rows.size),
    }


def model_fit(seed: int = 0, n: int = 3000) -> None:
    """The model's P(d <= r) for distinct pictures next to the measured one (stage1_radius's
    corpus: files of different groups), stage-1 distances of the matcher (4 orientations)."""
    from benchmarks.stage1_radius import RADII, corpus_truth, unrelated_rate
    from dedupe_gui.core import fingerprint as fp

    z = np.load(STAGE1_CACHE / f"corpus-v{fp.FINGERPRINT_VERSION}.npz")
    _, groups = corpus_truth(Path("/work/corpora/corpus"), z["paths"].tolist())
    measured = unrelated_rate(z["hashes"], groups, 4)
    rng = np.random.default_rng(seed)
    t = real_templates()
    model = perturb(t[rng.integers(0, len(t), n)], bit_masks(n, SCENE_NOISE, rng))
    fitted = unrelated_rate(model, np.arange(n), 4)
    print(f"P(d <= r), distinct pictures: measured ({measured['pairs']} pairs) vs model "
          f"(noise {SCENE_NOISE}, {fitted['pairs']} pairs)")
    print("     r " + " ".join(f"{r:>8d}" for r in RADII[::2]))
    for name, rate in (("real", measured), ("model", fitted)):
        for k in ("whole", "inner"):
            print(f"{name:>5s} {k[0]} " + " ".join(f"{x:8.1e}" for x in rate[k][::2]))


def run_incremental(n: int, whole: int, inner: int, seed: int, calls: int) -> dict:
    """The path a large-library scan takes (``matching.Matcher.add`` in large mode): both
    ``PoseSearch`` searches fed the library in ``calls`` gathered batches, each against every
    file before it. Pairs are counted as in ``run_matcher``, call by call."""
    from dedupe_gui.core import hashindex
    from dedupe_gui.core.matching import pose_searches

    rows = library_hashes(n, seed)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu0, t0 = _cpu(), time.perf_counter()
    searches = tuple(zip(pose_searches(list(range(4))), (whole, inner), strict=True))
    pairs = 0
    step = -(-n // calls)
    for start in range(0, n, step):
        stored = rows[:start + step]
        keys = []
        for search, radius in searches:
            i, j, _, _ = search.add(rows[start:start + step], stored, start, radius)
            keys.append((i + start) * np.int64(n) + j)
        # a call's pairs are those of its files (i in the call's range): counted per call,
        # none held (5M files give ~5e8 pairs; a scan hands each call's to the verifier)
        pairs += hashindex.unique_int(np.concatenate(keys)).size
    t1, cpu1 = time.perf_counter(), _cpu()
    return {"n": n, "whole": whole, "inner": inner, "calls": calls, "rule": "poses",
            "wall_s": round(t1 - t0, 1), "cpu_s": round(cpu1 - cpu0, 1), "pairs": int(pairs),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "rss_before_mb": round(rss0 / 1024), "load_avg": round(os.getloadavg()[0], 2)}


def run_matcher(n: int, whole: int, inner: int, workers: int, seed: int,
                rule: str = "poses", margin: int | None = None) -> dict:
    """All candidate pairs of ``n`` library files with the matcher's stage-1 structure, in
    one go (the floor of any batching): 4 orientations x (whole, 85%) query words per file
    against the (whole, 85%) upright words of every earlier file within ``whole`` bits, and
    4 central-70% words against the upright one within ``inner`` bits. Pairs are counted
    once (either search, later file as query).

    ``rule="poses"`` (what the matcher does in large-library mode, ``core.poses``): one
    self-join per search over every file's selected pose words, then the default rule's
    distance checked on the pairs found (``poses.pose_pairs``)."""
    from dedupe_gui.core import hashindex, poses
    from dedupe_gui.core.matching import stage1_words

    rows = library_hashes(n, seed)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu0, t0 = _cpu(), time.perf_counter()
    orients = list(range(4))
    w = stage1_words(orients)
    if rule == "poses":
        margin = poses.POSE_MARGIN if margin is None else margin
        steps = []
        kw = poses.pose_pairs(rows, (0, 1), orients, whole, w.whole_query, w.whole_stored,
                              margin, workers)
        steps.append(round(time.perf_counter() - t0, 1))
        ki = poses.pose_pairs(rows, (2,), orients, inner, w.inner_query, w.inner_stored,
                              margin, workers)
        steps.append(round(time.perf_counter() - t0, 1))
        pairs = hashindex.unique_int(np.concatenate([kw, ki])).size  # np.union1d: 30 s at 1M
        t1, cpu1 = time.perf_counter(), _cpu()
        return {"n": n, "whole": whole, "inner": inner, "workers": workers, "rule": rule,
                "margin": margin, "wall_s": round(t1 - t0, 1),
                "cpu_s": round(cpu1 - cpu0, 1), "pairs": int(pairs), "whole_pairs": int(kw.size),
                "inner_pairs": int(ki.size), "steps_s": steps,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "rss_before_mb": round(rss0 / 1024), "load_avg": round(os.getloadavg()[0], 2)}
    keys = []
    plans = []
    for qw, bw, radius in ((w.whole_query, w.whole_stored, whole),
                           (w.inner_query, w.inner_stored, inner)):
        base = np.ascontiguousarray(rows[:, bw]).ravel()
        queries = np.ascontiguousarray(rows[:, qw]).ravel()
        index = hashindex.HashIndex(base, radius, n_query=queries.size)
        plans.append(str(index.plan))
        qi, bi, _ = index.query(queries, workers=workers)
        i, j = qi // len(qw), bi // len(bw)
        keep = j < i
        keys.append(np.unique(i[keep] * np.int64(n) + j[keep]))
        del qi, bi, i, j, keep, index
    pairs = np.union1d(*keys).size
    t1, cpu1 = time.perf_counter(), _cpu()
    return {"n": n, "whole": whole, "inner": inner, "workers": workers, "plans": plans,
            "wall_s": round(t1 - t0, 1), "cpu_s": round(cpu1 - cpu0, 1), "pairs": int(pairs),
            "whole_pairs": int(keys[0].size), "inner_pairs": int(keys[1].size),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "rss_before_mb": round(rss0 / 1024), "load_avg": round(os.getloadavg()[0], 2)}


def crossover(radius: int, batch: int, words: tuple[int, int], seed: int,
              sizes=(10_000, 30_000, 100_000, 300_000, 1_000_000)) -> list[dict]:
    """Per batch of new files against N seen: tiles vs index query (and the index build), in
    CPU time of this process (the machine is shared: wall time depends on the neighbours)."""
    from dedupe_gui.core import hashindex
    from dedupe_gui.core.hamming import pairs_within as tiles

    kq, kb = words
    out = []
    for n in sizes:
        codes = realistic_codes((n + batch) * max(kq, kb), seed).reshape(n + batch, -1)
        base, new = codes[:n, :kb], codes[n:, :kq]
        c0 = _cpu()
        ti, tj, td, _, _ = tiles(new, base, radius)
        c1 = _cpu()
        index = hashindex.HashIndex(base.ravel(), radius, n_query=batch * kq)
        c2 = _cpu()
        qi, bi, qd = index.query(new.ravel())
        c3 = _cpu()
        got = {(a // kq, b // kb) for a, b in zip(qi.tolist(), bi.tolist(), strict=True)}
        want = set(zip(ti.tolist(), tj.tolist(), strict=True))
        out.append({"n_seen": n, "batch": batch, "radius": radius, "words": f"{kq}x{kb}",
                    "tiles_cpu_ms": round((c1 - c0) * 1e3, 1),
                    "index_query_cpu_ms": round((c3 - c2) * 1e3, 1),
                    "index_build_cpu_ms": round((c2 - c1) * 1e3, 1),
                    "model_tiles_ms": round(hashindex.TILE_COST * batch * kq * n * kb * 1e3, 1),
                    "model_index_ms": round(index.plan.cost * 1e3, 1),
                    "same_pairs": got == want, "plan": str(index.plan)})
        print(json.dumps(out[-1]), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--radius", type=int, nargs="+", default=[8, 10])
    ap.add_argument("--workers", type=int, default=2, help="threads for the index")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--crossover", action="store_true", help="index vs tiles per new batch")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--words", type=int, nargs=2, default=[1, 1], metavar=("KQ", "KB"),
                    help="words per query file and per stored file (the matcher: 8 2)")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--matcher", type=int, nargs=2, metavar=("WHOLE", "INNER"),
                    help="the matcher's word structure on library_hashes at these bounds")
    ap.add_argument("--rule", choices=["poses", "orientations"], default="poses",
                    help="--matcher: selected pose words (large-library mode) or the default "
                         "rule's 8 query words x 2 stored")
    ap.add_argument("--margin", type=int, help="--matcher: pose margin (default POSE_MARGIN)")
    ap.add_argument("--calls", type=int, default=0,
                    help="--matcher: the scan's incremental path instead (matching.PoseSearch "
                         "fed in this many gathered batches; a scan makes ~32)")
    ap.add_argument("--fit", action="store_true", help="print the model's P(d<=r) vs measured")
    args = ap.parse_args()
    if args.fit:
        model_fit(args.seed)
        return
    if args.matcher:
        for n in args.n:
            result = (run_incremental(n, *args.matcher, args.seed, args.calls) if args.calls
                      else run_matcher(n, *args.matcher, args.workers, args.seed, args.rule,
                                       args.margin))
            print(json.dumps(result), flush=True)
        return
    if args.crossover:
        for r in args.radius:
            crossover(r, args.batch, tuple(args.words), args.seed,
                      sizes=[n for n in (10_000, 30_000, 100_000, 300_000, 1_000_000)
                             if n <= max(args.n)])
        return
    if args.one:
        print(json.dumps(run_one(args.n[0], args.radius[0], args.workers, args.seed)))
        return
    for n in args.n:
        for r in args.radius:
            proc = subprocess.run([sys.executable, __file__, "--one", "--n", str(n), "--radius",
                                   str(r), "--workers", str(args.workers), "--seed",
                                   str(args.seed)], capture_output=True, text=True)
            if proc.returncode:
                print(json.dumps({"n": n, "radius": r, "error": proc.stderr[-800:]}), flush=True)
            else:
                print(proc.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
