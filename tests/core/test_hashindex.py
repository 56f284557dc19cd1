"""The multi-index hash index finds exactly the pairs the tiled search finds.

Fingerprints have a real library's structure (distinct pictures, near copies a few bits away,
bursts of similar shots, exact duplicates): the buckets are skewed, as in real use.
"""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.candidates_scale import flip_bits, realistic_codes
from dedupe_gui.core import hashindex
from dedupe_gui.core.hamming import pairs_within as tiles
from dedupe_gui.core.hashindex import CandidateSearch
from dedupe_gui.core.matching import STAGE1_MAX_DISTANCE


def tiled_all_pairs(codes: np.ndarray, radius: int) -> set[tuple[int, int, int]]:
    i, j, d, _, _ = tiles(codes, codes, radius, query_start=0)
    return set(zip(j.tolist(), i.tolist(), d.tolist(), strict=True))  # j < i there


def as_set(i, j, d) -> set[tuple[int, int, int]]:
    return set(zip(i.tolist(), j.tolist(), d.tolist(), strict=True))


@pytest.fixture(scope="module")
def codes_200k() -> np.ndarray:
    return realistic_codes(200_000, seed=3)


def test_all_pairs_200k_match_tiles_on_sampled_rows(codes_200k):
    """All pairs of 200k fingerprints: every pair touching 1500 sampled rows is exactly the
    tiled search's (the full tiled run, 2e10 pair tests, belongs in the benchmark)."""
    codes, radius = codes_200k, 8
    i, j, d = hashindex.pairs_within(codes, radius)
    assert np.all(i < j)
    assert len(set(zip(i.tolist(), j.tolist(), strict=True))) == i.size, "a pair came out twice"
    assert np.array_equal(d, np.bitwise_count(codes[i] ^ codes[j]))
    assert d.max() <= radius
    rows = np.sort(np.random.default_rng(0).choice(codes.size, 1000, replace=False))
    ti, tj, td, _, _ = tiles(codes[rows], codes, radius)
    ti = rows[ti]
    keep = ti != tj
    want = {(min(a, b), max(a, b), c) for a, b, c in
            zip(ti[keep].tolist(), tj[keep].tolist(), td[keep].tolist(), strict=True)}
    sel = np.isin(i, rows) | np.isin(j, rows)
    assert len(want) > 500  # the structure gives each sampled row partners
    assert as_set(i[sel], j[sel], d[sel]) == want


@pytest.mark.parametrize("radius", [12, 16, STAGE1_MAX_DISTANCE])
def test_query_200k_matches_tiles(codes_200k, radius):
    """New batch vs 200k seen, at wider radii up to the matcher's loose bound."""
    rng = np.random.default_rng(radius)
    seen = codes_200k
    near = flip_bits(seen[rng.integers(0, seen.size, 300)], rng.integers(0, radius + 3, 300), rng)
    batch = np.concatenate([near, seen[:50], realistic_codes(150, seed=radius)])
    q, i, d = hashindex.query(seen, batch, radius)
    tq, ti, td, _, _ = tiles(batch, seen, radius)
    assert len(tq) >= 350
    assert as_set(q, i, d) == as_set(tq, ti, td)


@pytest.mark.parametrize("radius", [0, 3, 8, 12, 16])
def test_all_pairs_match_tiles_exactly(radius):
    codes = realistic_codes(6000, seed=radius)
    got = as_set(*hashindex.pairs_within(codes, radius))
    want = tiled_all_pairs(codes, radius)
    assert len(want) > 500
    assert got == want


def test_every_plan_is_complete_at_its_radius():
    """Pigeonhole holds for every layout the planner may choose: pairs exactly at the radius
    (the hardest case) are all found, whatever the block split."""
    rng = np.random.default_rng(7)
    base = realistic_codes(1500, seed=7)
    for radius in (1, 5, 9, 13):
        far = flip_bits(base, np.full(base.size, radius), rng)  # each exactly `radius` away
        codes = np.concatenate([base, far])
        for layout in {hashindex.plan(n, radius) for n in (100, 10_000, 1_000_000)}:
            got = as_set(*hashindex.HashIndex(codes, radius, layout).pairs())
            assert got == tiled_all_pairs(codes, radius), (radius, layout)


