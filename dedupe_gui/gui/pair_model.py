"""The list of pairs as a Qt model over numpy arrays.

Why this shape: a finished scan's pairs are sorted by score, so a threshold is a prefix
(``PairTable.count_at``); the slider changes ``rowCount`` with one insert or remove
notification and never looks at rows one by one. While a scan streams, pairs arrive in
arrival order: each batch is appended with a single ``beginInsertRows`` (the visible rows are
an index array computed with numpy), and the model switches to the sorted table once, when
the scan finishes. A decision on a pair costs one ``dataChanged``.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from enum import IntEnum

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from dedupe_gui.core.results import FileRecord, PairRecord, PairTable


class PairState(IntEnum):
    """What the user decided about a pair (file removals are tracked per file)."""

    OPEN = 0
    KEPT_BOTH = 1
    NOT_DUPLICATE = 2


COLUMNS = ("Score", "Left", "Right", "Left size", "Right size", "Status")
_STATE_TEXT = {PairState.KEPT_BOTH: "kept both", PairState.NOT_DUPLICATE: "not a duplicate"}

_Index = QModelIndex | QPersistentModelIndex


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


class PairModel(QAbstractTableModel):
    """Pairs with score >= threshold; rows map to pair indices without Python filtering."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._clear_arrays()
        self.threshold = 0.0

    # ---- state -------------------------------------------------------------------------
    def _clear_arrays(self) -> None:
        self.files: list[FileRecord] = []
        self._file_index: dict[str, int] = {}
        self.a = np.empty(0, np.int32)
        self.b = np.empty(0, np.int32)
        self.score = np.empty(0, np.float32)
        self.distance = np.empty(0, np.int16)
        self.state = np.empty(0, np.int8)
        self.gone: dict[int, str] = {}  # file index -> what happened ("trashed", "moved to ...")
        self.sorted = True
        self._rows: np.ndarray | None = None  # streaming: visible pair indices
        self._n = 0  # sorted: visible prefix length

    def clear(self) -> None:
        self.beginResetModel()
        self._clear_arrays()
        self.endResetModel()

    def _index_of(self, rec: FileRecord) -> int:
        i = self._file_index.get(rec.path)
        if i is None:
            i = len(self.files)
            self.files.append(rec)
            self._file_index[rec.path] = i
        return i

    def file_index(self, path: str) -> int | None:
        return self._file_index.get(path)

    # ---- streaming ---------------------------------------------------------------------
    def begin_streaming(self) -> None:
        """A new scan: empty, unsorted, rows appended in arrival order."""
        self.beginResetModel()
        self._clear_arrays()
        self.sorted = False
        self._rows = np.empty(0, np.int64)
        self.endResetModel()

    def append_pairs(self, pairs: Sequence[PairRecord]) -> None:
        """One batch from the scan thread: one ``beginInsertRows`` for the visible ones."""
        if not pairs:
            return
        if self.sorted:  # a late batch after the result arrived: ignore (already included)
            return
        start = len(self.a)
        a = np.fromiter((self._index_of(p.a) for p in pairs), np.int32, len(pairs))
        b = np.fromiter((self._index_of(p.b) for p in pairs), np.int32, len(pairs))
        score = np.fromiter((p.score for p in pairs), np.float32, len(pairs))
        dist = np.fromiter((p.distance for p in pairs), np.int16, len(pairs))
        new_rows = start + np.flatnonzero(score >= self.threshold)
        self.a = np.concatenate([self.a, a])
        self.b = np.concatenate([self.b, b])
        self.score = np.concatenate([self.score, score])
        self.distance = np.concatenate([self.distance, dist])
        self.state = np.concatenate([self.state, np.zeros(len(pairs), np.int8)])
        if len(new_rows):
            assert self._rows is not None
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new_rows) - 1)
            self._rows = np.concatenate([self._rows, new_rows])
            self.endInsertRows()

    def set_result(self, files: list[FileRecord], table: PairTable,
                   states: dict[tuple[str, str], int] | None = None,
                   gone: dict[str, str] | None = None) -> None:
        """The finished (or restored) result, sorted by score: the slider's prefix form.

        Decisions made while streaming are carried over by file path.
        """
        old_states: dict[tuple[str, str], int] = dict(states or {})
        for i in np.flatnonzero(self.state):
            old_states[(self.files[self.a[i]].path, self.files[self.b[i]].path)] = int(
                self.state[i])
        old_gone = {self.files[i].path: what for i, what in self.gone.items()}
        old_gone.update(gone or {})
        self.beginResetModel()
        self._clear_arrays()
        self.files = list(files)
        self._file_index = {f.path: i for i, f in enumerate(self.files)}
        self.a, self.b = table.a.astype(np.int32), table.b.astype(np.int32)
        self.score, self.distance = table.score, table.distance
        self.state = np.zeros(len(table), np.int8)
        if old_states:
            key = {(self.files[x].path, self.files[y].path): k
                   for k, (x, y) in enumerate(zip(self.a.tolist(), self.b.tolist(), strict=True))}
            for (pa, pb), st in old_states.items():
                k = key.get((pa, pb), key.get((pb, pa)))
                if k is not None:
                    self.state[k] = st
        for path, what in old_gone.items():
            i = self._file_index.get(path)
            if i is not None:
                self.gone[i] = what
        self.sorted = True
        self._rows = None
        self._n = self._count_sorted(self.threshold)
        self.endResetModel()

    # ---- the slider ----------------------------------------------------------------------
    def _count_sorted(self, threshold: float) -> int:
        return int(np.searchsorted(-self.score, -np.float32(threshold), side="right"))

    def set_threshold(self, threshold: float) -> None:
        """Show the pairs with score >= threshold: O(log n) on a sorted result."""
        self.threshold = float(threshold)
        if self.sorted:
            n = self._count_sorted(threshold)
            if n > self._n:
                self.beginInsertRows(QModelIndex(), self._n, n - 1)
                self._n = n
                self.endInsertRows()
            elif n < self._n:
                self.beginRemoveRows(QModelIndex(), n, self._n - 1)
                self._n = n
                self.endRemoveRows()
        else:  # streaming: a vectorised selection, then one reset (rare: slider mid-scan)
            self.beginResetModel()
            self._rows = np.flatnonzero(self.score >= self.threshold)
            self.endResetModel()

    def count_at(self, threshold: float) -> int:
        if self.sorted:
            return self._count_sorted(threshold)
        return int(np.count_nonzero(self.score >= threshold))

    def visible_pairs(self) -> np.ndarray:
        """Pair indices of the visible rows, in row order."""
        if self.sorted:
            return np.arange(self._n)
        assert self._rows is not None
        return self._rows

    # ---- rows, pairs, decisions -----------------------------------------------------------
    def pair_at(self, row: int) -> int:
        if self.sorted:
            return row
        assert self._rows is not None
        return int(self._rows[row])

    def row_of(self, pair: int) -> int | None:
        if self.sorted:
            return pair if pair < self._n else None
        assert self._rows is not None
        hit = np.flatnonzero(self._rows == pair)
        return int(hit[0]) if len(hit) else None

    def find_pair(self, path_a: str, path_b: str) -> int | None:
        ia, ib = self._file_index.get(path_a), self._file_index.get(path_b)
        if ia is None or ib is None:
            return None
        hit = np.flatnonzero(((self.a == ia) & (self.b == ib)) | ((self.a == ib) & (self.b == ia)))
        return int(hit[0]) if len(hit) else None

    def files_of(self, pair: int) -> tuple[FileRecord, FileRecord]:
        return self.files[self.a[pair]], self.files[self.b[pair]]

    def is_open(self, pair: int) -> bool:
        """Still needs a decision: no state yet and both files still in place."""
        return (self.state[pair] == PairState.OPEN and int(self.a[pair]) not in self.gone
                and int(self.b[pair]) not in self.gone)

    def open_mask(self) -> np.ndarray:
        mask = self.state == PairState.OPEN
        if self.gone:
            gone = np.fromiter(self.gone, np.int64, len(self.gone))
            mask &= ~np.isin(self.a, gone) & ~np.isin(self.b, gone)
        return mask

    def next_open_row(self, row: int, step: int = 1) -> int | None:
        """The next visible row (after ``row`` in direction ``step``) that needs a decision."""
        pairs = self.visible_pairs()
        if not len(pairs):
            return None
        mask = self.open_mask()[pairs]
        if step > 0:
            hits = np.flatnonzero(mask[row + 1:])
            return row + 1 + int(hits[0]) if len(hits) else None
        hits = np.flatnonzero(mask[:max(row, 0)])
        return int(hits[-1]) if len(hits) else None

    def set_state(self, pair: int, state: PairState) -> None:
        self.state[pair] = state
        self._changed_pairs(np.array([pair]))

    def set_gone(self, file_index: int, what: str | None) -> None:
        """A file was trashed/moved (``what``), or came back (None); its pairs repaint."""
        if what is None:
            self.gone.pop(file_index, None)
        else:
            self.gone[file_index] = what
        self._changed_pairs(np.flatnonzero((self.a == file_index) | (self.b == file_index)))

    def _changed_pairs(self, pairs: Iterable[int]) -> None:
        last = len(COLUMNS) - 1
        for p in pairs:
            row = self.row_of(int(p))
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))

    def status_text(self, pair: int) -> str:
        parts = []
        st = PairState(int(self.state[pair]))
        if st != PairState.OPEN:
            parts.append(_STATE_TEXT[st])
        for side, i in (("left", int(self.a[pair])), ("right", int(self.b[pair]))):
            if i in self.gone:
                parts.append(f"{side} {self.gone[i]}")
        return ", ".join(parts)

    # ---- Qt model interface ------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        if parent.isValid():
            return 0
        if self.sorted:
            return self._n
        return 0 if self._rows is None else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        # Called ~7 times per visible cell on every repaint: decide by role first, touch the
        # arrays only for the roles that have something to say.
        if role == _DISPLAY:
            pair = self.pair_at(index.row())
            col = index.column()
            if col == 0:
                return f"{float(self.score[pair]):.1f}"
            if col == 5:
                return self.status_text(pair) if not self.is_open(pair) else ""
            f = self.files[int(self.a[pair] if col in (1, 3) else self.b[pair])]
            if col in (1, 2):
                return os.path.basename(f.path)
            return f"{f.width}×{f.height}, {_human(f.size)}"
        if role == _FOREGROUND:
            return _GREY if not self.is_open(self.pair_at(index.row())) else None
        if role == _ALIGN:
            return _RIGHT if index.column() == 0 else None
        if role == _TOOLTIP and index.column() in (1, 2):
            pair = self.pair_at(index.row())
            return self.files[int(self.a[pair] if index.column() == 1 else self.b[pair])].path
        return None


_DISPLAY = Qt.ItemDataRole.DisplayRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_GREY = QBrush(QColor(140, 140, 140))
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
