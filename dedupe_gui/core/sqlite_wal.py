"""Opening the app's SQLite files (fingerprint cache, action journal, decisions) one way.

All three are written by one thread at a time and read while other work runs, and must
survive a killed process: WAL mode gives readers that never block the writer and atomic
commits; ``synchronous=NORMAL`` in WAL loses nothing on an application crash (only the last
commits on a power cut) and saves an fsync per transaction.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path


def open_wal(path: str | Path, timeout: float = 30.0) -> sqlite3.Connection:
    """A connection in autocommit mode (callers issue BEGIN/COMMIT), usable from any thread
    (callers serialise access), waiting up to ``timeout`` s for another process's lock.

    Raises ``sqlite3.DatabaseError`` when the file is not a database or cannot use WAL.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), timeout=timeout, isolation_level=None,
                         check_same_thread=False)
    try:
        db.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.DatabaseError(f"cannot switch to WAL mode (got {mode})")
        db.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        db.close()
        raise
    return db
