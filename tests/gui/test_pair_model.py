"""The pair model: streaming inserts, the threshold prefix, decisions, with a Qt model tester."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtTest import QAbstractItemModelTester

from dedupe_gui.core.results import FileRecord, PairRecord, PairTable
from dedupe_gui.gui.pair_model import PairModel, PairState


def files(n: int) -> list[FileRecord]:
    return [FileRecord(f"/pics/f{i}.jpg", 1000 + i, i, 100 + i, 80, f"k{i}") for i in range(n)]


def table(n_files: int, n_pairs: int, seed: int = 1) -> PairTable:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n_files - 1, n_pairs)
    b = np.minimum(a + 1 + rng.integers(0, 3, n_pairs), n_files - 1)
    return PairTable.build(a, b, rng.uniform(50, 100, n_pairs), rng.integers(0, 20, n_pairs))


def test_threshold_shows_the_sorted_prefix(qtbot):
    model = PairModel()
    QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    f, t = files(200), table(200, 1000)
    model.set_result(f, t)
    inserted, removed = [], []
    model.rowsInserted.connect(lambda p, a, b: inserted.append((a, b)))
    model.rowsRemoved.connect(lambda p, a, b: removed.append((a, b)))
    for thr in (90.0, 60.0, 99.5, 50.0):
        model.set_threshold(thr)
        assert model.rowCount() == t.count_at(thr) == int((t.score >= thr).sum())
        # the last visible row is still >= threshold, the next hidden one below it
        last = model.rowCount() - 1
        assert float(model.data(model.index(last, 0))) >= thr - 0.05
    # each move was ONE insert or remove notification, never a reset
    assert len(inserted) + len(removed) == 4
    assert removed[0] == (t.count_at(90.0), 999) or removed[0][0] == t.count_at(90.0)


def test_streaming_appends_one_insert_per_batch_and_switches_to_sorted(qtbot):
    model = PairModel()
    QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    f = files(50)
    model.threshold = 80.0
    model.begin_streaming()
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    inserts = []
    model.rowsInserted.connect(lambda p, a, b: inserts.append((a, b)))
    batch1 = [PairRecord(f[i], f[i + 1], 70.0 + i, 3) for i in range(20)]
    batch2 = [PairRecord(f[i], f[i + 2], 99.0 - (i - 20), 2) for i in range(20, 30)]
    model.append_pairs(batch1)
    model.append_pairs(batch2)
    assert inserts == [(0, 9), (10, 19)]  # 10 of batch1 are >= 80, all 10 of batch2
    assert not resets
    assert model.rowCount() == 20
    assert model.data(model.index(0, 1)) == "f10.jpg"
    # a decision while streaming survives the switch to the sorted result
    model.set_state(model.pair_at(0), PairState.KEPT_BOTH)
    allp = batch1 + batch2
    t = PairTable.build([int(p.a.path[7:-4]) for p in allp], [int(p.b.path[7:-4]) for p in allp],
                        [p.score for p in allp], [p.distance for p in allp])
    model.set_result(f, t)
    assert model.sorted and model.rowCount() == t.count_at(80.0) == 20
    pair = model.find_pair("/pics/f10.jpg", "/pics/f11.jpg")
    assert pair is not None and model.state[pair] == PairState.KEPT_BOTH
    assert model.data(model.index(model.row_of(pair), 5)) == "kept both"
    assert np.all(np.diff(model.score[: model.rowCount()]) <= 0)


def test_gone_files_close_their_pairs_and_next_open_row_skips_them(qtbot):
    model = PairModel()
    f = files(6)
    t = PairTable.build([0, 0, 2, 3], [1, 2, 3, 4], [99, 98, 97, 96], [0, 0, 0, 0])
    model.set_result(f, t)
    model.set_threshold(90)
    changed = []
    model.dataChanged.connect(lambda a, b: changed.append((a.row(), b.row())))
    model.set_gone(2, "trashed")  # file 2 is in pairs 1 and 2
    assert sorted(changed) == [(1, 1), (2, 2)]
    assert [model.is_open(p) for p in range(4)] == [True, False, False, True]
    assert model.next_open_row(0) == 3
    assert model.next_open_row(3, -1) == 0
    assert "right trashed" in model.data(model.index(1, 5))
    assert model.data(model.index(1, 1), Qt.ItemDataRole.ForegroundRole) is not None
    model.set_gone(2, None)
    assert model.is_open(1)
    assert model.rowCount(model.index(0, 0)) == 0 and model.rowCount(QModelIndex()) == 4
