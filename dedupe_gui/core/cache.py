"""The fingerprint cache: a rescan of unchanged files touches no pixels.

SQLite in WAL mode: readers never block the writer, another process (a second window, the
CLI) may have the file open at the same time, and a process killed in the middle of a write
leaves the last committed state intact (the half-written WAL frames are ignored on the next
open). Each batch of results is one transaction, so a commit costs one fsync-free WAL append
(``synchronous=NORMAL``), not one per file.

Rows are keyed by path + size + mtime_ns (the cheap question: "is this the very file we saw
before?"). A second index on the content key (size + digest of the first/last 64 KiB, see
``files.content_key``) answers "have we seen this content under another name?", so a renamed
or moved file keeps its fingerprint without being decoded. Each row carries the fingerprint
algorithm's version: rows of another version are ignored and overwritten.

The cache stores opaque blobs; what they mean is ``fingerprint.FingerprintBatch``'s business.
"""
from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from dedupe_gui.core.files import FileEntry
from dedupe_gui.core.sqlite_wal import open_wal

SCHEMA_VERSION = 1
_CHUNK = 500  # parameters per IN (...) query; far below SQLite's limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fingerprints (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    content_key TEXT NOT NULL,
    version INTEGER NOT NULL,
    blob BLOB NOT NULL,
    reason TEXT,          -- not NULL: the file could not be fingerprinted (blob empty)
    env TEXT NOT NULL DEFAULT ''  -- decoders installed when a reason was recorded
);
CREATE INDEX IF NOT EXISTS fingerprints_content ON fingerprints (content_key);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class CacheError(Exception):
    """The cache file exists but cannot be used (not a database, unwritable, ...)."""


def default_cache_path() -> Path:
    """``<user cache dir>/dedupe-gui/fingerprints.sqlite`` (platformdirs)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("dedupe-gui", appauthor=False)) / "fingerprints.sqlite"


class FingerprintCache:
    """Fingerprint blobs by file identity and by content. One instance per thread."""

    def __init__(self, path: str | os.PathLike, version: int, env: str = "") -> None:
        self.path = Path(path)
        self.version = int(version)
        self.env = env
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise CacheError(f"cannot use the cache {self.path}: {exc}") from exc

    @classmethod
    def open_default(cls, version: int, env: str = "") -> FingerprintCache:
        """The per-user cache. A corrupt file there is ours: moved aside and started afresh."""
        path = default_cache_path()
        try:
            return cls(path, version, env)
        except CacheError:
            if not path.exists():
                raise
            path.rename(path.with_name(f"{path.name}.corrupt-{int(time.time())}"))
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return cls(path, version, env)

    def _connect(self) -> sqlite3.Connection:
        db = open_wal(self.path)  # autocommit: one BEGIN/COMMIT per batch, ours
        try:
            db.executescript(
                f"BEGIN IMMEDIATE;{_SCHEMA}"
                f"INSERT OR IGNORE INTO meta VALUES ('schema', '{SCHEMA_VERSION}');COMMIT;")
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> FingerprintCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------
    def lookup(self, entries: Sequence[FileEntry]) -> list[tuple[str, bytes, str | None] | None]:
        """For each entry, ``(content_key, blob, reason)`` if cached with the same size and
        mtime; ``reason`` is not None for a file known to be unreadable (blob empty)."""
        out: list[tuple[str, bytes, str | None] | None] = [None] * len(entries)
        index: dict[str, list[int]] = {}
        for i, e in enumerate(entries):
            index.setdefault(e.path, []).append(i)
        for start in range(0, len(entries), _CHUNK):
            paths = [e.path for e in entries[start:start + _CHUNK]]
            marks = ",".join("?" * len(paths))
            rows = self._db.execute(
                f"SELECT path, size, mtime_ns, content_key, blob, reason, env FROM fingerprints "
                f"WHERE version = ? AND path IN ({marks})", (self.version, *paths))
            for path, size, mtime_ns, key, blob, reason, env in rows:
                for i in index[path]:
                    e = entries[i]
                    if e.size == size and e.mtime_ns == mtime_ns and (reason is None or
                                                                      env == self.env):
                        out[i] = (key, blob, reason)
        return out

    def has_size(self, size: int) -> bool:
        """Whether any current row has a file of exactly ``size`` bytes: only then can a
        content-key lookup hit, so only then is the file worth reading to compute its key."""
        prefix = f"{size}:"
        row = self._db.execute(
            "SELECT 1 FROM fingerprints WHERE content_key >= ? AND content_key < ? "
            "AND version = ? LIMIT 1", (prefix, f"{size};", self.version)).fetchone()
        return row is not None

    def lookup_content(self, keys: Iterable[str]) -> dict[str, bytes]:
        """Blobs by content key (a renamed, moved or copied file)."""
        keys = list(dict.fromkeys(keys))
        out: dict[str, bytes] = {}
        for start in range(0, len(keys), _CHUNK):
            part = keys[start:start + _CHUNK]
            marks = ",".join("?" * len(part))
            for key, blob in self._db.execute(
                    f"SELECT content_key, blob FROM fingerprints "
                    f"WHERE version = ? AND reason IS NULL AND content_key IN ({marks})",
                    (self.version, *part)):
                out[key] = blob
        return out

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM fingerprints WHERE version = ? AND reason IS NULL",
                                    (self.version,)).fetchone()[0])

    # -- writing --------------------------------------------------------------------------
    def store(self, rows: Iterable[tuple[FileEntry, str, bytes]]) -> None:
        """Insert or replace ``(entry, content_key, blob)`` rows in ONE transaction."""
        self._store([(e.path, e.size, e.mtime_ns, key, self.version, sqlite3.Binary(blob),
                      None, "") for e, key, blob in rows])

    def store_unreadable(self, rows: Iterable[tuple[FileEntry, str]]) -> None:
        """Remember ``(entry, reason)`` for files whose content cannot be fingerprinted, so a
        rescan does not start a process pool for junk. Only call it for reasons that depend
        on the content (not on permissions); the row is valid for the current decoders."""
        self._store([(e.path, e.size, e.mtime_ns, "", self.version, b"", reason, self.env)
                     for e, reason in rows])

    def _store(self, data: list[tuple]) -> None:
        if not data:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT OR REPLACE INTO fingerprints (path, size, mtime_ns, content_key, "
                "version, blob, reason, env) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", data)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def prune_missing(self) -> int:
        """Forget rows of other versions and of files that no longer exist; returns count."""
        gone = [(p,) for (p,) in self._db.execute("SELECT path FROM fingerprints")
                if not os.path.exists(p)]
        self._db.execute("BEGIN IMMEDIATE")
        self._db.executemany("DELETE FROM fingerprints WHERE path = ?", gone)
        cur = self._db.execute("DELETE FROM fingerprints WHERE version != ?", (self.version,))
        self._db.execute("COMMIT")
        return len(gone) + max(0, cur.rowcount)

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: "ok" for a sound file."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])
