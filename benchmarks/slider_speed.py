#!/usr/bin/env python3
"""Threshold slider speed over a big result, side by side in one run.

    QT_QPA_PLATFORM=offscreen python benchmarks/slider_speed.py [--pairs 100000] [--moves 60]

(a) ours: the real Duplicates panel (shown, offscreen) holding ``--pairs`` pairs; each move
    sets the slider and processes the events it posts, the table's repaint included, so the
    figure covers the model (a prefix: one insert/remove notification), the counts (a lookup
    in the prefix group counts computed once per result), the reselection and the view.
    Target (issue 3): <= 50 ms per move at 100k.
(b) naive: the same moves against a model that filters rows in Python and resets (what a
    QSortFilterProxyModel-style filter does per row), with the same view.
Prints ms per move (median and worst) and the ratio naive/ours.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def synthetic_result(n_pairs: int, seed: int = 7):
    """A result shaped like a big library's: files in small groups, scores 50-100."""
    import numpy as np

    from dedupe_gui.core.results import FileRecord, PairTable, ScanResult

    rng = np.random.default_rng(seed)
    n_files = int(n_pairs * 0.8)
    files = [FileRecord(f"/photos/{i // 1000:03d}/IMG_{i:06d}.jpg", 3_000_000 + i, i, 4000,
                        3000, f"k{i}") for i in range(n_files)]
    a = rng.integers(0, n_files - 8, n_pairs)
    b = a + rng.integers(1, 8, n_pairs)
    score = rng.uniform(50, 100, n_pairs)
    dist = rng.integers(0, 24, n_pairs)
    return ScanResult(files, PairTable.build(a, b, score, dist), [], 1.0, False, 85.0)


def measure(panel, app, values: list[int]) -> tuple[list[float], int]:
    """ms per move: setValue, every slot (model notification, counts, reselection) and the
    events it posts, including the table's repaint (counted: a move that changes nothing on
    screen needs none). Returns (times, moves that repainted)."""
    from PySide6.QtCore import QEvent, QObject

    class PaintCounter(QObject):
        n = 0

        def eventFilter(self, obj, event):  # noqa: N802
            if event.type() == QEvent.Type.Paint:
                PaintCounter.n += 1
            return False

    counter = PaintCounter()
    panel.table.viewport().installEventFilter(counter)
    times, painted = [], 0
    for v in values:
        PaintCounter.n = 0
        t0 = time.perf_counter()
        panel.slider.setValue(v)
        app.processEvents()
        times.append((time.perf_counter() - t0) * 1000)
        painted += PaintCounter.n > 0
    panel.table.viewport().removeEventFilter(counter)
    return times, painted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--moves", type=int, default=60)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="slider-bench-")
    for var in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        os.environ[var] = os.path.join(tmp, var.lower())
    import numpy as np
    from PySide6.QtCore import QModelIndex, QSettings

    from dedupe_gui.gui.app import make_application

    app = make_application(["bench"])
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
    from dedupe_gui.gui.duplicates_panel import DuplicatesPanel
    from dedupe_gui.gui.pair_model import PairModel

    result = synthetic_result(args.pairs)
    rng = np.random.default_rng(1)
    lo, hi = 100, 200  # slider units: score 50..100 in 0.5 steps
    values = [int(v) for v in rng.integers(lo, hi + 1, args.moves)]

    panel = DuplicatesPanel()
    panel.resize(1400, 900)
    panel.show()
    panel.load_result(result, ["/photos"])
    while panel._group_counts is None:  # computed once per result, in the background
        app.processEvents()
        time.sleep(0.01)
    measure(panel, app, values[:5])  # warm-up
    ours, ours_painted = measure(panel, app, values)

    class NaiveModel(PairModel):
        """Per-row Python filtering and a reset on each move (the thing to avoid)."""

        def set_threshold(self, threshold: float) -> None:
            self.threshold = float(threshold)
            self.beginResetModel()
            self._rows = np.array([k for k in range(len(self.score))
                                   if self.score[k] >= threshold], np.int64)
            self.sorted = False
            self.endResetModel()

        def rowCount(self, parent=QModelIndex()):  # noqa: B008, N802
            return 0 if self._rows is None else len(self._rows)

        def pair_at(self, row: int) -> int:
            return int(self._rows[row])

    naive = NaiveModel()
    naive.set_result(result.files, result.pairs)
    panel.model = naive
    panel.table.setModel(naive)
    panel.table.selectionModel().currentRowChanged.connect(panel._row_changed)
    sample = values[: max(5, args.moves // 6)]
    naive_t, naive_painted = measure(panel, app, sample)

    def line(name: str, xs: list[float]) -> str:
        return f"{name}: median {statistics.median(xs):7.2f} ms/move, worst {max(xs):7.2f} ms"

    print(f"pairs: {args.pairs}, files: {len(result.files)}, moves: {len(values)} "
          f"(naive: {len(sample)})")
    print(line("ours ", ours) + f"  ({ours_painted}/{len(values)} moves repainted; "
          "target <= 50 ms)")
    print(line("naive", naive_t) + f"  ({naive_painted}/{len(sample)} moves repainted)")
    print(f"ratio naive/ours (median): "
          f"{statistics.median(naive_t) / statistics.median(ours):.1f}x")
    panel.shutdown()
    return 0 if statistics.median(ours) <= 50 else 1


if __name__ == "__main__":
    sys.exit(main())
