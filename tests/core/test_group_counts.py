"""prefix_group_counts agrees with connected components recomputed for every prefix."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe_gui.core.group_counts import prefix_group_counts
from dedupe_gui.core.grouping import component_labels


def brute(n_files, a, b, k):
    if k == 0:
        return 0
    labels = component_labels(n_files, a[:k], b[:k])
    return len(np.unique(labels[np.concatenate([a[:k], b[:k]])]))


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 30).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))))
def test_matches_components_of_every_prefix(case):
    n, pairs = case
    a = np.array([p[0] for p in pairs], np.int64)
    b = np.array([p[1] for p in pairs], np.int64)
    counts = prefix_group_counts(n, a, b)
    assert len(counts) == len(pairs) + 1
    for k in range(len(pairs) + 1):
        if k and np.all(a[:k] == b[:k]):
            assert counts[k] == 0  # only self-pairs: no group
            continue
        mask = a[:k] != b[:k]
        expect = brute(n, a[:k][mask], b[:k][mask], int(mask.sum()))
        assert counts[k] == expect, (k, pairs[:k])


def test_big_table_is_one_call():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 80_000, 100_000)
    b = rng.integers(0, 80_000, 100_000)
    counts = prefix_group_counts(80_000, a, b)
    assert counts[-1] == brute(80_000, a, b, 100_000) - 0
