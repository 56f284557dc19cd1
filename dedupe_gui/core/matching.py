"""Matching: candidate pairs by Hamming distance, verified and scored 0-100.

Stage 1 (``hamming.pairs_within``) keeps every pair whose pHashes, in the best orientation and
crop combination, are within ``STAGE1_MAX_DISTANCE`` bits: loose, so copies are not lost.
Stage 2 compares the pair's small thumbnails, aligned by that orientation and over a few
central-crop scales, with a correlation; that is the score. The matcher is incremental: each
``add`` pairs the new files with each other and with everything added before.
"""
from __future__ import annotations

import numpy as np

from dedupe_gui.core import fingerprint as fp
from dedupe_gui.core.fingerprint import FingerprintBatch
from dedupe_gui.core.hamming import pairs_within
from dedupe_gui.core.results import PairTable

DEFAULT_THRESHOLD = 88.0
MIN_SCORE = 50.0
STAGE1_MAX_DISTANCE = 20
PAIR_CHUNK = 4096
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


def thumb_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per file and thumbnail: mean and centred norm of the stored detail values, so a pair's
    correlation needs only one dot product."""
    t = features.reshape(len(features), fp.N_THUMBS, -1).astype(np.float32) - 128.0
    mean = t.mean(axis=2)
    norm = np.sqrt(np.maximum((t * t).sum(axis=2) - t.shape[2] * mean * mean, 0.0)) + 1e-3
    return mean.astype(np.float32), norm.astype(np.float32)


def verify(fa: np.ndarray, fb: np.ndarray, stats_a: tuple[np.ndarray, np.ndarray],
           stats_b: tuple[np.ndarray, np.ndarray], orient: np.ndarray) -> np.ndarray:
    """Scores 0-100 of pairs: rows of features of a and b, their thumb_stats, and the
    orientation taking a onto b.

    The score is the best correlation of detail thumbnails over the alignments stored
    (whole vs whole, a cropped/straightened vs b whole, a whole vs b cropped/straightened).
    """
    n_t, side = fp.N_THUMBS, fp.THUMB
    out = np.empty(len(fa), np.float32)
    for o in np.unique(orient):
        sel = np.nonzero(orient == o)[0]
        p = len(sel)
        a = fp.orient(fa[sel].reshape(p, n_t, side, side), int(o)).reshape(p, n_t, -1)
        a = a.astype(np.float32) - 128.0
        b = fb[sel].reshape(p, n_t, -1).astype(np.float32) - 128.0
        ma, na = stats_a[0][sel], stats_a[1][sel]
        mb, nb = stats_b[0][sel], stats_b[1][sel]
        f = a.shape[2]
        # sum((a - ma)(b - mb)) = a.b - f * ma * mb
        s1 = (np.einsum("pcf,pf->pc", a, b[:, 0]) - f * ma * mb[:, :1]) / (na * nb[:, :1])
        s2 = (np.einsum("pf,pcf->pc", a[:, 0], b) - f * ma[:, :1] * mb) / (na[:, :1] * nb)
        s12 = np.concatenate([s1, s2], axis=1)
        k = s12.argmax(axis=1)
        if TRIM <= 0:
            out[sel] = s12[np.arange(p), k]
            continue
        # Re-score the best alignment without its worst-matching pixels (a watermark, a logo,
        # a date stamp): the correlation of the rest.
        rows = np.arange(p)
        ca, cb = np.where(k < n_t, k, 0), np.where(k < n_t, 0, k - n_t)
        za = (a[rows, ca] - ma[rows, ca, None]) * (np.sqrt(f) / na[rows, ca, None])
        zb = (b[rows, cb] - mb[rows, cb, None]) * (np.sqrt(f) / nb[rows, cb, None])
        res = (za - zb) ** 2
        drop = max(1, int(f * TRIM))
        cut = np.partition(res, f - drop, axis=1)[:, f - drop, None]
        m = res <= cut
        out[sel] = (za * zb * m).sum(1) / np.sqrt((za * za * m).sum(1) * (zb * zb * m).sum(1) + 1e-6)
    return np.clip(out, 0, 1) * 100


class Matcher:
    """Incremental pair finder over fingerprint batches (global indices by ``first_index``)."""

    def __init__(self, mirror: bool = False) -> None:
        self.mirror = mirror
        self._orients = list(range(fp.N_ORIENT if mirror else 4))
        self._hashes = _Growing(fp.HASH_WORDS, np.uint64)
        self._feats = _Growing(fp.FEATURES, np.uint8)
        self._mean = _Growing(fp.N_THUMBS, np.float32)
        self._norm = _Growing(fp.N_THUMBS, np.float32)
        self._first = 0

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
        if n == 0:
            return PairTable()
        start = first_index - self._first
        words = self._orients + [fp.N_ORIENT + o for o in self._orients]
        queries = batch.hashes[:, words]
        base = self._hashes.array[:, [0, fp.N_ORIENT]]
        i, j, dist, k, _ = pairs_within(queries, base, STAGE1_MAX_DISTANCE, query_start=start)
        orient = np.asarray(words, np.int64)[k] % fp.N_ORIENT
        gi = i + start
        feats, mean, norm = self._feats.array, self._mean.array, self._norm.array
        scores = np.empty(len(i), np.float32)
        for c0 in range(0, len(i), PAIR_CHUNK):
            c = slice(c0, c0 + PAIR_CHUNK)
            qa, qb = gi[c], j[c]
            scores[c] = verify(feats[qa], feats[qb], (mean[qa], norm[qa]), (mean[qb], norm[qb]),
                               orient[c])
        keep = scores >= MIN_SCORE
        off = self._first
        return PairTable.build(j[keep] + off, gi[keep] + off, scores[keep], dist[keep])