def test_threads_give_the_same_pairs():
    codes = realistic_codes(20_000, seed=11)
    one = hashindex.HashIndex(codes, 10).pairs(workers=1)
    two = hashindex.HashIndex(codes, 10).pairs(workers=2)
    assert as_set(*one) == as_set(*two)


def test_smaller_radius_on_a_wider_index_and_bad_input():
    codes = realistic_codes(5000, seed=2)
    index = hashindex.HashIndex(codes, 12)
    assert as_set(*index.pairs(radius=6)) == tiled_all_pairs(codes, 6)
    with pytest.raises(ValueError, match="exceeds"):
        index.pairs(radius=13)
    with pytest.raises(ValueError, match="radius"):
        hashindex.plan(10, 65)
    with pytest.raises(TypeError, match="uint64"):
        hashindex.pairs_within(np.zeros(4, np.float32), 3)
    assert hashindex.pairs_within(np.zeros(1, np.uint64), 3)[0].size == 0
    # int64 views of the same bits are accepted (SQLite hands back signed integers)
    same = hashindex.pairs_within(codes.view(np.int64), 5)
    assert as_set(*same) == tiled_all_pairs(codes, 5)


def test_candidate_search_is_a_drop_in_for_tiles_in_the_matcher():
    """Multi-word search as the matcher calls it (8 query words x 2 stored words, batches
    appended with query_start), through the kept index (built, extended, re-planned) and a
    throw-away index of the queries' own rows: identical results."""
    from dedupe_gui.core.hamming import pairs_within

    rng = np.random.default_rng(5)
    n, kq, kb, radius = 3000, 8, 2, STAGE1_MAX_DISTANCE
    words = realistic_codes(n * kq, seed=5).reshape(n, kq)
    near = rng.integers(0, n, n // 3)  # a third of the files are near copies of others
    words[near] = flip_bits(words[rng.integers(0, n, near.size)].ravel(),
                            rng.integers(0, 6, near.size * kq), rng).reshape(-1, kq)
    base_all = words[:, :kb]
    search = CandidateSearch(force="index")
    start = 0
    for size in (700, 500, 300, 100, 600, 800):  # extended, and re-planned when doubled
        stop = start + size
        want = pairs_within(words[start:stop], base_all[:stop], radius, query_start=start)
        got = search(words[start:stop], base_all[:stop], radius, query_start=start)
        for a, b in zip(got, want, strict=True):
            assert np.array_equal(a, b)
        start = stop
    assert search.used_index == 6  # the first batch: only its own rows, indexed
    # and without query_start (queries are not part of base), on another base
    got = search(words[:300], base_all[300:], radius)
    assert search.used_index == 7
    want = pairs_within(words[:300], base_all[300:], radius)
    assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))


def test_small_libraries_stay_on_tiles():
    search = CandidateSearch()
    assert not search.want_index(256, 8, 10_000, 2, STAGE1_MAX_DISTANCE)
    assert search.want_index(256, 1, 5_000_000, 1, 8)


def test_extended_index_equals_a_fresh_one():
    """``extend`` (a merge per block, same plan) answers exactly as an index built over all
    the codes at once, for queries and for the self-join, over several extensions."""
    codes = realistic_codes(30_000, seed=11)
    rng = np.random.default_rng(11)
    queries = flip_bits(codes[rng.integers(0, codes.size, 400)], rng.integers(0, 10, 400), rng)
    grown = hashindex.HashIndex(codes[:5000], 8)
    for lo, hi in ((5000, 5001), (5001, 12_000), (12_000, 30_000)):
        grown.extend(codes[lo:hi])
        fresh = hashindex.HashIndex(codes[:hi], 8, layout=grown.plan)
        assert len(grown) == hi
        got, want = as_set(*grown.query(queries)), as_set(*fresh.query(queries))
        assert got == want and len(want) > 250
        assert as_set(*grown.pairs()) == as_set(*fresh.pairs())
    assert as_set(*grown.pairs()) == tiled_all_pairs(codes, 8)
