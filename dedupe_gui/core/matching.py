"""Matching: candidate pairs by Hamming distance, verified and scored 0-100.

Stage 1 (``hamming.pairs_within`` tiles, or the ``hashindex`` MIH index for huge libraries)
keeps every pair whose pHashes, in the best orientation (4 rotations, 8 with mirror) and
crop combination (whole/central 85%), are within ``STAGE1_MAX_DISTANCE`` bits, or whose
central-70% hashes are within ``INNER_MAX_DISTANCE`` (watermarks and logos in a corner).

Stage 2 scores each candidate from the files' detail thumbnails (high-passed, robustly
clipped; see ``fingerprint``): the best correlation over the stored alignments (whole vs
whole, central crops of 95..80%, 1- and 2-degree straightenings), first at half resolution (most
candidates stop there, cheaply), then at full resolution with the worst ``TRIM`` share of
pixels left out (a watermark or date stamp). Pairs whose detail is only lines must agree in
2-D too. The score is 100 x that correlation: 100 = same detail everywhere.

Threshold, chosen on data (benchmarks/accuracy.py on two corpora from different wallpaper
packages, 47 photos x 16 kinds of copy): every original-copy pair scored >= 92.3 (the
lowest: watermarked copies, then crops and 2-degree rotations), while different pictures,
overlapping views (~40%) and shifted views of periodic textures stayed <= 84.4 (excluding a
mirrored copy of a symmetric artwork with mirror matching off). DEFAULT_THRESHOLD sits in
the middle of that gap. MIN_SCORE keeps the weaker pairs for the slider.
"""
from __future__ import annotations

import numpy as np

from dedupe_gui.core import fingerprint as fp
from dedupe_gui.core.fingerprint import FingerprintBatch
from dedupe_gui.core.hashindex import CandidateSearch
from dedupe_gui.core.results import PairTable

DEFAULT_THRESHOLD = 88.0  # score at which a pair is reported by default (see above)
MIN_SCORE = 60.0  # pairs down to this score are kept, so the slider can go lower
STAGE1_MAX_DISTANCE = 18  # bits; copies measured <= 16 (watermarks), 12-14 (2-degree turns)
INNER_MAX_DISTANCE = 12  # bits, central-70% hashes only (corner watermarks measured <= 8)
ONE_D_SHARE = 0.15  # 2-D share of detail energy below which the detail counts as lines
ONE_D_MIN_CORR = 0.45  # correlation the 2-D remainder of such a pair must reach
ONE_D_CAP = 70.0  # score cap otherwise (below the threshold, above MIN_SCORE: slider reach)
COARSE_MIN = 55.0  # half-resolution score below which a candidate is dropped unverified
PAIR_CHUNK = 4096  # candidate pairs verified per vectorised step (bounded memory)
TRIM = 0.03  # share of worst-matching thumbnail pixels left out of the final correlation


class _Growing:
    """An append-only 2-D array with amortised O(1) appends."""

    def __init__(self, cols: int, dtype) -> None:
        self._a = np.empty((1024, cols), dtype)
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        need = self.n + len(rows)
        if need > len(self._a):
            grown = np.empty((max(need, 2 * len(self._a)), self._a.shape[1]), self._a.dtype)
            grown[:self.n] = self._a[:self.n]
            self._a = grown
        self._a[self.n:need] = rows
        self.n = need

    @property
    def array(self) -> np.ndarray:
        return self._a[:self.n]


