"""The folder walk on real trees: links, loops, hidden files, excludes, unreadable folders."""
from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import pytest

from dedupe_gui.core.files import content_key, is_picture, walk


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def listed(result) -> list[str]:
    return sorted(f.path for f in result.files)


def run_as_nobody(fn, *args):
    """Run ``fn(*args)`` in a forked child with the rights of 'nobody' when we are root (root
    reads through chmod 000, so the unprivileged behaviour must be checked as another user);
    in-process otherwise. Returns fn's (picklable) result."""
    if os.geteuid() != 0:
        return fn(*args)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            data = pickle.dumps(("ok", fn(*args)))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            data = pickle.dumps(("error", repr(exc)))
        with os.fdopen(w, "wb") as f:
            f.write(data)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        status, value = pickle.loads(f.read())
    os.waitpid(pid, 0)
    assert status == "ok", value
    return value


@pytest.fixture
def shared_tmp():
    """A temporary folder another user may enter (pytest's tmp_path is private to us)."""
    d = tempfile.mkdtemp(prefix="dedupe-walk-")
    os.chmod(d, 0o755)
    yield Path(d)
    for root, dirs, _files in os.walk(d):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
    import shutil

    shutil.rmtree(d)


def test_picture_extensions_case_insensitive_and_others_ignored(tmp_path):
    for name in ("a.jpg", "b.JPEG", "c.Png", "d.webp", "e.TIFF", "f.heic", "g.CR2", "h.nef",
                 "i.dng", "notes.txt", "movie.mp4", "noext", "archive.jpg.zip"):
        touch(tmp_path / name)
    got = [Path(p).name for p in listed(walk([tmp_path]))]
    assert got == ["a.jpg", "b.JPEG", "c.Png", "d.webp", "e.TIFF", "f.heic", "g.CR2", "h.nef",
                   "i.dng"]
    assert is_picture("X.ArW") and not is_picture("x.jpg.txt")


def test_entries_carry_size_and_mtime(tmp_path):
    f = touch(tmp_path / "a.jpg", b"12345")
    os.utime(f, ns=(1_000_000_123, 1_700_000_000_123_456_789))
    (entry,) = walk([tmp_path]).files
    assert entry.path == str(f) and os.path.isabs(entry.path)
    assert entry.size == 5 and entry.mtime_ns == 1_700_000_000_123_456_789


def test_hidden_files_and_folders_skipped_unless_asked(tmp_path):
    touch(tmp_path / "seen.jpg")
    touch(tmp_path / ".hidden.jpg")
    touch(tmp_path / ".thumbnails" / "t.jpg")
    assert [Path(p).name for p in listed(walk([tmp_path]))] == ["seen.jpg"]
    assert len(walk([tmp_path], include_hidden=True).files) == 3
    # a hidden root named explicitly is walked
    assert len(walk([tmp_path / ".thumbnails"]).files) == 1


def test_excludes_match_names_and_paths_and_prune_folders(tmp_path):
    touch(tmp_path / "keep" / "a.jpg")
    touch(tmp_path / "keep" / "a.tmp.jpg")
    touch(tmp_path / "@eaDir" / "b.jpg")
    touch(tmp_path / "export" / "small" / "c.jpg")
    got = listed(walk([tmp_path], excludes=["@eaDir", "*.tmp.jpg", "*/export/small"]))
    assert got == [str(tmp_path / "keep" / "a.jpg")]


def test_symlink_loop_ends_and_is_reported(tmp_path):
    touch(tmp_path / "a" / "x.jpg")
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a", target_is_directory=True)
    (tmp_path / "a" / "up").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "self.jpg").symlink_to(tmp_path / "self.jpg")  # a file link to itself
    r = walk([tmp_path])
    assert listed(r) == [str(tmp_path / "a" / "x.jpg")]
    reasons = dict(r.skipped)
    assert "symlink loop" in reasons[str(tmp_path / "a" / "loop")]
    assert "symlink loop" in reasons[str(tmp_path / "a" / "up")]
    assert "symlink" in reasons[str(tmp_path / "self.jpg")]


def test_a_file_reachable_twice_is_listed_once_by_its_real_path(tmp_path):
    real = touch(tmp_path / "photos" / "p.jpg")
    (tmp_path / "a link.jpg").symlink_to(real)  # sorts before 'photos'
    os.link(real, tmp_path / "photos" / "q hardlink.jpg")
    (tmp_path / "alias").symlink_to(tmp_path / "photos", target_is_directory=True)
    touch(tmp_path / "photos" / "other.jpg")
    r = walk([tmp_path, tmp_path / "photos", real])  # roots overlapping too
    names = sorted(Path(p).name for p in listed(r))
    assert names == ["other.jpg", "p.jpg"]
    assert str(real) in listed(r)
    assert r.skipped == []


def test_broken_picture_symlink_and_missing_root_are_reported(tmp_path):
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    r = walk([tmp_path, tmp_path / "missing"])
    reasons = dict(r.skipped)
    assert r.files == []
    assert "broken" in reasons[str(tmp_path / "gone.jpg")]
    assert "No such file" in reasons[str(tmp_path / "missing")]


def test_single_file_root_is_taken_whatever_its_extension(tmp_path):
    f = touch(tmp_path / "scan.dat")
    assert listed(walk([f])) == [str(f)]


def _walk_paths(root: str):
    r = walk([root])
    return sorted(f.path for f in r.files), r.skipped


def test_unreadable_folder_is_reported_and_the_rest_is_walked(shared_tmp):
    touch(shared_tmp / "ok" / "a.jpg")
    touch(shared_tmp / "locked" / "b.jpg")
    for d in (shared_tmp / "ok", shared_tmp / "locked"):
        os.chmod(d, 0o755)
    os.chmod(shared_tmp / "ok" / "a.jpg", 0o644)
    os.chmod(shared_tmp / "locked", 0o000)
    # Checked as an unprivileged user (a child process as 'nobody' when the tests run as root).
    files, skipped = run_as_nobody(_walk_paths, str(shared_tmp))
    assert files == [str(shared_tmp / "ok" / "a.jpg")]
    assert skipped == [(str(shared_tmp / "locked"), "cannot read folder: Permission denied")]


def test_content_key_survives_rename_and_sees_changes(tmp_path):
    data = os.urandom(300_000)
    a = touch(tmp_path / "a.jpg", data)
    key = content_key(a, len(data))
    moved = tmp_path / "sub" / "renamed.jpg"
    moved.parent.mkdir()
    a.rename(moved)
    assert content_key(moved) == key
    assert key.startswith("300000:")
    touch(tmp_path / "b.jpg", data[:-1] + bytes([data[-1] ^ 1]))  # last byte differs
    touch(tmp_path / "c.jpg", bytes([data[0] ^ 1]) + data[1:])  # first byte differs
    assert content_key(tmp_path / "b.jpg") != key
    assert content_key(tmp_path / "c.jpg") != key
    small = touch(tmp_path / "s.jpg", b"abc")
    assert content_key(small) == content_key(small, 3) != content_key(touch(tmp_path / "t.jpg",
                                                                            b"abd"))
    with pytest.raises(OSError):
        content_key(tmp_path / "missing.jpg")
