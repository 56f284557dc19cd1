"""Candidate search among millions of 64-bit hashes: multi-index hashing (MIH), in numpy.

Comparing every new hash with every hash seen (tiles of XOR + popcount) costs N^2/2 pairs:
fine for 100k pictures, an hour for a few million. MIH avoids most comparisons:

- the 64 bits are cut into ``m`` blocks of ``b`` bits (bits left over are simply not used);
- each block k gets a sub-radius ``s_k`` with ``sum(s_k + 1) >= radius + 1``. By the
  (generalised) pigeonhole principle two hashes within ``radius`` differ in at most ``s_k``
  bits on at least one block k;
- so for each block, hashes are bucketed by their block value (a counting sort, with a
  direct-address table of ``2**b + 1`` bucket bounds), and only buckets whose values differ
  in at most ``s_k`` bits are compared (all flip patterns of weight <= s_k are enumerated);
- every candidate is verified on the full 64 bits with ``np.bitwise_count``, and a pair is
  reported only by the first block that can find it, so it comes out exactly once.

The result is exact: the same pairs as brute force. Everything is vectorised over buckets
and flip patterns (no per-item Python loop), and the independent (block, flips) tasks run in
threads: numpy releases the GIL in the gathers and ufuncs that dominate.

The block layout is chosen by a cost model (``plan``): lookups (unique bucket values times
flip patterns) against candidates (expected bucket-pair products for uniform hashes), plus
the tables' size. A self-join (``pairs``) and a query (``query``) run the same loop: the
sorted distinct block values of one side, XORed with one flip pattern at a time, looked up
in the other side's small ``occupied`` table. An index grows by merging (``extend``), so a
scan's matcher keeps one index for the whole library (``CandidateSearch``).
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations

import numpy as np

from dedupe_gui.core.hamming import best_combination
from dedupe_gui.core.hamming import pairs_within as tiles
from dedupe_gui.core.parallel import default_workers

MAX_BLOCK_BITS = 22  # a direct-address table of 2**22 + 1 int32 bounds = 16 MB per block
CHUNK = 1 << 21  # elements per vectorised step: keeps temporaries at a few tens of MB

# Cost model (CPU seconds), fitted to `benchmarks/candidates_scale.py --crossover` on 2 cores.
LOOKUP_COST = 1.5e-8  # per (unique block value x flip pattern)
CANDIDATE_COST = 1.5e-7  # per candidate pair expanded, gathered and verified
TILE_COST = 5e-9  # per pair test in hamming.pairs_within tiles (one word each side)
TABLE_COST = 5e-9  # per entry of a block's 2**bits tables, to build them (a throw-away index
# of a few thousand rows pays for its tables, not its rows: fewer bits then)

Pairs = tuple[np.ndarray, np.ndarray, np.ndarray]  # (i, j, distance)


def unique_int(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values of a 1-D integer array. ``np.unique`` does the same, but in
    numpy 2.4 it took 50 s for 25M int64 keys where a sort takes 0.5 s (measured)."""
    s = np.sort(keys)
    if s.size < 2:
        return s
    keep = np.empty(s.size, bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def _empty() -> Pairs:
    return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int16)


@lru_cache(maxsize=4096)
def _volume(bits: int, sub: int) -> int:
    """How many values lie within Hamming distance ``sub`` of a ``bits``-bit value."""
    return sum(math.comb(bits, k) for k in range(sub + 1)) if sub >= 0 else 0


@dataclass(frozen=True)
class Plan:
    """Block layout: block k covers bits ``[k*bits, (k+1)*bits)`` with sub-radius ``subs[k]``."""

    bits: int
    subs: tuple[int, ...]
    cost: float  # estimated seconds for all pairs (model, not a promise)

    @property
    def blocks(self) -> int:
        return len(self.subs)


def _subs_for(m: int, radius: int) -> tuple[int, ...]:
    """Sub-radii as even as possible with sum(s + 1) = radius + 1 (m blocks, some maybe idle)."""
    total = radius + 1
    base, extra = divmod(total, m)
    return tuple(base - 1 + (1 if k < extra else 0) for k in range(m))


