"""How tight can stage 1 be? Recall per kind of copy and the unrelated-pair rate per radius.

    .venv/bin/python benchmarks/stage1_radius.py                   # corpus + scale + sources
    .venv/bin/python benchmarks/stage1_radius.py --sets corpus     # the labelled corpus only
    .venv/bin/python benchmarks/stage1_radius.py --end-to-end      # + full matcher per mode
    .venv/bin/python benchmarks/stage1_radius.py --sets corpus scale --poses 4 0  # pose recall

Stage 1 (``matching``) keeps a pair when its whole/85% pHashes, best of 16 combinations (4
orientations of the later file's whole and 85% hashes against the earlier file's upright
ones; 8 orientations with mirror matching), are within the whole radius, or its central-70%
hashes (best of 4 or 8 orientations) within the inner radius. This prints, for r = 6..18:

- recall per kind of copy: the share of true (original, copy) pairs stage 1 keeps, with the
  pair taken in its WORSE direction (either file may come later in a scan), so a recall
  here is never optimistic. Mirrored copies are counted with 8 orientations, others with 4;
- the unrelated-pair rate P(d <= r): the share of pairs of different pictures within r, the
  number that sets stage 1's work at scale (N^2/2 x rate candidates for the verifier).

Sets (fingerprinted once with the real worker in a process pool, hashes cached under
~/.cache/dedupe-bench-stage1/, keyed by fingerprint version):
- ``corpus``: /work/corpora/corpus (make_corpus.py: ~30 photos x 16 kinds of copy);
  unrelated = files of different groups (hard negatives, junk left out).
- ``scale``: /work/corpora/scale (make_scale_corpus.py: 4500 random views of a few dozen
  wallpapers + ~10% resized/recompressed copies); unrelated = every pair not in truth.json.
  Views of the same source overlap: a pessimistic library (many similar shots).
- ``sources``: the distinct source photos of the wallpaper packages (real, unrelated).

``--end-to-end`` also runs the full matcher (stage 1 + verification) on the corpus in both
modes and prints the copies found at the default threshold per kind.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dedupe_gui.core import fingerprint as fp  # noqa: E402

CACHE = Path.home() / ".cache" / "dedupe-bench-stage1"
SRC = Path.home() / ".cache" / "dedupe-bench-src"
RADII = range(6, 19)
WHOLE = [0, 1]  # hash rows: word k * N_ORIENT + o; k = 0 whole, 1 central 85%, 2 central 70%
INNER = 2


def cached_hashes(name: str, files: list[str], workers: int = 2) -> tuple[list[str], np.ndarray]:
    """(paths, hashes (N, HASH_WORDS)) of ``files`` that fingerprint, cached in a .npz."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}-v{fp.FINGERPRINT_VERSION}.npz"
    if path.exists():
        z = np.load(path)
        if sorted(z["paths"].tolist()) == sorted(files) or set(z["asked"].tolist()) == set(files):
            return z["paths"].tolist(), z["hashes"]
    from benchmarks.accuracy import fingerprint_all

    batch = fingerprint_all(files, workers)
    np.savez(path, paths=np.array(batch.paths), asked=np.array(files), hashes=batch.hashes)
    return list(batch.paths), batch.hashes


def source_photos() -> list[str]:
    """One file per distinct picture of the wallpaper packages (the bench's own selection)."""
    sys.path.insert(0, "/work/shared/bench")
    from make_corpus import distinct_photos, fetch_sources  # type: ignore[import-not-found]

    pkgs = [p.name for p in SRC.iterdir() if p.is_dir() and p.name != "debs"]
    return [str(p) for p in distinct_photos(fetch_sources(pkgs, SRC), 800)]


def query_words(orients: int) -> list[int]:
    return [k * fp.N_ORIENT + o for k in WHOLE for o in range(orients)]