def coarse(features: np.ndarray) -> np.ndarray:
    """Features at half the side (2x2 means), for a cheap first look at each candidate."""
    side = fp.THUMB
    t = features.reshape(len(features), fp.N_THUMBS, side // 2, 2, side // 2, 2)
    total = t[:, :, :, 0, :, 0].astype(np.uint16)
    total += t[:, :, :, 1, :, 0]
    total += t[:, :, :, 0, :, 1]
    total += t[:, :, :, 1, :, 1]
    return ((total + 2) >> 2).astype(np.uint8).reshape(len(features), -1)


def thumb_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per file and thumbnail: mean and centred norm of the stored values, so a pair's
    correlation needs only one dot product of the raw bytes."""
    t = features.reshape(len(features), fp.N_THUMBS, -1).astype(np.float32)
    mean = t.mean(axis=2)
    norm = np.sqrt(np.maximum((t * t).sum(axis=2) - t.shape[2] * mean * mean, 0.0)) + 1e-3
    return mean.astype(np.float32), norm.astype(np.float32)


def _oriented_first(t: np.ndarray, orient: np.ndarray, inverse: bool) -> np.ndarray:
    """Thumbnail 0 (the whole picture) of each row of ``t`` (P, n_thumbs, f), oriented."""
    side = int(round(t.shape[2] ** 0.5))
    out = np.empty((len(t), side * side), t.dtype)
    for o in np.unique(orient):
        sel = np.nonzero(orient == o)[0]
        oo = fp.inverse_orientation(int(o)) if inverse else int(o)
        out[sel] = fp.orient(t[sel, 0].reshape(-1, side, side), oo).reshape(len(sel), -1)
    return out


def verify(fa: np.ndarray, fb: np.ndarray, stats_a: tuple[np.ndarray, np.ndarray],
           stats_b: tuple[np.ndarray, np.ndarray], orient: np.ndarray,
           trim: float | None = None) -> np.ndarray:
    """Scores 0-100 of pairs: rows of features of a and b, their thumb_stats, and the
    orientation taking a onto b.

    The score is the best correlation of detail thumbnails over the alignments stored
    (a cropped/straightened vs b whole, a whole vs b cropped/straightened), recomputed for
    the winner without its worst TRIM share of pixels (a watermark, a date stamp).
    """
    trim = TRIM if trim is None else trim
    p, n_t = len(fa), fp.N_THUMBS
    f = fa.shape[1] // n_t
    if p == 0:
        return np.empty(0, np.float32)
    a = fa.reshape(p, n_t, f).astype(np.float32)
    b = fb.reshape(p, n_t, f).astype(np.float32)
    ma, na = stats_a
    mb, nb = stats_b
    b0 = _oriented_first(b, orient, inverse=True)  # b whole, in a's frame
    a0 = _oriented_first(a, orient, inverse=False)  # a whole, in b's frame
    # sum((x - mx)(y - my)) = x.y - f * mx * my
    s1 = (np.einsum("pcf,pf->pc", a, b0) - f * ma * mb[:, :1]) / (na * nb[:, :1])
    s2 = (np.einsum("pf,pcf->pc", a0, b) - f * ma[:, :1] * mb) / (na[:, :1] * nb)
    s12 = np.concatenate([s1, s2], axis=1)
    k = s12.argmax(axis=1)
    rows = np.arange(p)
    if trim <= 0:
        return np.clip(s12[rows, k], 0, 1) * 100
    first = k < n_t
    ca, cb = np.where(first, k, 0), np.where(first, 0, k - n_t)
    x = np.where(first[:, None], a[rows, ca], a0)
    y = np.where(first[:, None], b0, b[rows, cb])
    x -= ma[rows, ca, None]
    x *= (np.sqrt(f) / na[rows, ca])[:, None]
    y -= mb[rows, cb, None]
    y *= (np.sqrt(f) / nb[rows, cb])[:, None]
    res = (x - y) ** 2
    drop = max(1, int(f * trim))
    cut = np.partition(res, f - drop, axis=1)[:, f - drop, None]
    keep = res <= cut
    xy = np.einsum("pf,pf->p", x * keep, y)
    xx = np.einsum("pf,pf->p", x * keep, x)
    yy = np.einsum("pf,pf->p", y * keep, y)
    score = np.clip(xy / np.sqrt(xx * yy + 1e-6), 0, 1) * 100
    return np.minimum(score, np.where(_one_dimensional(x, y), ONE_D_CAP, 100.0))


def _one_dimensional(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pairs whose shared detail is (almost) only rows or columns, e.g. a horizon in a
    featureless sky, and whose 2-D remainder does not agree.

    A line matches any other line at about the same height, and the crop alignments tried
    make that likely: such a correlation is weak evidence. What is left after removing row
    and column means must then correlate too.
    """
    side = int(round(x.shape[1] ** 0.5))

    def two_d(t: np.ndarray) -> np.ndarray:
        t = t.reshape(len(t), side, side)
        return (t - t.mean(axis=2, keepdims=True) - t.mean(axis=1, keepdims=True)
                + t.mean(axis=(1, 2), keepdims=True)).reshape(len(t), -1)

    rx, ry = two_d(x), two_d(y)
    ex, ey = (rx * rx).sum(1), (ry * ry).sum(1)
    share = np.minimum(ex / ((x * x).sum(1) + 1e-6), ey / ((y * y).sum(1) + 1e-6))
    r2 = (rx * ry).sum(1) / np.sqrt(ex * ey + 1e-6)
    return (share < ONE_D_SHARE) & (r2 < ONE_D_MIN_CORR)


class Matcher:
    """Incremental pair finder over fingerprint batches (global indices by ``first_index``)."""

    def __init__(self, mirror: bool = False) -> None:
        self.mirror = mirror
        self._orients = list(range(fp.N_ORIENT if mirror else 4))
        self._hashes = _Growing(fp.HASH_WORDS, np.uint64)
        self._feats = _Growing(fp.FEATURES, np.uint8)
        self._mean = _Growing(fp.N_THUMBS, np.float32)
        self._norm = _Growing(fp.N_THUMBS, np.float32)
        self._coarse = _Growing(fp.FEATURES // 4, np.uint8)
        self._cmean = _Growing(fp.N_THUMBS, np.float32)
        self._cnorm = _Growing(fp.N_THUMBS, np.float32)
        self._first = 0
        # hamming.pairs_within (tiles), or an MIH index once tiles stop paying (hashindex)
        self._stage1 = CandidateSearch()
        self._stage1_inner = CandidateSearch()  # its own: a search keeps state about its base

    def add(self, batch: FingerprintBatch, first_index: int) -> PairTable:
        """Pairs among the new files and between them and every file added before."""
        n = len(batch.paths)
        if self._hashes.n == 0:
            self._first = first_index
        if first_index - self._first != self._hashes.n:
            raise ValueError("batches must be added with consecutive indices")
        self._hashes.append(batch.hashes)
        self._feats.append(batch.features)
        mean, norm = thumb_stats(batch.features)
        self._mean.append(mean)
        self._norm.append(norm)
        small = coarse(batch.features)
        self._coarse.append(small)
        mean, norm = thumb_stats(small)
        self._cmean.append(mean)
        self._cnorm.append(norm)
        if n == 0:
            return PairTable()
        start = first_index - self._first
        words = self._orients + [fp.N_ORIENT + o for o in self._orients]
        queries = batch.hashes[:, words]
        base = self._hashes.array[:, [0, fp.N_ORIENT]]
        i, j, dist, k, _ = self._stage1(queries, base, STAGE1_MAX_DISTANCE,
                                         query_start=start)
        orient = np.asarray(words, np.int64)[k] % fp.N_ORIENT
        # The inner 70% alone: a corner watermark or logo cannot push that hash away.
        inner = [2 * fp.N_ORIENT + o for o in self._orients]
        i2, j2, d2, k2, _ = self._stage1_inner(batch.hashes[:, inner],
                                               self._hashes.array[:, 2 * fp.N_ORIENT],
                                               INNER_MAX_DISTANCE, query_start=start)
        if len(i2):
            i, j = np.concatenate([i, i2]), np.concatenate([j, j2])
            dist = np.concatenate([dist, d2])
            orient = np.concatenate([orient, np.asarray(self._orients, np.int64)[k2]])
            _, first = np.unique(i * (self._hashes.n + 1) + j, return_index=True)
            i, j, dist, orient = i[first], j[first], dist[first], orient[first]
        gi = i + start
        scores = np.zeros(len(i), np.float32)
        for c0 in range(0, len(i), PAIR_CHUNK):
            c = np.arange(c0, min(len(i), c0 + PAIR_CHUNK))
            c = c[self._score(c, gi, j, orient, scores, coarse_pass=True) >= COARSE_MIN]
            self._score(c, gi, j, orient, scores, coarse_pass=False)
        keep = scores >= MIN_SCORE
        off = self._first
        return PairTable.build(j[keep] + off, gi[keep] + off, scores[keep], dist[keep])

    def _score(self, rows: np.ndarray, qa: np.ndarray, qb: np.ndarray, orient: np.ndarray,
               out: np.ndarray, coarse_pass: bool) -> np.ndarray:
        """Verify candidate ``rows`` (at half resolution first: most fail there, cheaply)."""
        if coarse_pass:
            feats, mean, norm = self._coarse.array, self._cmean.array, self._cnorm.array
        else:
            feats, mean, norm = self._feats.array, self._mean.array, self._norm.array
        a, b = qa[rows], qb[rows]
        s = verify(feats[a], feats[b], (mean[a], norm[a]), (mean[b], norm[b]), orient[rows],
                   trim=0.0 if coarse_pass else TRIM)
        if not coarse_pass:
            out[rows] = s
        return s
