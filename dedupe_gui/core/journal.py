"""The action journal: one SQLite file (WAL) recording every file operation before it runs
('pending', with all that undo or repair needs) and after ('done').

Why: the 'pending' row must be committed before the file moves, or a crash could leave a
moved file nobody knows about. The journal is also the undo history, so undo and redo
survive restarts. synchronous=NORMAL (WAL): a commit survives a crash of the app; a power cut
may lose the last few entries, which costs their undo but never bytes, since every operation
keeps the file complete at one of its two places. FULL would fsync twice per file and make a
bulk apply of thousands of files crawl.

Model: a *step* is one undo unit (a single decision or a bulk batch). It holds *entries*,
one per file operation. ``op`` is 'trash', 'delete' or 'move' (the user's action) or
'restore' / 'unmove' (undoing a trash / move; ``parent`` points at the entry undone).
Entry states: pending -> done | rolled_back | failed; a done trash/move becomes 'reverted'
when undone and 'redone' once a redo re-applied it as a new entry.
Step states: open (batch running) -> active (undo stack) <-> undone (redo stack);
'discarded' (redo stack cleared by a new action); 'final' (nothing in it can be undone).
"""
from __future__ import annotations

import functools
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from dedupe_gui.core.sqlite_wal import open_wal

SCHEMA_VERSION = 1  # bump with a migration when the tables change
SCHEMA = """
CREATE TABLE IF NOT EXISTS steps(
    id INTEGER PRIMARY KEY, label TEXT NOT NULL, state TEXT NOT NULL,
    created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS entries(
    id INTEGER PRIMARY KEY, step_id INTEGER NOT NULL REFERENCES steps(id), seq INTEGER NOT NULL,
    parent INTEGER, op TEXT NOT NULL, state TEXT NOT NULL,
    src TEXT NOT NULL, dst TEXT, temp TEXT, size INTEGER, mtime_ns INTEGER,
    trash_dir TEXT, trash_name TEXT, made_dirs TEXT,
    created REAL NOT NULL, finished REAL, message TEXT);
CREATE INDEX IF NOT EXISTS entries_step ON entries(step_id, seq);
CREATE INDEX IF NOT EXISTS entries_state ON entries(state);
CREATE INDEX IF NOT EXISTS steps_state ON steps(state, id);
CREATE INDEX IF NOT EXISTS entries_trash ON entries(trash_name, trash_dir);
"""

REVERSIBLE = ("trash", "move")


@dataclass
class Entry:
    id: int
    step_id: int
    seq: int
    parent: int | None
    op: str
    state: str
    src: str
    dst: str | None
    temp: str | None
    size: int | None
    mtime_ns: int | None
    trash_dir: str | None
    trash_name: str | None
    made_dirs: list[str] = field(default_factory=list)
    created: float = 0.0
    finished: float | None = None
    message: str | None = None


@dataclass(frozen=True)
class HistoryItem:
    """One journal entry for a history view (newest first)."""

    entry_id: int
    step_id: int
    step_label: str
    step_state: str
    op: str
    state: str
    src: str
    dst: str | None
    when: float
    message: str | None


_COLS = ("id, step_id, seq, parent, op, state, src, dst, temp, size, mtime_ns, trash_dir, "
         "trash_name, made_dirs, created, finished, message")


def _entry(row) -> Entry:
    e = Entry(*row)
    e.made_dirs = json.loads(row[13]) if row[13] else []
    return e


def _locked(fn):
    """One connection shared by the GUI thread and a bulk-apply thread: one call at a time."""
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return fn(self, *args, **kwargs)
    return wrapper


