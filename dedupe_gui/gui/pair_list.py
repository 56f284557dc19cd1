"""The Duplicates panel's pair list: the threshold slider, the pair/group counts, the table
and the selection in it.

A mixin of DuplicatesPanel, kept apart so each module has one job: this one decides which
pairs are visible (the model filters with numpy, never row by row) and which one is current;
the review pane shows it. Group counts for every threshold are computed once per result
(in a thread when the result is big), so a slider move is a lookup.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QItemSelectionModel, Qt, QThread, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSlider,
    QTableView,
)

from dedupe_gui.core.group_counts import prefix_group_counts
from dedupe_gui.core.grouping import component_labels

SLIDER_STEPS = 2  # slider units per score point (0.5 steps)
GROUP_COUNT_SYNC = 20_000  # pairs: below this the prefix group counts are computed inline


class _GroupCounter(QThread):
    """Computes the prefix group counts of a big result in the background."""

    done = Signal(int, object)

    def __init__(self, generation: int, n_files: int, a: np.ndarray, b: np.ndarray) -> None:
        super().__init__()
        self.generation, self.n_files, self.a, self.b = generation, n_files, a, b

    def run(self) -> None:
        try:
            self.done.emit(self.generation, prefix_group_counts(self.n_files, self.a, self.b))
        except Exception:  # noqa: BLE001 - the counts then come from the slower fallback
            pass


class _PairTable(QTableView):
    """The pair list; letters are shortcuts here, not a keyboard search."""

    def keyboardSearch(self, search: str) -> None:  # noqa: N802
        pass


class PairListMixin:
    """Slider, counts, table and selection of DuplicatesPanel (see the module docstring)."""

    def _build_pair_list(self) -> QHBoxLayout:
        """The threshold slider, the counts and the pair table; returns the slider row."""
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        from dedupe_gui.core.matching import MIN_SCORE

        self.slider.setRange(int(MIN_SCORE * SLIDER_STEPS), 100 * SLIDER_STEPS)
        self.slider.setPageStep(2 * SLIDER_STEPS)
        self.slider.setToolTip("Similarity threshold: only pairs at least this similar are "
                               "listed (no rescan needed)")
        self.threshold_label = QLabel()
        self.threshold_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("≥ 100.0") + 8)
        self.counts_label = QLabel("No results yet")
        self.counts_label.setWordWrap(True)
        slider_row = QHBoxLayout()
        slider_row.addWidget(QLabel("Similarity"))
        slider_row.addWidget(self.slider, 1)
        slider_row.addWidget(self.threshold_label)

        self.table = _PairTable()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        self.table.setColumnWidth(0, self.fontMetrics().horizontalAdvance("Score") + 24)
        self.table.setColumnWidth(5, self.fontMetrics().horizontalAdvance("kept both") + 16)
        for col in (3, 4):  # sizes: in the facts table below the pictures; a right-click shows
            self.table.setColumnHidden(col, True)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for col, name in ((3, "Left size"), (4, "Right size")):
            act = QAction(f"Show {name.lower()}", header)
            act.setCheckable(True)
            act.toggled.connect(lambda on, c=col: self.table.setColumnHidden(c, not on))
            header.addAction(act)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.installEventFilter(self)
        return slider_row

    def _init_threshold(self) -> None:
        """The slider at the remembered threshold (else the engine's default), then live."""
        from dedupe_gui.core.matching import DEFAULT_THRESHOLD

        threshold = self.prefs.threshold if self.prefs.threshold is not None else DEFAULT_THRESHOLD
        self.slider.setValue(round(threshold * SLIDER_STEPS))
        self.model.threshold = self.threshold
        self.slider.valueChanged.connect(self._slider_moved)
        self._update_threshold_label()

    @property
    def threshold(self) -> float:
        return self.slider.value() / SLIDER_STEPS

    def set_threshold(self, value: float) -> None:
        self.slider.setValue(round(value * SLIDER_STEPS))

    def _slider_moved(self) -> None:
        current = self._current_paths()
        self.model.set_threshold(self.threshold)
        self._update_threshold_label()
        self._update_counts()
        self._reselect(current, keep_scroll=True)
        self.prefs.threshold = self.threshold

    def _update_threshold_label(self) -> None:
        self.threshold_label.setText(f"≥ {self.threshold:.1f}")

    def group_count(self) -> int:
        """Groups among the visible pairs: a lookup once the prefix counts are known."""
        pairs = self.model.visible_pairs()
        if not len(pairs):
            return 0
        if self.model.sorted and self._group_counts is not None:
            return int(self._group_counts[len(pairs)])
        if self.model.sorted:
            a, b = self.model.a[: len(pairs)], self.model.b[: len(pairs)]
        else:
            a, b = self.model.a[pairs], self.model.b[pairs]
        labels = component_labels(len(self.model.files), a, b)
        return int(np.unique(labels[a]).shape[0])

    def _start_group_counts(self) -> None:
        """Groups for every threshold, computed once per result (off the GUI thread when
        the result is big: ~0.2 s at 100k pairs)."""
        self._group_gen += 1
        self._group_counts = None
        m = self.model
        if len(m.a) < GROUP_COUNT_SYNC:
            self._group_counts = prefix_group_counts(len(m.files), m.a, m.b)
            return
        thread = _GroupCounter(self._group_gen, len(m.files), m.a, m.b)
        thread.done.connect(self._group_counts_done)
        thread.finished.connect(lambda t=thread: self._group_threads.remove(t) or t.deleteLater())
        self._group_threads.append(thread)
        thread.start()

    def _group_counts_done(self, generation: int, counts) -> None:
        if generation == self._group_gen:
            self._group_counts = counts
            self._update_counts()

    def _update_counts(self) -> None:
        n = self.model.rowCount()
        if not n and not len(self.model.a):
            self.counts_label.setText("Scanning…" if self.scanning else "No pairs")
            return
        pairs = self.model.visible_pairs()
        to_review = int(np.count_nonzero(self.model.open_mask()[pairs])) if n else 0
        self.counts_label.setText(
            f"<b>{n}</b> pairs in <b>{self.group_count()}</b> groups · {to_review} to review")
        self.counts_label.setToolTip(f"{len(self.model.a)} candidate pairs in all; the slider "
                                     "shows those at least this similar")

    def _current_paths(self) -> tuple[str, str] | None:
        if self._current is None or self._current >= len(self.model.a):
            return None
        fa, fb = self.model.files_of(self._current)
        return fa.path, fb.path

    def _reselect(self, paths: tuple[str, str] | None, keep_scroll: bool = False) -> None:
        row = None
        if paths is not None:
            pair = self.model.find_pair(*paths)
            row = None if pair is None else self.model.row_of(pair)
        if row is None:
            if self.model.rowCount():
                first = self.model.next_open_row(-1)
                self.select_row(first if first is not None else 0)
            else:
                self._current = None
                self.table.selectionModel().clearCurrentIndex()
                self.compare.clear("No pairs at this threshold")
                self.meta_table.show_meta(None, None)
                self._update_buttons()
            return
        self._current = self.model.pair_at(row)
        self.select_row(row, scroll=not keep_scroll)

    def select_row(self, row: int, scroll: bool = True) -> None:
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        if scroll:
            self.table.scrollTo(index)
        self._show_pair(self.model.pair_at(row))

    def _row_changed(self, current, previous) -> None:
        if current.isValid():
            self._show_pair(self.model.pair_at(current.row()))

    def current_row(self) -> int | None:
        idx = self.table.currentIndex()
        return idx.row() if idx.isValid() else None

    def step(self, direction: int) -> None:
        row = self.current_row()
        n = self.model.rowCount()
        if not n:
            return
        target = 0 if row is None else min(max(row + direction, 0), n - 1)
        self.select_row(target)

    def _advance(self) -> None:
        """After a decision: the next pair that still needs one (else stay)."""
        row = self.current_row()
        if row is None:
            return
        nxt = self.model.next_open_row(row)
        if nxt is None:
            nxt = self.model.next_open_row(row, -1)
        if nxt is not None:
            self.select_row(nxt)
        else:
            self._show_pair(self._current, force=True) if self._current is not None else None
            self.statusMessage.emit("All pairs at this threshold are decided")
