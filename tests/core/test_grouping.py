"""Groups at a threshold: components of the pair prefix, best groups first."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe_gui.core.grouping import component_labels, group_indices, groups_at
from dedupe_gui.core.results import PairTable


def table(rows):
    a, b, s = zip(*rows, strict=True) if rows else ((), (), ())
    return PairTable.build(a, b, s, [0] * len(rows))


def as_lists(groups):
    return [g.tolist() for g in groups]


def test_threshold_selects_a_prefix_and_chains_join():
    t = table([(0, 1, 99), (1, 2, 90), (3, 4, 95), (5, 6, 60), (2, 7, 40)])
    assert as_lists(group_indices(t, 8, 95)) == [[0, 1], [3, 4]]
    assert as_lists(group_indices(t, 8, 90)) == [[0, 1, 2], [3, 4]]
    assert as_lists(group_indices(t, 8, 50)) == [[0, 1, 2], [3, 4], [5, 6]]
    assert as_lists(group_indices(t, 8, 0)) == [[0, 1, 2, 7], [3, 4], [5, 6]]
    assert group_indices(t, 8, 99.5) == []
    assert group_indices(PairTable(), 0, 50) == []


def test_groups_are_ordered_by_their_best_pair():
    t = table([(5, 6, 99), (0, 1, 80), (2, 3, 90)])
    assert as_lists(group_indices(t, 7, 0)) == [[5, 6], [2, 3], [0, 1]]
    paths = [f"/p/{i}.jpg" for i in range(7)]
    assert groups_at(t, paths, 85) == [["/p/5.jpg", "/p/6.jpg"], ["/p/2.jpg", "/p/3.jpg"]]


def _reference(n, pairs):
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[find(a)] = find(b)
    comps = {}
    for i in range(n):
        comps.setdefault(find(i), []).append(i)
    return sorted(sorted(c) for c in comps.values() if len(c) > 1)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 40).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                   st.floats(0, 100, width=32)), max_size=80),
    st.floats(0, 100, width=32))))
def test_matches_a_plain_union_find(case):
    n, rows, threshold = case
    rows = [(a, b, s) for a, b, s in rows if a != b]
    t = table(rows)
    kept = [(a, b) for a, b, s in rows if s >= np.float32(threshold)]
    got = sorted(sorted(g.tolist()) for g in group_indices(t, n, threshold))
    assert got == _reference(n, kept)


def test_labels_cover_every_file():
    labels = component_labels(5, np.array([0, 3]), np.array([1, 4]))
    assert labels.shape == (5,)
    assert labels[0] == labels[1] and labels[3] == labels[4]
    assert len({labels[0], labels[2], labels[3]}) == 3


def test_pair_table_concat_keeps_every_pair_sorted_by_score():
    from dedupe_gui.core.results import PairTable

    t1 = PairTable.build([0, 1], [1, 2], [90.0, 70.0], [3, 9])
    t2 = PairTable.build([2, 0], [3, 3], [95.0, 80.0], [1, 5])
    both = PairTable.concat([t1, t2])
    assert both.score.tolist() == [95.0, 90.0, 80.0, 70.0]
    assert list(zip(both.a.tolist(), both.b.tolist(), strict=True)) == [(2, 3), (0, 1), (0, 3), (1, 2)]
    assert len(PairTable.concat([])) == 0 and PairTable.concat([t1]) is t1
