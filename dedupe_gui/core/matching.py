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

Large libraries (``LARGE_LIBRARY`` files or more, decided once per scan by
``stage1_bounds``): stage 1 keeps pairs within ``LARGE_STAGE1_DISTANCE`` /
``LARGE_INNER_DISTANCE`` bits instead. Measured by benchmarks/stage1_radius.py: ~1-2% of
pairs of different pictures lie within the loose 18 bits (5e9 candidates among 1M files, more
than any index or verifier can take), 130x fewer within 8 on distinct photos (42x on
overlapping views); every copy kind keeps its recall at 8 bits except 2-degree turns (whole
distance up to 12: ~70% kept in their worse direction). In this mode a pair is also compared
only in its files' selected poses (``poses``, ``PoseSearch``): ~1.35 words per file and
crop instead of 4 query words, 8x less stage-1 work at 200k (candidates_scale --matcher);
the pairs are a subset of the rule above (stage1_radius --poses: 2 of 29 2-degree turns
and 1 of 486 resized copies fewer).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dedupe_gui.core import fingerprint as fp
from dedupe_gui.core.fingerprint import FingerprintBatch
from dedupe_gui.core.hamming import best_combination
from dedupe_gui.core.hashindex import CandidateSearch, unique_int
from dedupe_gui.core.poses import pose_words
from dedupe_gui.core.results import PairTable

DEFAULT_THRESHOLD = 88.0  # score at which a pair is reported by default (see above)
MIN_SCORE = 60.0  # pairs down to this score are kept, so the slider can go lower
STAGE1_MAX_DISTANCE = 18  # bits; copies measured <= 16 (watermarks), 12-14 (2-degree turns)
INNER_MAX_DISTANCE = 12  # bits, central-70% hashes only (corner watermarks measured <= 8)
ONE_D_SHARE = 0.15  # 2-D share of detail energy below which the detail counts as lines
ONE_D_MIN_CORR = 0.45  # correlation the 2-D remainder of such a pair must reach
ONE_D_CAP = 70.0  # score cap otherwise (below the threshold, above MIN_SCORE: slider reach)
COARSE_MIN = 55.0  # half-resolution score below which a candidate is dropped unverified
PAIR_CHUNK = 1 << 17  # candidate pairs per half-resolution step (~50 MB of temporaries)
FINE_CHUNK = 512  # pairs per full-resolution step (its temporaries stay in cache)
STATS_CHUNK = 256  # files per step of ``thumb_stats`` (their float copies stay in cache)
GROUP_CHUNK = 1 << 12  # pairs per step of ``_dots_by_owner`` (~40 MB gathered at most)
MIN_GROUP = 4  # mean pairs per file below which grouping costs more Python than it saves
TRIM = 0.03  # share of worst-matching thumbnail pixels left out of the final correlation
# From this many files stage 1 uses the tight bounds: tiles at the loose bound would cost
# ~1600 s CPU at 200k (16 word combinations x 2e10 pairs x TILE_COST) and hand ~4e8
# candidates (1.8% of pairs) to the verifier; the index at the tight bounds ~50 s.
LARGE_LIBRARY = 200_000
LARGE_STAGE1_DISTANCE = 8  # bits: crops, watermarks (whole) measured <= 8 except 2-degree turns
LARGE_INNER_DISTANCE = 8  # bits, central-70%: corner watermarks measured <= 8
POSE_QUERY_SLICE = 1 << 16  # new pose words per index query (bounds its raw word pairs)
SPILL_BYTES = 1 << 30  # a matcher array past this moves to a memory-mapped file (spill_dir)


@dataclass(frozen=True)
class Stage1Bounds:
    """Stage 1's Hamming bounds: whole/85% hashes, central-70% hashes; ``large`` = the
    large-library mode (reported to the user: some far copies are not looked for)."""

    whole: int = STAGE1_MAX_DISTANCE
    inner: int = INNER_MAX_DISTANCE
    large: bool = False


def stage1_bounds(n_files: int) -> Stage1Bounds:
    """The bounds for a scan of ``n_files`` pictures, decided once before matching starts
    (so a library's pairs never depend on the order its files came in)."""
    if n_files >= LARGE_LIBRARY:
        return Stage1Bounds(LARGE_STAGE1_DISTANCE, LARGE_INNER_DISTANCE, large=True)
    return Stage1Bounds()