def stage1_distance(hq: np.ndarray, hb: np.ndarray, orients: int) -> tuple[np.ndarray, np.ndarray]:
    """(whole/85% distance, inner distance) matrices of files ``hq`` (later, queries) against
    ``hb`` (earlier, stored), as the matcher computes them; uint8 (len(hq), len(hb))."""
    stored = hb[:, [k * fp.N_ORIENT for k in WHOLE]]
    dw = np.full((len(hq), len(hb)), 255, np.uint8)
    di = np.full((len(hq), len(hb)), 255, np.uint8)
    for s in range(0, len(hq), 256):
        q = hq[s:s + 256]
        for w in query_words(orients):
            for m in range(stored.shape[1]):
                np.minimum(dw[s:s + 256], np.bitwise_count(q[:, w, None] ^ stored[None, :, m]),
                           out=dw[s:s + 256])
        for o in range(orients):
            np.minimum(di[s:s + 256], np.bitwise_count(
                q[:, INNER * fp.N_ORIENT + o, None] ^ hb[None, :, INNER * fp.N_ORIENT]),
                out=di[s:s + 256])
    return dw, di


def pair_distance(h: np.ndarray, a: np.ndarray, b: np.ndarray, orients: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per pair (a[p], b[p]): the worse direction's (whole/85%, inner) distances."""
    out_w, out_i = [], []
    for x, y in ((a, b), (b, a)):
        q, s = h[x], h[y]
        dw = np.min([np.bitwise_count(q[:, w] ^ s[:, k * fp.N_ORIENT])
                     for w in query_words(orients) for k in WHOLE], axis=0)
        di = np.min([np.bitwise_count(q[:, INNER * fp.N_ORIENT + o] ^ s[:, INNER * fp.N_ORIENT])
                     for o in range(orients)], axis=0)
        out_w.append(dw)
        out_i.append(di)
    return np.maximum(*out_w), np.maximum(*out_i)


def pose_distance(h: np.ndarray, a: np.ndarray, b: np.ndarray, orients: int, crops: list[int],
                  margin: int) -> np.ndarray:
    """Per pair: the smallest distance between a selected pose word of a and one of b
    (``core.poses``, large-library mode; symmetric, no worse direction)."""
    from dedupe_gui.core.poses import pose_select

    def words(rows):
        ws, sel = [], []
        for k in crops:
            w = rows[:, [k * fp.N_ORIENT + o for o in range(orients)]]
            ws.append(w)
            sel.append(pose_select(w, margin))
        return np.concatenate(ws, axis=1), np.concatenate(sel, axis=1)

    wa, sa = words(h[a])
    wb, sb = words(h[b])
    d = np.bitwise_count(wa[:, :, None] ^ wb[:, None, :]).astype(np.int16)
    d[~(sa[:, :, None] & sb[:, None, :])] = 255
    return d.reshape(len(a), -1).min(axis=1)


def print_pose_recall(h: np.ndarray, pairs: list[tuple[int, int, str]], title: str,
                      margin: int, whole: int = 8, inner: int = 8) -> None:
    """Large-library mode at (whole, inner): recall per kind with all orientations (the
    rule before poses) and with selected pose words (what the matcher does now)."""
    from dedupe_gui.core.poses import pose_words

    print(f"\n{title}: stage-1 recall at {whole}/{inner}, all orientations vs selected poses "
          f"(margin {margin}); words per file and crop, 4 orientations: "
          + ", ".join(f"{len(pose_words(h, (k,), list(range(4)), margin)[0]) / len(h):.2f}"
                      for k in (0, 1, 2))
          + "; 8: " + ", ".join(f"{len(pose_words(h, (k,), list(range(8)), margin)[0]) / len(h):.2f}"
                                for k in (0, 1, 2)))
    print(f"{'kind':22s} {'n':>3s} {'before':>7s} {'poses':>7s}  lost")
    for kind in sorted({k for _, _, k in pairs}):
        sel = [(a, b) for a, b, k in pairs if k == kind]
        a, b = np.array([p[0] for p in sel]), np.array([p[1] for p in sel])
        orients = fp.N_ORIENT if kind == "mirror" else 4
        dw, di = pair_distance(h, a, b, orients)
        old = (dw <= whole) | (di <= inner)
        new = (((pose_distance(h, a, b, orients, WHOLE, margin) <= whole) & (dw <= whole))
               | ((pose_distance(h, a, b, orients, [INNER], margin) <= inner) & (di <= inner)))
        print(f"{kind:22s} {len(sel):3d} {old.mean():7.3f} {new.mean():7.3f}  {int((old & ~new).sum())}")


def unrelated_rate(h: np.ndarray, groups: np.ndarray, orients: int) -> dict[str, np.ndarray]:
    """P(d <= r) for r in RADII over pairs of files in different ``groups`` (-1: skip);
    whole/85% alone, inner alone and either (what stage 1 keeps), later file as query."""
    keep = groups >= 0
    h, groups = h[keep], groups[keep]
    hist = {k: np.zeros(256, np.int64) for k in ("whole", "inner", "either")}
    for s in range(0, len(h), 512):
        dw, di = stage1_distance(h[s:s + 512], h[:s + 512], orients)
        i = np.arange(s, min(len(h), s + 512))[:, None]
        j = np.arange(min(len(h), s + 512))[None, :]
        ok = (j < i) & (groups[i] != groups[j])
        for k, d in (("whole", dw), ("inner", di)):
            hist[k] += np.bincount(d[ok], minlength=256)
        # "either" at radius pair (r, r - 6): the inner bound kept 6 bits below the whole one
        hist["either"] += np.bincount(np.minimum(dw, di.astype(np.int16) + 6)[ok].astype(np.uint8),
                                      minlength=256)
    total = hist["whole"].sum()
    return {k: np.cumsum(v)[list(RADII)] / total for k, v in hist.items()} | {"pairs": total}


def corpus_truth(root: Path, paths: list[str]) -> tuple[list[tuple[int, int, str]], np.ndarray]:
    """True pairs (original, copy, kind) and a group per file (-1: not a group member)."""
    truth = json.loads((root / "truth.json").read_text())
    idx = {os.path.relpath(p, root): k for k, p in enumerate(paths)}
    groups = np.full(len(paths), -1, np.int64)
    pairs = []
    for g, grp in enumerate(truth["groups"]):
        if grp["original"] in idx:
            groups[idx[grp["original"]]] = g
        for kind, v in grp["variants"].items():
            if v in idx:
                groups[idx[v]] = g
                if grp["original"] in idx:
                    pairs.append((idx[grp["original"]], idx[v], kind))
    return pairs, groups


def scale_truth(root: Path, paths: list[str]) -> tuple[list[tuple[int, int, str]], np.ndarray]:
    truth = json.loads((root / "truth.json").read_text())
    idx = {os.path.relpath(p, root): k for k, p in enumerate(paths)}
    groups = np.arange(len(paths))
    pairs = []
    for a, b in truth["pairs"]:
        if a in idx and b in idx:
            pairs.append((idx[a], idx[b], "resized/recompressed"))
            groups[idx[b]] = idx[a]
    return pairs, groups


def print_recall(h: np.ndarray, pairs: list[tuple[int, int, str]], title: str) -> None:
    kinds = sorted({k for _, _, k in pairs})
    print(f"\n{title}: stage-1 recall per kind (worse direction); columns r = whole/85% radius, "
          f"inner radius = r - 6 (and the inner-only hits in brackets at the end)")
    print(f"{'kind':22s} {'n':>3s} " + " ".join(f"{r:>5d}" for r in RADII)
          + "   max d whole/inner")
    for kind in kinds:
        sel = [(a, b) for a, b, k in pairs if k == kind]
        a, b = np.array([p[0] for p in sel]), np.array([p[1] for p in sel])
        dw, di = pair_distance(h, a, b, fp.N_ORIENT if kind == "mirror" else 4)
        rec = [np.mean((dw <= r) | (di <= r - 6)) for r in RADII]
        print(f"{kind:22s} {len(sel):3d} " + " ".join(f"{x:5.2f}" for x in rec)
              + f"   {int(dw.max()):2d} {int(di.max()):2d}  whole d: {sorted(dw.tolist())[-4:]}"
              f" inner d: {sorted(di.tolist())[-4:]}")


def print_rate(h: np.ndarray, groups: np.ndarray, title: str) -> dict:
    out = {}
    for orients in (4, 8):
        rate = unrelated_rate(h, groups, orients)
        out[orients] = rate
        print(f"\n{title}: unrelated-pair rate P(d <= r), {orients} orientations, "
              f"{rate['pairs']} pairs")
        print(f"{'r':>8s} " + " ".join(f"{r:>8d}" for r in RADII))
        for k in ("whole", "inner", "either"):
            print(f"{k:>8s} " + " ".join(f"{x:8.1e}" for x in rate[k]))
    return out


def end_to_end(root: Path, radii: list[tuple[int, int]]) -> None:
    """The full matcher on the corpus with each (whole, inner) radius pair: copies found at
    the default threshold per kind, mirror matching on (finds every kind)."""
    from benchmarks.accuracy import corpus_files, fingerprint_all
    from dedupe_gui.core.matching import DEFAULT_THRESHOLD, Matcher, Stage1Bounds

    files = corpus_files(root)
    batch = fingerprint_all(files, 2)
    pairs, _ = corpus_truth(root, batch.paths)
    print(f"\nend to end on {root} (mirror on, threshold {DEFAULT_THRESHOLD:g}): copies found")
    for whole, inner in radii:
        table = Matcher(mirror=True, bounds=Stage1Bounds(whole, inner)).add(batch, 0)
        n = table.count_at(DEFAULT_THRESHOLD)
        found = {frozenset(p) for p in zip(table.a[:n].tolist(), table.b[:n].tolist(),
                                           strict=True)}
        per = {}
        for a, b, kind in pairs:
            per.setdefault(kind, []).append(frozenset((a, b)) in found)
        print(f"  radii {whole}/{inner}: {sum(map(sum, per.values()))}/{len(pairs)}; "
              + ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in sorted(per.items())
                          if sum(v) < len(v)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["corpus", "scale", "sources"])
    ap.add_argument("--corpus", type=Path, default=Path("/work/corpora/corpus"))
    ap.add_argument("--scale", type=Path, default=Path("/work/corpora/scale"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--poses", nargs="*", type=int, metavar="MARGIN",
                    help="also the large-library recall (8/8): all orientations vs selected "
                         "poses at these margins (default: POSE_MARGIN)")
    ap.add_argument("--end-to-end", nargs="*", type=int, metavar="W I",
                    help="also run the full matcher at these (whole, inner) radius pairs")
    a = ap.parse_args()
    if a.poses is not None and not a.poses:
        from dedupe_gui.core.poses import POSE_MARGIN

        a.poses = [POSE_MARGIN]
    a.poses = a.poses or []
    from benchmarks.accuracy import corpus_files

    labelled = (("corpus", a.corpus, corpus_truth, "corpus, files of different groups"),
                ("scale", a.scale, scale_truth, "scale, all but the known pairs"))
    for name, root, truth, rate_label in labelled:
        if name not in a.sets:
            continue
        paths, h = cached_hashes(name, corpus_files(root), a.workers)
        pairs, groups = truth(root, paths)
        label = f"{name} ({len(paths)} files)"
        print_recall(h, pairs, label)
        for m in a.poses:
            print_pose_recall(h, pairs, label, m)
        print_rate(h, groups, rate_label)
    if "sources" in a.sets and SRC.exists():
        paths, h = cached_hashes("sources", source_photos(), a.workers)
        print_rate(h, np.arange(len(paths)), f"sources ({len(paths)} distinct photos)")
    if a.end_to_end is not None:
        r = a.end_to_end or [18, 12]
        end_to_end(a.corpus, list(zip(r[::2], r[1::2], strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