class Journal:
    """Thin, explicit SQLite access; every write commits at once (before acting). Calls are
    short and serialized by a lock, so reads from the GUI thread never wait long."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        self.db = open_wal(self.path)
        if self.db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            self.db.executescript(SCHEMA + f"PRAGMA user_version={SCHEMA_VERSION};")

    @_locked
    def close(self) -> None:
        self.db.close()

    # steps
    @_locked
    def new_step(self, label: str, state: str = "open") -> int:
        now = time.time()
        cur = self.db.execute("INSERT INTO steps(label, state, created, updated) VALUES (?,?,?,?)",
                              (label, state, now, now))
        return int(cur.lastrowid)

    @_locked
    def set_step(self, step_id: int, state: str) -> None:
        self.db.execute("UPDATE steps SET state=?, updated=? WHERE id=?", (state, time.time(), step_id))

    @_locked
    def step(self, step_id: int) -> tuple[int, str, str] | None:
        return self.db.execute("SELECT id, label, state FROM steps WHERE id=?", (step_id,)).fetchone()

    @_locked
    def steps_in(self, state: str) -> list[tuple[int, str, str]]:
        return self.db.execute("SELECT id, label, state FROM steps WHERE state=? ORDER BY id",
                               (state,)).fetchall()

    @_locked
    def top_active(self) -> tuple[int, str, str] | None:
        return self.db.execute("SELECT id, label, state FROM steps WHERE state='active' "
                               "ORDER BY id DESC LIMIT 1").fetchone()

    @_locked
    def next_undone(self) -> tuple[int, str, str] | None:
        return self.db.execute("SELECT id, label, state FROM steps WHERE state='undone' "
                               "ORDER BY id LIMIT 1").fetchone()

    @_locked
    def discard_redo(self) -> None:
        self.db.execute("UPDATE steps SET state='discarded', updated=? WHERE state='undone'",
                        (time.time(),))

    # entries
    @_locked
    def add(self, step_id: int, op: str, src: str, *, parent: int | None = None,
            dst: str | None = None, temp: str | None = None, size: int | None = None,
            mtime_ns: int | None = None, trash_dir: str | None = None,
            trash_name: str | None = None, made_dirs: list[str] | None = None,
            seq: int | None = None) -> Entry:
        """Insert a 'pending' entry and commit it (before the operation runs)."""
        if seq is None:
            seq = self.db.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM entries WHERE step_id=?",
                                  (step_id,)).fetchone()[0]
        now = time.time()
        cur = self.db.execute(
            "INSERT INTO entries(step_id, seq, parent, op, state, src, dst, temp, size, mtime_ns, "
            "trash_dir, trash_name, made_dirs, created) VALUES (?,?,?,?,'pending',?,?,?,?,?,?,?,?,?)",
            (step_id, seq, parent, op, src, dst, temp, size, mtime_ns, trash_dir, trash_name,
             json.dumps(made_dirs or []), now))
        return self.get(int(cur.lastrowid))

    @_locked
    def update(self, entry_id: int, **fields) -> None:
        if "made_dirs" in fields:
            fields["made_dirs"] = json.dumps(fields["made_dirs"] or [])
        if fields.get("state") not in (None, "pending") and "finished" not in fields:
            fields["finished"] = time.time()
        cols = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE entries SET {cols} WHERE id=?", (*fields.values(), entry_id))

    @_locked
    def get(self, entry_id: int) -> Entry:
        return _entry(self.db.execute(f"SELECT {_COLS} FROM entries WHERE id=?", (entry_id,)).fetchone())

    @_locked
    def entries(self, step_id: int, states: tuple[str, ...] | None = None) -> list[Entry]:
        sql = f"SELECT {_COLS} FROM entries WHERE step_id=?"
        args: list = [step_id]
        if states:
            sql += f" AND state IN ({','.join('?' * len(states))})"
            args += list(states)
        return [_entry(r) for r in self.db.execute(sql + " ORDER BY seq, id", args)]

    @_locked
    def pending(self) -> list[Entry]:
        return [_entry(r) for r in self.db.execute(
            f"SELECT {_COLS} FROM entries WHERE state='pending' ORDER BY id")]

    @_locked
    def trash_item_in_use(self, trash_dir: str, trash_name: str) -> bool:
        """Is this trash item recorded by an applied trash entry (so a fresh item of the same
        path is not mistaken for it)?"""
        return self.db.execute(
            "SELECT 1 FROM entries WHERE trash_name=? AND trash_dir=? AND op='trash' "
            "AND state='done' LIMIT 1", (trash_name, trash_dir)).fetchone() is not None

    @_locked
    def history(self, limit: int = 1000) -> list[HistoryItem]:
        rows = self.db.execute(
            "SELECT e.id, e.step_id, s.label, s.state, e.op, e.state, e.src, e.dst, e.created, "
            "e.message FROM entries e JOIN steps s ON s.id = e.step_id ORDER BY e.id DESC LIMIT ?",
            (limit,)).fetchall()
        return [HistoryItem(*r) for r in rows]