@dataclass(frozen=True)
class Stage1Words:
    """Which hash words (columns of ``FingerprintBatch.hashes``) stage 1 compares: every
    orientation of a new file's whole and 85% hashes against an earlier file's upright ones,
    and its central-70% orientations against the upright central 70%."""

    whole_query: list[int]
    whole_stored: list[int]
    inner_query: list[int]
    inner_stored: list[int]


def stage1_words(orients: list[int]) -> Stage1Words:
    """The words for ``orients`` (0-3, or 0-7 with mirror)."""
    n = fp.N_ORIENT
    return Stage1Words(orients + [n + o for o in orients], [0, n],
                       [2 * n + o for o in orients], [2 * n])


def pose_searches(orients: list[int], search: str | None = None
                  ) -> tuple[PoseSearch, PoseSearch]:
    """The large-library stage 1 (whole/85%, central 70%), as the matcher runs it."""
    w = stage1_words(orients)
    return (PoseSearch((0, 1), orients, w.whole_query, w.whole_stored, search),
            PoseSearch((2,), orients, w.inner_query, w.inner_stored, search))


class _Growing:
    """An append-only 2-D array with amortised O(1) appends.

    With ``spill_dir``, an array that would outgrow ``spill_bytes`` moves to an unlinked
    temporary file there, memory-mapped: the OS keeps what fits in RAM and pages the rest.
    Why: the verification thumbnails take ~12 KB per file, 12 GB for a million-file scan,
    more than many machines have; the file disappears with the process, even on a crash.
    """

    def __init__(self, cols: int, dtype, spill_dir: str | None = None,
                 spill_bytes: int = SPILL_BYTES) -> None:
        row = cols * np.dtype(dtype).itemsize
        self._a = np.empty((max(1, min(1024, spill_bytes // row)), cols), dtype)
        self.n = 0
        self._spill_dir, self._spill_bytes = spill_dir, spill_bytes
        self._file = None  # the backing file once spilled

    @property
    def spilled(self) -> bool:
        return self._file is not None

    def append(self, rows: np.ndarray) -> None:
        need = self.n + len(rows)
        if need > len(self._a):
            self._grow(max(need, 2 * len(self._a)))
        self._a[self.n:need] = rows
        self.n = need

    def _grow(self, capacity: int) -> None:
        """A new buffer (in RAM, or a new mapped file: a mapped file cannot grow on
        Windows) and one copy of the rows: amortised O(1) either way."""
        cols, dtype = self._a.shape[1], self._a.dtype
        grown = None
        if self._spill_dir is not None and capacity * cols * dtype.itemsize > self._spill_bytes:
            grown = self._mapped(capacity)
        if grown is None:
            grown = np.empty((capacity, cols), dtype)
        grown[:self.n] = self._a[:self.n]
        self._a = grown

    def _mapped(self, capacity: int) -> np.ndarray | None:
        """A new mapped file of ``capacity`` rows, or None when the folder refuses one (full,
        read-only, gone): the scan then goes on in RAM rather than failing mid-way."""
        import tempfile

        cols, dtype = self._a.shape[1], self._a.dtype
        try:
            fh = tempfile.TemporaryFile(prefix="dedupe-matcher-", dir=self._spill_dir)
            fh.truncate(capacity * cols * dtype.itemsize)
            grown = np.memmap(fh, dtype, mode="r+", shape=(capacity, cols))
        except (OSError, ValueError):
            self._spill_dir = None  # do not try again at every growth
            return None
        if self._file is not None:
            self._file.close()  # the old map keeps its own handle until it is freed
        self._file = fh
        return grown

    @property
    def array(self) -> np.ndarray:
        return self._a[:self.n]


class PoseSearch:
    """Large-library stage 1 for one kind of hash (whole/85% or central 70%): each file's
    selected pose words (``poses``) against those of every earlier file, then the default
    rule's best word combination within the bound (so the pairs are a subset of the default
    rule's, with its distance and orientation).

    The words are flattened, a file owning one or more consecutive rows; the search is a
    ``CandidateSearch`` over single words (MIH index past its size, tiles before)."""

    def __init__(self, crops: tuple[int, ...], orients: list[int], query_words: list[int],
                 stored_words: list[int], search: str | None = None) -> None:
        self.crops, self.orients = crops, orients
        self.query_words, self.stored_words = query_words, stored_words
        self._words = _Growing(1, np.uint64)
        self._owner = _Growing(1, np.int64)
        self.search = CandidateSearch(search)

    def add(self, new: np.ndarray, stored: np.ndarray, start: int, radius: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(i, j, dist, k) sorted by (i, j): new file ``i`` (row of ``new``, the hash rows
        of files ``start``...) against file ``j < start + i`` (row of ``stored``, every file
        so far), ``k`` the query word of the best combination (as ``hamming.pairs_within``)."""
        w, own = pose_words(new, self.crops, self.orients)
        own = own + start
        total = np.int64(len(stored))

        def keys(oi: np.ndarray, oj: np.ndarray) -> np.ndarray:
            keep = oi != oj  # two words of one file
            return unique_int(oi[keep] * total + oj[keep])

        parts = []
        if self._words.n:  # against every earlier file's words, in slices: a late batch of
            # a 5M library finds ~1e8 word pairs, held only as distinct file pairs
            for s in range(0, w.size, POSE_QUERY_SLICE):
                qi, bj, *_ = self.search(w[s:s + POSE_QUERY_SLICE, None], self._words.array,
                                         radius)
                parts.append(keys(own[qi + s], self._owner.array[bj, 0]))
        qi, qj = self.search.among(w, radius)  # and among themselves (one self-join)
        parts.append(keys(own[qi], own[qj]))  # rows in file order: own[qj] <= own[qi]
        self._words.append(w[:, None])
        self._owner.append(own[:, None])
        key = unique_int(np.concatenate(parts))
        i, j = key // total, key % total
        dist, k, _ = best_combination(stored[i[:, None], self.query_words],
                                      stored[j[:, None], self.stored_words])
        ok = dist <= radius
        return i[ok] - start, j[ok], dist[ok], k[ok]


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
    correlation needs only one dot product of the raw bytes. In slices of files: a whole
    rescan at once would otherwise make float copies of every feature (~180 MB for 5k)."""
    n = len(features)
    mean = np.empty((n, fp.N_THUMBS), np.float32)
    norm = np.empty((n, fp.N_THUMBS), np.float32)
    for s in range(0, n, STATS_CHUNK):
        t = features[s:s + STATS_CHUNK].reshape(-1, fp.N_THUMBS,
                                                features.shape[1] // fp.N_THUMBS)
        t = t.astype(np.float32)
        m = t.mean(axis=2)
        mean[s:s + STATS_CHUNK] = m
        norm[s:s + STATS_CHUNK] = np.sqrt(np.maximum((t * t).sum(axis=2)
                                                     - t.shape[2] * m * m, 0.0)) + 1e-3
    return mean, norm


def _oriented_first(t: np.ndarray, orient: np.ndarray, inverse: bool) -> np.ndarray:
    """Thumbnail 0 (the whole picture) of each row of ``t`` (P, n_thumbs, f), oriented."""
    side = int(round(t.shape[2] ** 0.5))
    out = np.empty((len(t), side * side), t.dtype)
    for o in np.unique(orient):
        sel = np.nonzero(orient == o)[0]
        oo = fp.inverse_orientation(int(o)) if inverse else int(o)
        out[sel] = fp.orient(t[sel, 0].reshape(-1, side, side), oo).reshape(len(sel), -1)
    return out


def _dots_by_owner(thumbs: np.ndarray, owner: np.ndarray, partner: np.ndarray,
                   orient: np.ndarray, inverse: bool) -> np.ndarray:
    """(P, n_thumbs) float32: every thumbnail of file ``owner[p]`` . the whole-picture
    thumbnail of file ``partner[p]`` in the owner's frame (``orient``, ``inverse``: as in
    ``_oriented_first``).

    Pairs are grouped by owner so each file's thumbnails are converted to float and
    multiplied once with all its partners' vectors (one small product per file), instead of
    being copied and converted once per pair: that copy dominated a rescan (~45 candidates
    per file). Per (pair, thumbnail) it is the same contiguous float32 reduction over f as
    the per-pair einsum, hence the same sums bit for bit (pinned by
    ``tests/core/test_matching.py`` against the per-pair form).
    """
    n_t = fp.N_THUMBS
    f = thumbs.shape[1] // n_t
    # Products of bytes are integers <= 255**2; while f of them sum below 2**24 every float32
    # sum is exact in any order, so a BLAS product (faster, any order) gives the same bits.
    exact = f * 255 ** 2 < 2 ** 24  # the half-resolution pass (f = 256)
    out = np.empty((len(owner), n_t), np.float32)
    order = np.argsort(owner, kind="stable")
    for c0 in range(0, len(order), GROUP_CHUNK):
        sel = order[c0:c0 + GROUP_CHUNK]  # pairs of consecutive owners
        vecs = _oriented_first(thumbs[partner[sel], None, :f], orient[sel], inverse)
        vecs = vecs.astype(np.float32)
        owners, starts = np.unique(owner[sel], return_index=True)
        if len(owners) * MIN_GROUP > len(sel):  # few pairs per file: one step, per pair
            # bytes cast to float32 in einsum's own buffers (8192 values: whole rows of f),
            # not in a full float copy: the same sums, 3x faster
            mats = thumbs[owner[sel]].reshape(len(sel), n_t, f)
            out[sel] = np.einsum("pcf,pf->pc", mats, vecs, dtype=np.float32, casting="unsafe")
            continue
        mats = thumbs[owners].reshape(len(owners), n_t, f).astype(np.float32)
        res = np.empty((len(sel), n_t), np.float32)
        ends = [*starts[1:].tolist(), len(sel)]
        for g, (s, e) in enumerate(zip(starts.tolist(), ends, strict=True)):
            if exact:
                np.matmul(vecs[s:e], mats[g].T, out=res[s:e])
            else:
                np.einsum("cf,pf->pc", mats[g], vecs[s:e], out=res[s:e])
        out[sel] = res
    return out


def verify(feats: np.ndarray, stats: tuple[np.ndarray, np.ndarray], qa: np.ndarray,
           qb: np.ndarray, orient: np.ndarray, trim: float | None = None) -> np.ndarray:
    """Scores 0-100 of the pairs (qa[p], qb[p]): rows of ``feats`` (uint8 features, full or
    ``coarse``), its ``thumb_stats``, and the orientation taking a onto b.

    The score is the best correlation of detail thumbnails over the alignments stored
    (a cropped/straightened vs b whole, a whole vs b cropped/straightened), recomputed for
    the winner without its worst TRIM share of pixels (a watermark, a date stamp).
    Only the whole-picture thumbnails and the winners are gathered per pair; the products
    with all thumbnails are grouped per file (``_dots_by_owner``).
    """
    trim = TRIM if trim is None else trim
    p, n_t = len(qa), fp.N_THUMBS
    if p == 0:
        return np.empty(0, np.float32)
    f = feats.shape[1] // n_t
    mean, norm = stats
    ma, na, mb, nb = mean[qa], norm[qa], mean[qb], norm[qb]
    # a's thumbnails vs b whole (in a's frame), a whole (in b's frame) vs b's thumbnails;
    # sum((x - mx)(y - my)) = x.y - f * mx * my
    s1 = (_dots_by_owner(feats, qa, qb, orient, True) - f * ma * mb[:, :1]) / (na * nb[:, :1])
    s2 = (_dots_by_owner(feats, qb, qa, orient, False) - f * ma[:, :1] * mb) / (na[:, :1] * nb)
    s12 = np.concatenate([s1, s2], axis=1)
    k = s12.argmax(axis=1)
    rows = np.arange(p)
    if trim <= 0:
        return np.clip(s12[rows, k], 0, 1) * 100
    first = k < n_t
    ca, cb = np.where(first, k, 0), np.where(first, 0, k - n_t)
    t = feats.reshape(len(feats), n_t, f)
    b0 = _oriented_first(t[qb, :1], orient, inverse=True)  # b whole, in a's frame
    a0 = _oriented_first(t[qa, :1], orient, inverse=False)  # a whole, in b's frame
    x = np.where(first[:, None], t[qa, ca], a0).astype(np.float32)
    y = np.where(first[:, None], b0, t[qb, cb]).astype(np.float32)
    x -= ma[rows, ca, None]
    x *= (np.sqrt(f) / na[rows, ca])[:, None]
    y -= mb[rows, cb, None]
    y *= (np.sqrt(f) / nb[rows, cb])[:, None]
    res = (x - y) ** 2
    drop = max(1, int(f * trim))
    cut = np.partition(res, f - drop, axis=1)[:, f - drop, None]
    keep = res <= cut
    xk = x * keep
    xy = np.einsum("pf,pf->p", xk, y)
    xx = np.einsum("pf,pf->p", xk, x)
    yy = np.einsum("pf,pf->p", y * keep, y)
    score = np.clip(xy / np.sqrt(xx * yy + 1e-6), 0, 1) * 100
    capped = np.nonzero(score > ONE_D_CAP)[0]  # the cap cannot lower the others
    if len(capped):
        cap = np.where(_one_dimensional(x[capped], y[capped]), ONE_D_CAP, 100.0)
        score[capped] = np.minimum(score[capped], cap)
    return score


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

    def __init__(self, mirror: bool = False, bounds: Stage1Bounds | None = None,
                 search: str | None = None, spill_dir: str | None = None,
                 spill_bytes: int = SPILL_BYTES) -> None:
        """``bounds``: stage 1's (default: the loose ones); ``search``: None (tiles or index,
        whichever is cheaper), or "tiles"/"index" to force one (tests, benchmarks);
        ``spill_dir``: where the thumbnails go, memory-mapped, past ``spill_bytes`` each."""
        self.mirror = mirror
        self.bounds = bounds or Stage1Bounds()
        self._orients = list(range(fp.N_ORIENT if mirror else 4))
        self._hashes = _Growing(fp.HASH_WORDS, np.uint64)
        self._feats = _Growing(fp.FEATURES, np.uint8, spill_dir, spill_bytes)
        self._mean = _Growing(fp.N_THUMBS, np.float32)
        self._norm = _Growing(fp.N_THUMBS, np.float32)
        self._coarse = _Growing(fp.FEATURES // 4, np.uint8, spill_dir, spill_bytes)
        self._cmean = _Growing(fp.N_THUMBS, np.float32)
        self._cnorm = _Growing(fp.N_THUMBS, np.float32)
        self._first = 0
        # hamming.pairs_within (tiles), or an MIH index once tiles stop paying (hashindex)
        self._stage1 = CandidateSearch(search)
        self._stage1_inner = CandidateSearch(search)  # its own: a search keeps state about its base
        self._words = stage1_words(self._orients)
        # large-library mode: selected pose words only (core/poses.py)
        self._pose_whole, self._pose_inner = pose_searches(self._orients, search)

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
        w = self._words
        if self.bounds.large:  # selected pose words only: a subset of the pairs below
            stored = self._hashes.array
            i, j, dist, k = self._pose_whole.add(batch.hashes, stored, start, self.bounds.whole)
            i2, j2, d2, k2 = self._pose_inner.add(batch.hashes, stored, start, self.bounds.inner)
        else:
            i, j, dist, k, _ = self._stage1(batch.hashes[:, w.whole_query],
                                            self._hashes.array[:, w.whole_stored],
                                            self.bounds.whole, query_start=start)
            # The inner 70% alone: a corner watermark or logo cannot push that hash away.
            i2, j2, d2, k2, _ = self._stage1_inner(batch.hashes[:, w.inner_query],
                                                   self._hashes.array[:, w.inner_stored],
                                                   self.bounds.inner, query_start=start)
        orient = np.asarray(w.whole_query, np.int64)[k] % fp.N_ORIENT
        if len(i2):
            i, j = np.concatenate([i, i2]), np.concatenate([j, j2])
            dist = np.concatenate([dist, d2])
            orient = np.concatenate([orient, np.asarray(self._orients, np.int64)[k2]])
            _, first = np.unique(i * (self._hashes.n + 1) + j, return_index=True)
            i, j, dist, orient = i[first], j[first], dist[first], orient[first]
        gi = i + start
        scores = np.zeros(len(i), np.float32)
        small = (self._coarse.array, (self._cmean.array, self._cnorm.array))
        full = (self._feats.array, (self._mean.array, self._norm.array))
        for c0 in range(0, len(i), PAIR_CHUNK):
            c = np.arange(c0, min(len(i), c0 + PAIR_CHUNK))
            # half resolution first: most candidates fail there, cheaply
            c = c[verify(*small, gi[c], j[c], orient[c], trim=0.0) >= COARSE_MIN]
            for f0 in range(0, len(c), FINE_CHUNK):  # (P, f) temporaries stay in cache
                cf = c[f0:f0 + FINE_CHUNK]
                scores[cf] = verify(*full, gi[cf], j[cf], orient[cf])
        keep = scores >= MIN_SCORE
        off = self._first
        return PairTable.build(j[keep] + off, gi[keep] + off, scores[keep], dist[keep])
