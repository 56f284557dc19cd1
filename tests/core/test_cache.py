"""The fingerprint cache on real SQLite files: keys, versions, content index, concurrency,
and a writer SIGKILLed mid-transaction."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from dedupe_gui.core.cache import CacheError, FingerprintCache
from dedupe_gui.core.files import FileEntry


def entry(i: int, size: int = 1000, mtime: int = 5) -> FileEntry:
    return FileEntry(f"/photos/{i}.jpg", size, mtime)


def test_store_and_lookup_by_path_size_and_mtime(tmp_path):
    path = tmp_path / "c.sqlite"
    with FingerprintCache(path, version=3) as c:
        c.store([(entry(1), "1000:aa", b"blob1"), (entry(2), "1000:bb", b"blob2")])
        assert len(c) == 2
        got = c.lookup([entry(2), entry(1), entry(3), entry(1, mtime=6), entry(2, size=1001)])
        assert got == [("1000:bb", b"blob2", None), ("1000:aa", b"blob1", None), None, None,
                       None]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_version_change_invalidates_rows(tmp_path):
    path = tmp_path / "c.sqlite"
    with FingerprintCache(path, version=1) as c:
        c.store([(entry(1), "1000:aa", b"old")])
    with FingerprintCache(path, version=2) as c:
        assert c.lookup([entry(1)]) == [None]
        assert c.lookup_content(["1000:aa"]) == {}
        assert not c.has_size(1000)
        c.store([(entry(1), "1000:aa", b"new")])
        assert c.lookup([entry(1)]) == [("1000:aa", b"new", None)]


def test_content_index_finds_a_renamed_file(tmp_path):
    with FingerprintCache(tmp_path / "c.sqlite", version=1) as c:
        c.store([(entry(1, size=123456), "123456:abc", b"fp")])
        assert c.has_size(123456) and not c.has_size(12345) and not c.has_size(1234567)
        assert c.lookup_content(["123456:abc", "123456:zzz"]) == {"123456:abc": b"fp"}


def test_unreadable_rows_depend_on_installed_decoders(tmp_path):
    path = tmp_path / "c.sqlite"
    with FingerprintCache(path, version=1, env="") as c:
        c.store_unreadable([(entry(1), "HEIC support not installed")])
        assert c.lookup([entry(1)]) == [("", b"", "HEIC support not installed")]
        assert len(c) == 0  # not a fingerprint
    with FingerprintCache(path, version=1, env="pillow_heif") as c:
        assert c.lookup([entry(1)]) == [None]  # try again with the new decoder


def test_many_rows_in_one_lookup(tmp_path):
    with FingerprintCache(tmp_path / "c.sqlite", version=1) as c:
        c.store((entry(i), f"1000:{i}", bytes([i % 256])) for i in range(2000))
        got = c.lookup([entry(i) for i in range(2100)])
        assert [g[2] is None and g[1] == bytes([i % 256]) for i, g in enumerate(got[:2000])] \
            == [True] * 2000
        assert got[2000:] == [None] * 100


def test_not_a_database_is_a_clear_error_and_is_left_alone(tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("my precious notes " * 100)
    with pytest.raises(CacheError, match="notes.txt"):
        FingerprintCache(bogus, version=1)
    assert bogus.read_text() == "my precious notes " * 100


def test_two_processes_share_the_file(tmp_path):
    path = tmp_path / "c.sqlite"
    with FingerprintCache(path, version=1) as mine:
        mine.store([(entry(1), "1000:a", b"a")])
        reader = sqlite3.connect(path)
        reader.execute("BEGIN")
        assert reader.execute("SELECT COUNT(*) FROM fingerprints").fetchone()[0] == 1
        code = textwrap.dedent(f"""
            from dedupe_gui.core.cache import FingerprintCache
            from dedupe_gui.core.files import FileEntry
            with FingerprintCache({str(path)!r}, version=1) as c:
                c.store([(FileEntry("/photos/2.jpg", 1000, 5), "1000:b", b"b")])
                print(len(c))
        """)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "2"
        # WAL: the open read transaction still sees its snapshot; a new one sees the write
        assert reader.execute("SELECT COUNT(*) FROM fingerprints").fetchone()[0] == 1
        reader.execute("COMMIT")
        assert mine.lookup([entry(2)]) == [("1000:b", b"b", None)]
        reader.close()


def test_sigkill_during_writes_leaves_a_sound_cache(tmp_path):
    """A writer killed in the middle of its transactions: every committed batch is there, the
    interrupted one is not, and the file passes PRAGMA integrity_check."""
    path = tmp_path / "c.sqlite"
    code = textwrap.dedent(f"""
        import sys
        from dedupe_gui.core.cache import FingerprintCache
        from dedupe_gui.core.files import FileEntry
        c = FingerprintCache({str(path)!r}, version=1)
        batch = 0
        while True:
            c.store((FileEntry(f"/p/{{batch}}/{{i}}.jpg", 1000, 5), f"1000:{{batch}}-{{i}}",
                     bytes(2000)) for i in range(200))
            batch += 1
            if batch == 5:
                print("ready", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with FingerprintCache(path, version=1) as c:
        assert c.integrity_check() == "ok"
        n = len(c)
        assert n >= 1000 and n % 200 == 0  # whole batches only
        c.store([(entry(1), "1000:x", b"x")])  # and it is writable again
        assert len(c) == n + 1
