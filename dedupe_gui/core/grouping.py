"""Groups of duplicates at a threshold: connected components of the pairs above it.

The pair table is sorted by score, so a threshold selects a prefix; the groups of that prefix
are recomputed on every slider move. Union-find in Python costs ~0.1 s per 100k pairs; the
components are computed instead by SciPy's compiled graph routine, in about a millisecond for
100k pairs. SciPy is imported on first use: it costs ~0.5 s at start-up, which a CLI run or
the window should not pay before it needs groups.
"""
from __future__ import annotations

import numpy as np

from dedupe_gui.core.results import PairTable


def component_labels(n_files: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Label per file (int32): files joined by a pair share a label; singletons too get one."""
    if n_files == 0:
        return np.empty(0, np.int32)
    a = np.asarray(a, np.int32)
    b = np.asarray(b, np.int32)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(a.shape[0], np.int8), (a, b)), shape=(n_files, n_files))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int32, copy=False)


def group_indices(pairs: PairTable, n_files: int, threshold: float) -> list[np.ndarray]:
    """Groups (arrays of file indices, ascending) of the pairs with ``score >= threshold``.

    Only groups of two or more files; ordered by their best pair (the first pair of the
    prefix that touches them), so the most certain duplicates come first.
    """
    k = pairs.count_at(threshold)
    if k == 0:
        return []
    a, b = pairs.a[:k], pairs.b[:k]
    labels = component_labels(n_files, a, b)
    # O(n + k) bookkeeping (no sort of the pairs): which files are in a pair, and the first
    # (best) pair of each group; reversed assignment keeps the earliest index.
    in_pair = np.zeros(n_files, bool)
    in_pair[a] = True
    in_pair[b] = True
    members = np.flatnonzero(in_pair)
    first = np.full(int(labels.max()) + 1, k, np.int64)
    first[labels[a][::-1]] = np.arange(k - 1, -1, -1)
    member_labels = labels[members]
    order = np.lexsort((members, first[member_labels]))  # by group rank, then file index
    sorted_members = members[order]
    bounds = np.flatnonzero(np.diff(member_labels[order])) + 1
    return np.split(sorted_members, bounds)


def groups_at(pairs: PairTable, paths: list[str], threshold: float) -> list[list[str]]:
    """Like ``group_indices`` but as lists of paths (for the CLI and JSON)."""
    return [[paths[i] for i in g] for g in group_indices(pairs, len(paths), threshold)]