def estimate_cost(n: int, radius: int, bits: int, subs: tuple[int, ...], n_query: int | None = None
                  ) -> float:
    """Model seconds: all pairs among ``n`` (``n_query`` None) or ``n_query`` vs ``n``."""
    space = float(2 ** bits)
    unique = space * -math.expm1(-n / space)  # occupied buckets for uniform hashes
    cost = 0.0
    for s in subs:
        if s < 0:
            continue
        v = _volume(bits, s)
        cost += TABLE_COST * space
        if n_query is None:
            cost += LOOKUP_COST * unique * v + CANDIDATE_COST * n * n / 2 * v / space
        else:
            cost += LOOKUP_COST * n_query * v + CANDIDATE_COST * n_query * n * v / space
    return cost


def plan(n: int, radius: int, n_query: int | None = None) -> Plan:
    """The cheapest block layout for ``n`` hashes (and ``n_query`` queries) at ``radius``."""
    if not 0 <= radius <= 64:
        raise ValueError(f"radius must be within 0..64, got {radius}")
    best: Plan | None = None
    for m in range(1, min(64, radius + 1) + 1):  # more blocks than radius + 1 would be idle
        subs = _subs_for(m, radius)
        for bits in range(1, min(MAX_BLOCK_BITS, 64 // m) + 1):
            used = sum(1 for s in subs if s >= 0)
            if used * bits > 64:
                continue
            c = estimate_cost(max(n, 1), radius, bits, subs, n_query)
            if best is None or c < best.cost:
                best = Plan(bits, tuple(s for s in subs if s >= 0), c)
    assert best is not None
    return best


@lru_cache(maxsize=256)
def _flips(bits: int, sub: int) -> np.ndarray:
    """All ``bits``-bit patterns of weight 1..sub (weight 0 is the bucket itself)."""
    out = [sum(1 << p for p in combo) for w in range(1, sub + 1)
           for combo in combinations(range(bits), w)]
    arr = np.asarray(out, np.int64)
    arr.flags.writeable = False  # shared by every block of this layout (cached)
    return arr


def as_codes(codes) -> np.ndarray:
    """Hashes as a 1-D uint64 array (accepts int64 views of the same bits)."""
    arr = np.asarray(codes)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D array of 64-bit hashes, got shape {arr.shape}")
    if arr.dtype == np.uint64:
        return arr
    if arr.dtype == np.int64:
        return arr.view(np.uint64)
    if arr.size == 0:
        return arr.astype(np.uint64)
    raise TypeError(f"expected uint64 hashes, got {arr.dtype}")


@dataclass
class SortedGroups:
    """Codes sorted by a key, with the distinct keys and where each one's run starts: an
    index block (keys = a block's value), the query side of ``HashIndex.query``, or words
    grouped by value with their files (``poses.pose_pairs``)."""

    order: np.ndarray  # sorted position -> original index
    sorted_codes: np.ndarray
    ukeys: np.ndarray  # distinct keys, ascending
    ulo: np.ndarray  # int64: first sorted position of each
    un: np.ndarray  # int64: how many codes have it

    @classmethod
    def of(cls, codes: np.ndarray, keys: np.ndarray) -> SortedGroups:
        order = np.argsort(keys)  # not stable: 6x faster (SIMD sort), and order in a bucket is free
        return cls.from_sorted(order, codes[order], keys[order])

    @classmethod
    def from_sorted(cls, order: np.ndarray, sorted_codes: np.ndarray, sorted_keys: np.ndarray
                    ) -> SortedGroups:
        sk = sorted_keys
        start = np.flatnonzero(np.concatenate(([True], sk[1:] != sk[:-1])))
        un = np.diff(np.append(start, sk.size)).astype(np.int64)
        return cls(order, sorted_codes, sk[start], start.astype(np.int64), un)


@dataclass
class _Block(SortedGroups):
    """One MIH block: its codes sorted by the block's value, plus direct-address tables."""

    shift: int
    bits: int
    sub: int
    mask64: np.uint64  # the block's bits in place, for the "found earlier" test
    bounds: np.ndarray  # int32, 2**bits + 1: bucket v holds sorted positions [bounds[v], bounds[v+1])
    occupied: np.ndarray  # bool, 2**bits: is bucket v non-empty (small table: cheap gathers)
    flips: np.ndarray = field(repr=False)


def _merged(old: np.ndarray, new: np.ndarray, pos: np.ndarray, is_new: np.ndarray
            ) -> np.ndarray:
    """``old`` with ``new`` inserted at the final positions ``pos`` (``is_new`` marks them)."""
    out = np.empty(old.size + new.size, old.dtype)
    out[pos] = new
    out[~is_new] = old
    return out


class HashIndex:
    """An MIH index over ``codes`` for searches up to ``radius`` (exact); ``extend`` adds
    codes without re-planning."""

    def __init__(self, codes, radius: int, layout: Plan | None = None,
                 n_query: int | None = None) -> None:
        self.codes = as_codes(codes)
        self.radius = int(radius)
        self.plan = layout or plan(self.codes.size, self.radius, n_query)
        self.blocks: list[_Block] = []
        for k, sub in enumerate(self.plan.subs):
            srt = SortedGroups.of(self.codes, self._keys(k, self.codes))
            self.blocks.append(self._block(k, sub, srt))

    def _keys(self, k: int, codes: np.ndarray) -> np.ndarray:
        bits = self.plan.bits
        return ((codes >> np.uint64(k * bits)) & np.uint64((1 << bits) - 1)).astype(np.int64)

    def _block(self, k: int, sub: int, srt: SortedGroups) -> _Block:
        """Block k's tables from its sorted codes: O(n) from the distinct values plus one
        cumsum, so building costs a few passes over 2**bits entries (TABLE_COST), paid again
        by every throw-away index and every ``extend``."""
        bits = self.plan.bits
        occupied = np.zeros(1 << bits, bool)
        occupied[srt.ukeys] = True
        bounds = np.zeros((1 << bits) + 1, np.int32)
        bounds[srt.ukeys + 1] = srt.un
        np.cumsum(bounds, out=bounds)
        return _Block(**vars(srt), shift=k * bits, bits=bits, sub=sub,
                      mask64=np.uint64(((1 << bits) - 1) << (k * bits)), bounds=bounds,
                      occupied=occupied, flips=_flips(bits, sub))

    def extend(self, codes) -> None:
        """Index ``codes`` too (their indices follow the present ones), with the same plan.

        Each block merges the new codes, sorted, into its sorted ones: O(n + 2**bits) per
        call, where a rebuild sorts everything again. A scan's matcher calls this once per
        batch; it re-plans (rebuilds) only when the library has grown enough for another
        layout to pay (``CandidateSearch``)."""
        new = as_codes(codes)
        if not new.size:
            return
        off = self.codes.size
        self.codes = np.concatenate([self.codes, new])
        for k, block in enumerate(self.blocks):
            nk = self._keys(k, new)
            o = np.argsort(nk)
            nk = nk[o]
            old_keys = self._keys(k, block.sorted_codes)  # not stored: derived in one pass
            pos = np.searchsorted(old_keys, nk, side="right") + np.arange(nk.size)
            is_new = np.zeros(old_keys.size + nk.size, bool)
            is_new[pos] = True
            srt = SortedGroups.from_sorted(_merged(block.order, o + off, pos, is_new),
                                      _merged(block.sorted_codes, new[o], pos, is_new),
                                      _merged(old_keys, nk, pos, is_new))
            self.blocks[k] = self._block(k, block.sub, srt)

    def __len__(self) -> int:
        return int(self.codes.size)

    # -- shared helpers -------------------------------------------------------------------
    def _first_finder(self, k: int, x: np.ndarray) -> np.ndarray:
        """Mask of XORs ``x`` that no block before k would have found (report once)."""
        keep = np.ones(x.shape, bool)
        for prev in self.blocks[:k]:
            keep &= np.bitwise_count(x & prev.mask64) > prev.sub
        return keep

    def _run(self, tasks, workers: int | None, reduce=None) -> Pairs:
        workers = workers or default_workers()

        def one(t):
            out = t[0](*t[1:])
            return out if reduce is None else reduce(*out)

        if workers > 1 and len(tasks) > 1:
            with ThreadPoolExecutor(workers) as pool:
                parts = list(pool.map(one, tasks))
        else:
            parts = [one(t) for t in tasks]
        return self._collect(parts)

    # -- all pairs within the indexed codes ---------------------------------------------------
    def pairs(self, radius: int | None = None, workers: int | None = None, reduce=None
              ) -> Pairs:
        """Every pair ``i < j`` with Hamming distance <= radius: arrays (i, j, dist).

        ``reduce(i, j, dist) -> tuple of arrays``, if given, is applied to each task's part
        in its thread before the parts are concatenated (e.g. map rows to files and drop
        duplicates: the raw pairs of millions of hashes need not be held all at once)."""
        r = self._check_radius(radius)
        tasks: list[tuple] = []
        for k, block in enumerate(self.blocks):
            tasks.append((self._pairs_same_bucket, k, r))
            tops = np.floor(np.log2(block.flips)).astype(np.int64) if block.flips.size else block.flips
            for top in np.unique(tops).tolist():
                tasks.append((self._pairs_flipped, k, top, block.flips[tops == top], r))
        return self._run(tasks, workers, reduce)

    def _collect(self, parts: list[Pairs]) -> Pairs:
        parts = [p for p in parts if p[0].size]
        if not parts:
            return _empty()
        return tuple(np.concatenate(col) for col in zip(*parts, strict=True))  # type: ignore[return-value]

    def _pairs_same_bucket(self, k: int, r: int) -> Pairs:
        """Pairs inside one bucket (block values equal)."""
        block = self.blocks[k]
        lo = block.bounds[block.ukeys].astype(np.int64)
        n = block.bounds[block.ukeys + 1] - lo
        big = n >= 2
        lo, n = lo[big], n[big]
        if lo.size == 0:
            return _empty()
        # row p (every position of a bucket but its last) pairs with positions p+1 .. end-1
        pos = np.repeat(lo, n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))
        end = np.repeat(lo + n, n)
        rest = end - pos - 1
        keep = rest > 0
        return self._verify_rows(k, pos[keep], pos[keep] + 1, rest[keep], r)

    def _pairs_flipped(self, k: int, top: int | None, flips: np.ndarray, r: int,
                       left: SortedGroups | None = None) -> Pairs:
        """Pairs across buckets whose values differ by one of ``flips``.

        A self-join (``left`` None): all flips have top bit ``top``, and each unordered
        bucket pair (u, u^e) is visited once, from the side without e's top bit. A query:
        every distinct value of ``left`` (queries sorted by block k's value) against the
        index's buckets. One flip at a time over all values (1-D, cheap temporaries); the
        values are sorted, so ``values ^ e`` is nearly sorted too and the lookups in the
        small ``occupied`` table stream through it.
        """
        block = self.blocks[k]
        src = block if left is None else left
        u, u_lo, u_n = src.ukeys, src.ulo, src.un
        if top is not None:
            side = (u >> top) & 1 == 0
            u, u_lo, u_n = u[side], u_lo[side], u_n[side]
        buf = np.empty(u.size, np.int64)
        occupied = np.empty(u.size, bool)
        found_lo: list[np.ndarray] = []
        found_n: list[np.ndarray] = []
        found_t: list[np.ndarray] = []
        pending = 0
        parts: list[Pairs] = []
        for e in flips.tolist():
            np.bitwise_xor(u, e, out=buf)
            block.occupied.take(buf, out=occupied)
            hit = np.flatnonzero(occupied)
            if hit.size:
                found_lo.append(u_lo[hit])
                found_n.append(u_n[hit])
                found_t.append(buf[hit])
                pending += hit.size
            if pending >= CHUNK // 8:  # bucket pairs: their members can be many more
                parts.append(self._cross(k, np.concatenate(found_lo), np.concatenate(found_n),
                                         np.concatenate(found_t), r, left))
                found_lo, found_n, found_t, pending = [], [], [], 0
        if pending:
            parts.append(self._cross(k, np.concatenate(found_lo), np.concatenate(found_n),
                                     np.concatenate(found_t), r, left))
        return self._collect(parts)

    def _cross(self, k: int, lo1: np.ndarray, n1: np.ndarray, tk: np.ndarray, r: int,
               left: SortedGroups | None = None) -> Pairs:
        """Verified pairs between buckets (sorted positions ``lo1``, ``n1`` members, of
        block k or of ``left``) and block k's buckets ``tk``."""
        block = self.blocks[k]
        lo2 = block.bounds[tk].astype(np.int64)
        n2 = block.bounds[tk + 1].astype(np.int64) - lo2
        # a row for every member of bucket u, against all of bucket u^e (one pass of
        # repeats: masks splitting sparse from dense buckets cost more than they saved)
        n1 = n1.astype(np.int64)
        total = int(n1.sum())
        if total == n1.size:  # one member each
            return self._verify_rows(k, lo1, lo2, n2, r, left)
        rows_a = np.repeat(lo1 - (np.cumsum(n1) - n1), n1)
        rows_a += np.arange(total, dtype=np.int64)
        return self._verify_rows(k, rows_a, np.repeat(lo2, n1), np.repeat(n2, n1), r, left)

    def _verify_rows(self, k: int, rows_a: np.ndarray, rows_start: np.ndarray,
                     rows_len: np.ndarray, r: int, left: SortedGroups | None = None) -> Pairs:
        """Verified pairs (a, b) for every row a and b in [start, start+len), sorted
        positions of block k; ``a`` is a position of ``left`` (queries sorted by the block's
        value) if given, else of block k too (a self-join: pairs come out as (min, max)).
        The row's code is repeated instead of its position (one gather per candidate
        instead of two: the dense buckets of real hashes make most of the index's work
        here); a hit's row is found again by a search in the few hits only."""
        block = self.blocks[k]
        sc = block.sorted_codes
        left_codes = sc if left is None else left.sorted_codes
        rows_len = rows_len.astype(np.int64)
        ends = np.cumsum(rows_len)
        parts: list[Pairs] = []
        lo = 0
        while lo < rows_a.size:
            base = ends[lo - 1] if lo else 0
            hi = max(lo + 1, int(np.searchsorted(ends, base + CHUNK, side="right")))
            n = rows_len[lo:hi]
            local_ends = ends[lo:hi] - base
            total = int(local_ends[-1])
            if total == 0:
                lo = hi
                continue
            if total == n.size:  # one candidate per row: nothing to repeat
                b = rows_start[lo:hi].astype(np.int64)
                x = left_codes[rows_a[lo:hi]]
            else:
                b = np.repeat(rows_start[lo:hi].astype(np.int64) - (local_ends - n), n)
                b += np.arange(total, dtype=np.int64)
                x = np.repeat(left_codes[rows_a[lo:hi]], n)
            np.bitwise_xor(x, sc[b], out=x)
            d = np.bitwise_count(x)
            hit = np.flatnonzero(d <= r)
            if k and hit.size:
                hit = hit[self._first_finder(k, x[hit])]
            a = rows_a[lo:hi][np.searchsorted(local_ends, hit, side="right")]
            ob = block.order[b[hit]]
            if left is None:
                oa = block.order[a]
                parts.append((np.minimum(oa, ob), np.maximum(oa, ob), d[hit].astype(np.int16)))
            else:
                parts.append((left.order[a], ob, d[hit].astype(np.int16)))
            lo = hi
        return self._collect(parts)

    # -- queries against the index ------------------------------------------------------------
    def query(self, queries, radius: int | None = None, workers: int | None = None) -> Pairs:
        """Every (query q, indexed i) with distance <= radius: arrays (q, i, dist).

        As in ``pairs`` (``_pairs_flipped``), per block: the distinct block values of the
        queries, sorted, one flip pattern at a time. Looking up every (query, flip) in the
        bucket bounds directly was 3x slower than ``pairs`` over the same codes (measured:
        9.3 s vs 2.8 s for 435k pose words)."""
        r = self._check_radius(radius)
        q = as_codes(queries)
        if q.size == 0 or self.codes.size == 0:
            return _empty()
        tasks: list[tuple] = []
        for k, block in enumerate(self.blocks):
            left = SortedGroups.of(q, self._keys(k, q))
            allflips = np.concatenate([[0], block.flips])
            step = max(1, CHUNK // left.ukeys.size)
            for f0 in range(0, allflips.size, step):
                tasks.append((self._pairs_flipped, k, None, allflips[f0:f0 + step], r, left))
        return self._run(tasks, workers)

    def _check_radius(self, radius: int | None) -> int:
        r = self.radius if radius is None else int(radius)
        if not 0 <= r <= self.radius:
            raise ValueError(f"radius {r} exceeds the index's radius {self.radius}")
        return r


def pairs_within(codes, radius: int, workers: int | None = None) -> Pairs:
    """All pairs ``i < j`` of ``codes`` within Hamming ``radius``, sorted by (i, j)."""
    codes = as_codes(codes)
    if codes.size < 2:
        return _empty()
    i, j, d = HashIndex(codes, radius).pairs(workers=workers)
    order = np.lexsort((j, i))
    return i[order], j[order], d[order]


def query(index_codes, query_codes, radius: int, workers: int | None = None) -> Pairs:
    """All (query q, indexed i) within Hamming ``radius``, sorted by (q, i)."""
    index_codes, query_codes = as_codes(index_codes), as_codes(query_codes)
    if index_codes.size == 0 or query_codes.size == 0:
        return _empty()
    idx = HashIndex(index_codes, radius, n_query=query_codes.size)
    q, i, d = idx.query(query_codes, workers=workers)
    order = np.lexsort((i, q))
    return q[order], i[order], d[order]


# -- the matcher's stage 1: tiles or index, whichever is cheaper ----------------------------
MIN_INDEX_ROWS = 50_000  # below this, tiles are cheap enough (and need no build) unless...
MIN_INDEX_TESTS = 100_000_000  # ...a call would make this many pair tests (~0.5 s of tiles:
# a large-library batch of thousands of pose words against a tail of tens of thousands)
REPLAN_GROWTH = 2.0  # the kept index is extended until the base outgrows this x its planned size


class CandidateSearch:
    """Drop-in for ``hamming.pairs_within`` that switches to an index when tiles stop paying.

    Same arguments and results (``(i, j, dist, k, m)`` sorted by (i, j), the best word
    combination per pair). It keeps state between calls made by one matcher: ``base`` only
    grows (rows are appended, never changed). The rows before the queries are searched in
    a kept MIH index, extended by the rows added since the last call (``HashIndex.extend``,
    a merge) and re-planned when the base has doubled; the queries' own rows (``query_start``)
    by tiles or a throw-away index. The choice is made per call by the cost model, so a
    small library never pays for a build.

    Measured (benchmarks/candidates_scale.py --matcher 8 8 --calls 32, 200k files): a kept
    index rebuilt at 25% growth with the rows since searched in a throw-away index every
    call took 35.5 s; extended instead, with the batch's own words self-joined, 16.3 s,
    same 1,193,461 pairs (one call: 5.0 s).
    """

    def __init__(self, force: str | None = None) -> None:
        if force not in (None, "tiles", "index"):
            raise ValueError(f"force must be None, 'tiles' or 'index', not {force!r}")
        self.force = force
        self._index: HashIndex | None = None
        self._rows = 0  # base rows in the index
        self._planned = 0  # base rows when its layout was planned
        self._kb = 0
        self._ends = np.empty(0, np.uint64)
        self._decisions: dict[tuple[int, int, int, int], bool] = {}
        self.used_index = 0  # calls answered with the index (for tests and benchmarks)

    def want_index(self, n_query: int, kq: int, n_base: int, kb: int, radius: int) -> bool:
        if self.force is not None:
            return self.force == "index"
        if n_base < MIN_INDEX_ROWS and n_query * kq * n_base * kb < MIN_INDEX_TESTS:
            return False
        # decided again when the library has grown by a quarter or the batch size changes:
        # the planner costs milliseconds, a matcher calls this for every chunk of files
        key = (n_query * kq, kb, radius, int(4 * math.log2(n_base)))
        if key not in self._decisions:
            layout = plan(n_base * kb, radius, n_query * kq)
            self._decisions[key] = layout.cost < 0.5 * TILE_COST * n_query * kq * n_base * kb
        return self._decisions[key]

    def among(self, codes: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """Pairs ``(i, j)``, ``j < i``, of ``codes`` (one word per row) within ``radius``:
        an index's self-join (each pair visited once) or tiles, whichever is cheaper. Keeps
        no state (the rows are new: a matcher's batch among itself)."""
        codes = np.ascontiguousarray(codes, np.uint64).ravel()
        n = codes.size
        if self.force is None:
            use = n > 1 and plan(n, radius).cost < TILE_COST * n * n / 2
        else:
            use = self.force == "index"
        if n > 1 and use:
            self.used_index += 1
            a, b, _ = HashIndex(codes, radius).pairs()
            return b, a
        i, j, *_ = tiles(codes[:, None], codes[:, None], radius, query_start=0)
        return i, j

    def _sync(self, base: np.ndarray, seen: int, radius: int, n_query: int) -> None:
        """Make the kept index hold exactly the rows ``base[:seen]``: extend it by the rows
        added since the last call, or build it afresh (first use, another base, a wider
        radius, or a base grown past ``REPLAN_GROWTH`` x the size it was planned for)."""
        kb = base.shape[1]
        same = (self._index is not None and self._kb == kb and self._index.radius >= radius
                and self._rows <= seen
                and np.array_equal(base[[0, self._rows - 1]].ravel(), self._ends))
        if same and seen <= REPLAN_GROWTH * self._planned:
            self._index.extend(base[self._rows:seen].ravel())
        else:
            self._index = HashIndex(base[:seen].ravel(), radius, n_query=n_query)
            self._planned, self._kb = seen, kb
        self._rows = seen
        self._ends = base[[0, seen - 1]].ravel().copy()  # a cheap "same base?" check

    def __call__(self, queries: np.ndarray, base: np.ndarray, max_dist: int, *,
                 query_start: int | None = None, **_tiles_options):
        queries = np.ascontiguousarray(queries, np.uint64)
        base = np.ascontiguousarray(base, np.uint64)
        queries = queries[:, None] if queries.ndim == 1 else queries
        base = base[:, None] if base.ndim == 1 else base
        n, kq = queries.shape
        nb, kb = base.shape
        seen = nb if query_start is None else query_start  # rows the queries are not among
        use_kept = bool(n and seen) and self.want_index(n, kq, seen, kb, max_dist)
        if not n or not use_kept and not self.want_index(n, kq, nb, kb, max_dist):
            return tiles(queries, base, max_dist, query_start=query_start, **_tiles_options)
        self.used_index += 1
        parts_i, parts_j = [], []
        low = 0  # base rows below: answered by the kept index
        if use_kept:
            self._sync(base, seen, max_dist, n * kq)
            qi, be, _ = self._index.query(queries.ravel(), max_dist)
            parts_i.append(qi // kq)
            parts_j.append(be // kb)
            low = seen
        if nb > low:  # the queries' own rows (or, without a kept index, every row)
            tail = base[low:]
            qs = None if query_start is None else seen - low
            if self.want_index(n, kq, len(tail), kb, max_dist):
                tq, tb, _ = HashIndex(tail.ravel(), max_dist, n_query=n * kq).query(
                    queries.ravel(), max_dist)
                ti, tj = tq // kq, tb // kb
                if qs is not None:  # the queries are tail rows qs + i: earlier rows only
                    keep = tj < qs + ti
                    ti, tj = ti[keep], tj[keep]
            else:
                ti, tj, *_ = tiles(queries, tail, max_dist, query_start=qs, **_tiles_options)
            parts_i.append(ti)
            parts_j.append(tj + low)
        key = unique_int(np.concatenate(parts_i) * np.int64(nb) + np.concatenate(parts_j))
        i, j = key // nb, key % nb  # sorted by (i, j), each pair once
        return (i, j, *best_combination(queries[i], base[j]))
