"""Canonical poses: which orientation words of a picture large-library stage 1 compares.

The default stage 1 compares 4 orientations (8 with mirror) of a new file's whole/85% hashes
with the upright hashes of every earlier file: 16 word combinations per pair, 8 query words
per file. At a million files that is billions of index lookups. Here each file instead keeps
the few orientation words that a rule computed from the word's own bits selects (its
"pose"); two files are compared only in selected poses, both sides alike.

The rule is equivariant: ``fingerprint`` computes every orientation word from exactly
re-oriented DCT coefficients, so a turned or mirrored copy has the same set of words, only
listed in another order, and the same words are selected. The score of a word weighs the
bits of the odd vertical frequencies (u odd, v even) by 3 and those of the odd horizontal
ones (u even, v odd) by 1, lower frequencies more (9 - u - v). A quarter turn maps their
centred counts (x, y) to (-y, x): the 4 turns of a picture show 4 different score levels, and
the best one is a property of the picture. Words within ``POSE_MARGIN`` of the best are
kept too (multi-probe: a copy whose deciding bits moved a little still shares a pose).

Measured with benchmarks/stage1_radius.py (``--poses 4 0``), real copies at the 8/8 bounds:
about 1.35 words per file and crop instead of 4 (8 with mirror: ~2 instead of 8); pairs
lost against all orientations: 2 of 29 2-degree turns (24 -> 22 kept) and 1 of 486 resized
copies; margin 0 (1.1 words per crop, ~25% less CPU) loses 4 turns, 1 of 29 crops by 5% and
the same resized copy. benchmarks/candidates_scale.py --matcher 8 8: 1M files in 55-57 s
wall, 85-89 s CPU, 1.7 GB on 2 cores (68-74 s while another job ran), 200k in 4.7 s
instead of 45 s.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from dedupe_gui.core.hamming import best_combination
from dedupe_gui.core.hashindex import HashIndex, SortedGroups, unique_int

POSE_MARGIN = 4  # score units (a bit of the lowest odd vertical frequency weighs 24)


def _weight(u: int, v: int) -> int:
    low = max(0, 9 - u - v)
    if u % 2 == 1 and v % 2 == 0:
        return 3 * low
    if u % 2 == 0 and v % 2 == 1:
        return low
    return 0


@lru_cache(maxsize=1)
def _masks() -> tuple[tuple[np.uint64, int], ...]:
    """(mask of the bits of equal weight, weight); bit of DCT (u, v) = 1 << (63 - 8u - v)."""
    groups: dict[int, int] = {}
    for u in range(8):
        for v in range(8):
            w = _weight(u, v)
            if w:
                groups[w] = groups.get(w, 0) | 1 << (63 - (8 * u + v))
    return tuple((np.uint64(m), w) for w, m in sorted(groups.items()))


def pose_scores(words: np.ndarray) -> np.ndarray:
    """int32 score of each 64-bit pHash word (any shape)."""
    words = np.asarray(words, np.uint64)
    out = np.zeros(words.shape, np.int32)
    for mask, w in _masks():
        out += w * np.bitwise_count(words & mask).astype(np.int32)
    return out


def pose_select(words: np.ndarray, margin: int = POSE_MARGIN) -> np.ndarray:
    """bool (N, K): for each row of K orientation words of one picture and crop, the words
    whose score is within ``margin`` of the row's best (at least one per row)."""
    s = pose_scores(words)
    return s >= s.max(axis=1, keepdims=True) - margin


def pose_words(hashes: np.ndarray, crops: tuple[int, ...], orients: list[int],
               margin: int = POSE_MARGIN, n_orient: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(words uint64 (M,), owner int64 (M,)): the selected words of each row of ``hashes``
    (word ``crop * n_orient + o``), crops chosen independently, in row order (owner sorted)."""
    parts, owners = [], []
    for crop in crops:
        w = hashes[:, [crop * n_orient + o for o in orients]]
        r, c = np.nonzero(pose_select(w, margin))
        parts.append(w[r, c])
        owners.append(r)
    owner = np.concatenate(owners).astype(np.int64)
    order = np.argsort(owner, kind="stable")
    return np.concatenate(parts)[order], owner[order]


def _owner_pairs(a: np.ndarray, b: np.ndarray, first: np.ndarray, count: np.ndarray,
                 owners: np.ndarray, n: int) -> np.ndarray:
    """Keys ``max * n + min`` of every (owner of word a[p], owner of word b[p]), distinct
    files only; the owners of word w are ``owners[first[w]:first[w] + count[w]]``."""
    na, nb = count[a], count[b]
    one = (na == 1) & (nb == 1)  # the common case: one file per word
    oa, ob = [owners[first[a[one]]]], [owners[first[b[one]]]]
    many = np.flatnonzero(~one)
    if many.size:
        sizes = na[many] * nb[many]
        p = np.repeat(many, sizes)
        t = np.arange(int(sizes.sum()), dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        oa.append(owners[first[a[p]] + t // nb[p]])
        ob.append(owners[first[b[p]] + t % nb[p]])
    x, y = np.concatenate(oa), np.concatenate(ob)
    keep = x != y
    x, y = x[keep], y[keep]
    return unique_int(np.maximum(x, y) * np.int64(n) + np.minimum(x, y))


def pose_pairs(hashes: np.ndarray, crops: tuple[int, ...], orients: list[int], radius: int,
               query_words: list[int], stored_words: list[int], margin: int = POSE_MARGIN,
               workers: int | None = None, n_orient: int = 8) -> np.ndarray:
    """All file pairs of ``hashes`` (N, words) kept by the large-library stage 1 at once, as
    sorted keys ``i * N + j`` (j < i): a selected pose word of each within ``radius`` (one
    self-join of the MIH index over the distinct selected words of all files: identical
    words, frequent among copies, are searched once), and the default stage 1's best
    combination of ``query_words`` (of i) x ``stored_words`` (of j) within ``radius`` too: the
    pairs are a subset of the default rule's at the same bound."""
    n = len(hashes)
    words, owner = pose_words(hashes, crops, orients, margin, n_orient)
    if words.size < 2:
        return np.empty(0, np.int64)
    g = SortedGroups.of(owner, words)  # the files of word w: owners[first[w]:+count[w]]
    uniq, owners, first, count = g.ukeys, g.sorted_codes, g.ulo, g.un
    parts = []
    same = np.flatnonzero(count > 1)  # files sharing a word: distance 0

    def to_files(a: np.ndarray, b: np.ndarray, _d: np.ndarray) -> tuple[np.ndarray]:
        return (default_rule(_owner_pairs(a, b, first, count, owners, n)),)

    def default_rule(keys: np.ndarray) -> np.ndarray:
        """``keys`` whose default-rule distance is within radius too (in the index's
        threads: each task's part is checked where it is made)."""
        out = []
        step = 1 << 18
        for s in range(0, keys.size, step):
            k = keys[s:s + step]
            i, j = k // n, k % n
            d, *_ = best_combination(hashes[i[:, None], query_words],
                                     hashes[j[:, None], stored_words])
            out.append(k[d <= radius])
        return np.concatenate(out) if out else keys

    if same.size:  # every (x, y) of its files; x == y is dropped
        parts.append(default_rule(_owner_pairs(same, same, first, count, owners, n)))
    if uniq.size > 1:
        parts.append(HashIndex(uniq, radius).pairs(workers=workers, reduce=to_files)[0])
    return unique_int(np.concatenate(parts)) if parts else np.empty(0, np.int64)
