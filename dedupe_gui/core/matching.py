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

DEFAULT_THRESHOLD = 85.0
MIN_SCORE = 50.0
STAGE1_MAX_DISTANCE = 22
PAIR_CHUNK = 4096  # candidate pairs verified per vectorised step


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


def _normalise(x: np.ndarray) -> np.ndarray:
    """Rows to zero mean, unit norm (float32), so a dot product is a correlation."""
    x = x.astype(np.float32)
    x -= x.mean(axis=-1, keepdims=True)
    x /= np.linalg.norm(x, axis=-1, keepdims=True) + 1e-3
    return x


def verify(fa: np.ndarray, fb: np.ndarray, orient: np.ndarray) -> np.ndarray:
    """Scores 0-100 of pairs (features of a, of b, orientation taking a onto b)."""
    n_crops, side = len(fp.THUMB_CROPS), fp.THUMB
    ta = fa.reshape(-1, n_crops, side, side)
    tb = fb.reshape(-1, n_crops, side, side)
    out = np.empty(len(fa), np.float32)
    for o in np.unique(orient):
        sel = np.nonzero(orient == o)[0]
        a = fp.orient(ta[sel], int(o)).reshape(len(sel), n_crops, -1)
        b = tb[sel].reshape(len(sel), n_crops, -1)
        a = _normalise(a)
        b = _normalise(b)
        # a cropped vs b whole, and a whole vs b cropped
        s1 = np.einsum("pcf,pf->pc", a, b[:, 0])
        s2 = np.einsum("pf,pcf->pc", a[:, 0], b)
        out[sel] = np.maximum(s1.max(axis=1), s2.max(axis=1))
    return np.clip(out, 0, 1) * 100


class Matcher:
    """Incremental pair finder over fingerprint batches (global indices by ``first_index``)."""

    def __init__(self, mirror: bool = False) -> None:
        self.mirror = mirror
        self._orients = list(range(fp.N_ORIENT if mirror else 4))
        self._hashes = _Growing(fp.HASH_WORDS, np.uint64)
        self._feats = _Growing(fp.FEATURES, np.uint8)
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
        if n == 0:
            return PairTable()
        start = first_index - self._first
        words = self._orients + [fp.N_ORIENT + o for o in self._orients]
        queries = batch.hashes[:, words]
        base = self._hashes.array[:, [0, fp.N_ORIENT]]
        i, j, dist, k, _ = pairs_within(queries, base, STAGE1_MAX_DISTANCE, query_start=start)
        orient = np.asarray(words, np.int64)[k] % fp.N_ORIENT
        gi = i + start
        feats = self._feats.array
        scores = np.empty(len(i), np.float32)
        for c0 in range(0, len(i), PAIR_CHUNK):
            c = slice(c0, c0 + PAIR_CHUNK)
            scores[c] = verify(feats[gi[c]], feats[j[c]], orient[c])
        keep = scores >= MIN_SCORE
        off = self._first
        return PairTable.build(j[keep] + off, gi[keep] + off, scores[keep], dist[keep])
