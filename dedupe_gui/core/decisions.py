""""Not a duplicate" marks, remembered by content so they survive renames and moves.

A mark is an unordered pair of content keys (``dedupe_gui.core.files.content_key``; the
FileRecord carries it as ``content_key``). Stored in SQLite (WAL); the file may be the
action journal's own database or a separate one: the table names do not clash.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from dedupe_gui.core.results import FileRecord
from dedupe_gui.core.sqlite_wal import open_wal

SCHEMA = """
CREATE TABLE IF NOT EXISTS not_duplicates(
    a TEXT NOT NULL, b TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (a, b)) WITHOUT ROWID;
"""


def _pair(a_key: str, b_key: str) -> tuple[str, str]:
    if not a_key or not b_key:
        raise ValueError("a 'not a duplicate' mark needs two content keys (the file was not keyed)")
    return (a_key, b_key) if a_key <= b_key else (b_key, a_key)


class Decisions:
    """The user's "these two are not duplicates" marks, keyed by content, order-independent."""

    def __init__(self, db_path: Path):
        self._db = open_wal(db_path)
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._cache: set[tuple[str, str]] | None = None

    def close(self) -> None:
        self._db.close()

    def mark(self, a_key: str, b_key: str) -> None:
        self.mark_many([(a_key, b_key)])

    def mark_many(self, pairs: Iterable[tuple[str, str]]) -> None:
        rows = [(*_pair(a, b), time.time()) for a, b in pairs]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR IGNORE INTO not_duplicates(a, b, created) VALUES (?,?,?)", rows)
            self._db.execute("COMMIT")
            self._cache = None

    def unmark(self, a_key: str, b_key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM not_duplicates WHERE a=? AND b=?", _pair(a_key, b_key))
            self._cache = None

    def is_marked(self, a_key: str, b_key: str) -> bool:
        if not a_key or not b_key:
            return False
        return _pair(a_key, b_key) in self.marked_pairs()

    def marked_pairs(self) -> set[tuple[str, str]]:
        """All marks as (smaller key, larger key) tuples (cached until the next change)."""
        with self._lock:
            if self._cache is None:
                self._cache = set(self._db.execute("SELECT a, b FROM not_duplicates"))
            return set(self._cache)

    def __len__(self) -> int:
        return len(self.marked_pairs())

    def pair_mask(self, files: Sequence[FileRecord], a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Boolean array, True where pair (files[a[i]], files[b[i]]) is marked "not a
        duplicate". Vectorised over pairs (a PairTable's ``a``/``b``): Python touches each
        file once, never each pair. Drop marked pairs with ``table[~mask]``."""
        a = np.asarray(a)
        b = np.asarray(b)
        marked = self.marked_pairs()
        if not marked or a.size == 0:
            return np.zeros(a.shape, bool)
        keys = sorted({k for p in marked for k in p})
        kid = {k: i for i, k in enumerate(keys)}
        fid = np.fromiter((kid.get(f.content_key, -1) if f.content_key else -1 for f in files),
                          np.int64, len(files))
        ka, kb = fid[a], fid[b]
        lo, hi = np.minimum(ka, kb), np.maximum(ka, kb)
        n = len(keys)
        codes = lo * n + hi
        marked_codes = np.fromiter((kid[x] * n + kid[y] for x, y in marked), np.int64, len(marked))
        return (lo >= 0) & np.isin(codes, marked_codes)


__all__ = ["Decisions"]
