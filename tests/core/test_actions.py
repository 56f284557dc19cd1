"""core/actions: real files, a private freedesktop trash, a real SQLite journal."""
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from dedupe_gui.core import trash as trash_mod
from dedupe_gui.core.actions import ActionRefused, Actions, free_name
from dedupe_gui.core.journal import Journal
from dedupe_gui.core.results import FileRecord


@pytest.fixture
def env(tmp_path, private_home):
    """Private HOME + XDG trash on tmp_path's filesystem, a photo tree, a journal path."""
    home = private_home
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    for i, rel in enumerate(["a.jpg", "b.jpg", "sub/c.jpg", "sub/a.jpg"]):
        (photos / rel).write_bytes(os.urandom(2000 + 37 * i))

    class E:
        root = tmp_path
        trash = home / ".local" / "share" / "Trash"
        journal = tmp_path / "state" / "journal.db"

    E.photos = photos
    return E


def rec(path) -> FileRecord:
    st = os.stat(path)
    return FileRecord(str(path), st.st_size, st.st_mtime_ns, 10, 10, "k:" + str(path))


def trash_files(env) -> list[str]:
    d = env.trash / "files"
    return sorted(os.listdir(d)) if d.exists() else []


def trash_infos(env) -> list[str]:
    d = env.trash / "info"
    return sorted(os.listdir(d)) if d.exists() else []


needs_restore = pytest.mark.skipif(not Actions.can_restore_trash, reason="freedesktop trash only")


@needs_restore
def test_trash_undo_redo_restores_bytes_and_trashinfo(env):
    f = env.photos / "a.jpg"
    data = f.read_bytes()
    mtime = f.stat().st_mtime_ns
    with Actions(env.journal) as act:
        act.trash(rec(f))
        assert not f.exists()
        assert trash_files(env) == ["a.jpg"] and trash_infos(env) == ["a.jpg.trashinfo"]
        assert act.can_undo and not act.can_redo and act.undo_label == "Trash a.jpg"
        assert act.undo() == "Undid Trash a.jpg"
        assert f.read_bytes() == data and f.stat().st_mtime_ns == mtime
        assert trash_files(env) == [] and trash_infos(env) == []  # .trashinfo removed too
        assert not act.can_undo and act.can_redo
        assert act.redo() == "Redid Trash a.jpg"
        assert not f.exists() and trash_files(env) == ["a.jpg"]
        assert act.undo() and f.read_bytes() == data
        assert act.history()[0].op == "restore"  # newest first


def test_changed_since_scan_is_refused(env):
    f = env.photos / "a.jpg"
    r = rec(f)
    with Actions(env.journal) as act:
        os.utime(f, ns=(r.mtime_ns, r.mtime_ns + 1_000_000_000))  # only the mtime changed
        with pytest.raises(ActionRefused, match="changed since it was scanned"):
            act.trash(r)
        with open(f, "ab") as fh:
            fh.write(b"x")
        os.utime(f, ns=(r.mtime_ns, r.mtime_ns))  # only the size changed
        with pytest.raises(ActionRefused, match="changed since it was scanned"):
            act.move(r, env.root / "out")
        assert f.exists() and not (env.root / "out").exists()
        assert not act.can_undo
        with pytest.raises(ActionRefused, match="no longer exists"):
            act.trash(FileRecord(str(env.photos / "gone.jpg"), 1, 1, 1, 1))


def test_reference_folder_is_read_only(env):
    ref = env.photos / "sub"
    c = env.photos / "sub" / "c.jpg"
    with Actions(env.journal, reference_dirs=[ref], permanent_delete=True) as act:
        for call in (lambda: act.trash(rec(c)), lambda: act.delete_permanently(rec(c)),
                     lambda: act.move(rec(c), env.root / "out")):
            with pytest.raises(ActionRefused, match="reference folder"):
                call()
        with pytest.raises(ActionRefused, match="reference folder"):  # nothing moves into it
            act.move(rec(env.photos / "a.jpg"), ref / "new")
        assert c.exists() and (env.photos / "a.jpg").exists() and not (ref / "new").exists()
        act.reference_dirs = []  # settable
        act.move(rec(c), env.root / "out")
        assert (env.root / "out" / "c.jpg").exists()


def test_symlink_refused(env):
    link = env.photos / "link.jpg"
    link.symlink_to(env.photos / "a.jpg")
    st = os.stat(link)
    with Actions(env.journal) as act, pytest.raises(ActionRefused, match="symbolic link"):
        act.trash(FileRecord(str(link), st.st_size, st.st_mtime_ns, 1, 1))
    assert link.is_symlink()


def test_move_never_overwrites_and_undo_restores(env):
    out = env.root / "out"
    out.mkdir()
    (out / "a.jpg").write_bytes(b"someone else's file")
    (out / "a (1).jpg").write_bytes(b"another one")
    a, a2 = env.photos / "a.jpg", env.photos / "sub" / "a.jpg"
    da, da2 = a.read_bytes(), a2.read_bytes()
    with Actions(env.journal) as act:
        p1 = act.move(rec(a), out)
        p2 = act.move(rec(a2), out)
        assert p1 == out / "a (2).jpg" and p2 == out / "a (3).jpg"
        assert p1.read_bytes() == da and p2.read_bytes() == da2
        assert (out / "a.jpg").read_bytes() == b"someone else's file"
        assert (out / "a (1).jpg").read_bytes() == b"another one"
        assert act.undo() and act.undo()
        assert a.read_bytes() == da and a2.read_bytes() == da2
        assert sorted(os.listdir(out)) == ["a (1).jpg", "a.jpg"]
    assert free_name(out / "a.jpg") == out / "a (2).jpg"


def test_move_keeps_relative_path_and_undo_removes_created_folders(env):
    c = env.photos / "sub" / "c.jpg"
    data = c.read_bytes()
    with Actions(env.journal) as act:
        p = act.move(rec(c), env.root / "archive" / "2024", keep_relative_to=env.photos)
        assert p == env.root / "archive" / "2024" / "sub" / "c.jpg" and p.read_bytes() == data
        with pytest.raises(ActionRefused, match="not inside"):
            act.move(rec(env.photos / "a.jpg"), env.root / "x", keep_relative_to=env.root / "elsewhere")
        act.undo()
        assert c.read_bytes() == data
        assert not (env.root / "archive").exists()  # the folders the move made are gone again
        act.redo()
        assert p.read_bytes() == data and not c.exists()


def test_keep_guard_never_removes_the_last_copy(env):
    a, b = env.photos / "a.jpg", env.photos / "b.jpg"
    ra, rb = rec(a), rec(b)
    with Actions(env.journal) as act:
        act.trash(rb, keep=ra)  # keep a, trash b
        with pytest.raises(ActionRefused, match="is gone"):
            act.trash(ra, keep=rb)  # b is gone: a is now the last copy
        with pytest.raises(ActionRefused, match="copy you chose to keep"):
            act.trash(ra, keep=ra)
        assert a.exists()


def test_permanent_delete_only_when_enabled(env):
    a = env.photos / "a.jpg"
    with Actions(env.journal) as act:
        with pytest.raises(ActionRefused, match="switched off"):
            act.delete_permanently(rec(a))
        assert a.exists()
        act.permanent_delete = True
        act.delete_permanently(rec(a))
        assert not a.exists() and trash_files(env) == []
        assert not act.can_undo  # nothing to undo: it was permanent
        assert act.history()[0].op == "delete" and act.history()[0].state == "done"


@needs_restore
def test_batch_is_one_undo_step(env):
    files = [env.photos / n for n in ("a.jpg", "b.jpg", "sub/c.jpg")]
    data = [f.read_bytes() for f in files]
    with Actions(env.journal) as act:
        with act.batch("Apply rules"):
            act.trash(rec(files[0]))
            act.trash(rec(files[1]))
            with pytest.raises(ActionRefused):
                act.trash(FileRecord(str(env.photos / "missing.jpg"), 1, 1, 1, 1))  # refusals do not end the batch
            act.move(rec(files[2]), env.root / "out")
        assert act.undo_label == "Apply rules"
        assert not any(f.exists() for f in files)
        assert act.undo() == "Undid Apply rules"
        assert [f.read_bytes() for f in files] == data
        assert not act.can_undo and act.redo_label == "Apply rules"
        act.redo()
        assert not any(f.exists() for f in files)
        act.undo()
        assert [f.read_bytes() for f in files] == data


@needs_restore
def test_undo_history_survives_restart(env):
    a, c = env.photos / "a.jpg", env.photos / "sub" / "c.jpg"
    da, dc = a.read_bytes(), c.read_bytes()
    with Actions(env.journal) as act:
        act.trash(rec(a))
        act.move(rec(c), env.root / "out")
    with Actions(env.journal) as act:  # a new session
        assert act.recovered == []
        assert act.undo_label == f"Move c.jpg to {env.root / 'out'}"
        act.undo()
        act.undo()
        assert a.read_bytes() == da and c.read_bytes() == dc
    with Actions(env.journal) as act:
        assert act.can_redo and not act.can_undo
        act.redo()
        assert not a.exists()


@needs_restore
def test_new_action_clears_redo_and_undo_refuses_when_path_is_taken(env):
    a, b = env.photos / "a.jpg", env.photos / "b.jpg"
    with Actions(env.journal) as act:
        act.trash(rec(a))
        act.undo()
        act.trash(rec(b))
        assert not act.can_redo  # the new action discarded the redo step
        a.rename(env.root / "aside.jpg")
        (env.photos / "b.jpg").write_bytes(b"a new file took the name")
        with pytest.raises(ActionRefused, match="exists again"):
            act.undo()
        assert (env.photos / "b.jpg").read_bytes() == b"a new file took the name"
        assert trash_files(env) == ["b.jpg"]  # still in the trash, undo still possible
        (env.photos / "b.jpg").unlink()
        assert act.undo() and (env.photos / "b.jpg").exists()


# --- crash repair: a 'pending' entry with half the effect done by hand, then reopen ----------

def pending(env, op, src, **kw):
    j = Journal(env.journal)
    step = j.new_step(f"{op} {Path(src).name}")
    st = os.stat(src) if os.path.lexists(src) else None
    kw.setdefault("size", st.st_size if st else None)
    kw.setdefault("mtime_ns", st.st_mtime_ns if st else None)
    e = j.add(step, op, str(src), **kw)
    j.close()
    return e


def entry_state(env, entry_id):
    j = Journal(env.journal)
    try:
        return j.get(entry_id).state
    finally:
        j.close()


def test_crash_before_move_rolls_back(env):
    a = env.photos / "a.jpg"
    dst = env.root / "out" / "a.jpg"
    dst.parent.mkdir()
    e = pending(env, "move", a, dst=str(dst), temp=str(dst.parent / ".a.jpg.x.dedupe-part"))
    with Actions(env.journal) as act:
        assert any("Rolled back" in m for m in act.recovered)
        assert a.exists() and not dst.exists()
        assert not act.can_undo
    assert entry_state(env, e.id) == "rolled_back"


def test_crash_after_link_before_unlink_finishes_the_move(env):
    a = env.photos / "a.jpg"
    data = a.read_bytes()
    dst = env.root / "out" / "a.jpg"
    dst.parent.mkdir()
    e = pending(env, "move", a, dst=str(dst), temp=str(dst.parent / ".t.dedupe-part"))
    os.link(a, dst)  # half of the move: the new name exists, the old one too
    with Actions(env.journal) as act:
        assert any("Finished" in m for m in act.recovered)
        assert not a.exists() and dst.read_bytes() == data
        assert act.can_undo  # the repaired move is undoable
        act.undo()
        assert a.read_bytes() == data and not dst.exists()
    assert entry_state(env, e.id) == "reverted"


def test_crash_mid_cross_device_copy_rolls_back_and_keeps_source(env):
    a = env.photos / "b.jpg"
    data = a.read_bytes()
    dst = env.root / "out" / "b.jpg"
    dst.parent.mkdir()
    temp = dst.parent / ".b.jpg.abcd.dedupe-part"
    e = pending(env, "move", a, dst=str(dst), temp=str(temp))
    temp.write_bytes(data[:700])  # a partial copy under the temporary name
    with Actions(env.journal) as act:
        assert act.recovered
        assert a.read_bytes() == data and not temp.exists() and not dst.exists()
    assert entry_state(env, e.id) == "rolled_back"


def test_crash_after_cross_device_copy_finishes(env):
    a = env.photos / "b.jpg"
    data = a.read_bytes()
    dst = env.root / "out" / "b.jpg"
    dst.parent.mkdir()
    e = pending(env, "move", a, dst=str(dst), temp=str(dst.parent / ".b.dedupe-part"))
    shutil.copy2(a, dst)  # complete copy renamed into place; the source not yet removed
    with Actions(env.journal) as act:
        assert not a.exists() and dst.read_bytes() == data
        assert act.undo_label
    assert entry_state(env, e.id) == "done"


@needs_restore
def test_crash_after_trash_marks_it_done_and_undoable(env):
    a = env.photos / "a.jpg"
    data = a.read_bytes()
    e = pending(env, "trash", a)
    trash_mod.send_to_trash(str(a))  # the trash happened; the 'done' write did not
    with Actions(env.journal) as act:
        assert any("Finished" in m for m in act.recovered)
        act.undo()
        assert a.read_bytes() == data and trash_files(env) == [] and trash_infos(env) == []
    assert entry_state(env, e.id) == "reverted"


@needs_restore
def test_crash_inside_send2trash_leaves_no_orphans(env):
    a = env.photos / "a.jpg"
    data = a.read_bytes()
    e = pending(env, "trash", a)
    info = env.trash / "info"
    info.mkdir(parents=True)
    (env.trash / "files").mkdir()
    # send2trash writes the .trashinfo first; a cross-device trash then copies: both half-done
    (info / "a.jpg.trashinfo").write_text(trash_mod_info(a))
    (env.trash / "files" / "a.jpg").write_bytes(data[:100])
    with Actions(env.journal) as act:
        assert any("Rolled back" in m for m in act.recovered)
        assert a.read_bytes() == data
        assert trash_files(env) == [] and trash_infos(env) == []
        assert not act.can_undo
    assert entry_state(env, e.id) == "rolled_back"


def trash_mod_info(path) -> str:
    from datetime import datetime
    from urllib.parse import quote
    return (f"[Trash Info]\nPath={quote(os.fsencode(str(path)))}\n"
            f"DeletionDate={datetime.now().strftime('%Y-%m-%dT%H:%M:%S')}\n")


@needs_restore
def test_crash_during_undo_of_trash_is_finished(env):
    a = env.photos / "a.jpg"
    data = a.read_bytes()
    with Actions(env.journal) as act:
        act.trash(rec(a))
    j = Journal(env.journal)
    t = j.history()[0]
    parent = j.get(t.entry_id)
    u = j.add(parent.step_id, "restore", parent.dst, parent=parent.id, dst=parent.src,
              temp=str(a.with_name(".a.part")), size=parent.size, mtime_ns=parent.mtime_ns,
              trash_dir=parent.trash_dir, trash_name=parent.trash_name)
    j.close()
    os.rename(parent.dst, a)  # the file is back; its .trashinfo not yet removed
    with Actions(env.journal) as act:
        assert a.read_bytes() == data and trash_infos(env) == []
        assert not act.can_undo and act.redo_label == "Trash a.jpg"  # the undo completed
        act.redo()
        assert not a.exists()
    assert entry_state(env, u.id) == "done" and entry_state(env, parent.id) == "redone"


def test_crash_before_permanent_delete_and_open_batch(env):
    a, b = env.photos / "a.jpg", env.photos / "b.jpg"
    e1 = pending(env, "delete", a)
    e2 = pending(env, "delete", b)
    b.unlink()
    with Actions(env.journal) as act:
        assert len(act.recovered) == 2 and a.exists()
        assert not act.can_undo
        assert {h.step_state for h in act.history()} <= {"final", "empty"}  # no batch left open
    assert entry_state(env, e1.id) == "rolled_back" and entry_state(env, e2.id) == "done"


def test_real_cross_device_move_and_undo(env):
    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == env.root.stat().st_dev:
        pytest.skip("needs /dev/shm on a filesystem other than the tmp dir")
    other = Path(tempfile.mkdtemp(dir="/dev/shm"))
    try:
        a = env.photos / "a.jpg"
        data, mtime = a.read_bytes(), a.stat().st_mtime_ns
        with Actions(env.journal) as act:
            p = act.move(rec(a), other / "dest")
            assert p.read_bytes() == data and p.stat().st_mtime_ns == mtime and not a.exists()
            assert [n for n in os.listdir(p.parent) if n.endswith(".dedupe-part")] == []
            act.undo()
            assert a.read_bytes() == data and a.stat().st_mtime_ns == mtime
            assert not (other / "dest").exists()
    finally:
        shutil.rmtree(other, ignore_errors=True)


def test_second_instance_does_not_repair_live_work(env):
    a = env.photos / "a.jpg"
    with Actions(env.journal):
        e = pending(env, "delete", a)
        with Actions(env.journal) as second:
            assert "Another dedupe-gui instance" in second.recovered[0]
        assert entry_state(env, e.id) == "pending"
    with Actions(env.journal) as act:
        assert act.recovered and entry_state(env, e.id) == "rolled_back"


@needs_restore
def test_bulk_batch_in_a_worker_thread_does_not_block_readers(env):
    """The GUI reads can_undo/history and may act while a bulk apply runs in a thread."""
    import threading

    a, b = env.photos / "a.jpg", env.photos / "b.jpg"
    inside, release, errors = threading.Event(), threading.Event(), []
    with Actions(env.journal) as act:
        def bulk():
            try:
                with act.batch("Bulk"):
                    act.trash(rec(a))
                    inside.set()
                    assert release.wait(10)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        t = threading.Thread(target=bulk)
        t.start()
        assert inside.wait(10)
        assert act.history()[0].op == "trash"  # returns while the batch is open
        assert act.can_undo is False  # the open batch is not on the undo stack yet
        with pytest.raises(ActionRefused, match="bulk action is running"):
            act.undo()
        act.trash(rec(b))  # another thread's action: its own step
        assert act.undo_label == "Trash b.jpg"
        release.set()
        t.join(10)
        assert not errors
        assert act.undo() == "Undid Trash b.jpg" and act.undo() == "Undid Bulk"
        assert a.exists() and b.exists()


def test_keep_through_a_symlinked_folder_is_the_same_file(env):
    alias = env.root / "alias"
    alias.symlink_to(env.photos, target_is_directory=True)
    a = env.photos / "a.jpg"
    with Actions(env.journal) as act, pytest.raises(ActionRefused, match="same file"):
        act.trash(rec(a), keep=rec(alias / "a.jpg"))
    assert a.exists()


@needs_restore
def test_undo_of_a_batch_with_permanent_deletes_says_what_cannot_come_back(env):
    a, b = env.photos / "a.jpg", env.photos / "b.jpg"
    with Actions(env.journal, permanent_delete=True) as act:
        with act.batch("Mixed"):
            act.trash(rec(a))
            act.delete_permanently(rec(b))
        msg = act.undo()
        assert msg == "Undid Mixed (1 permanently deleted file cannot be restored)"
        assert a.exists() and not b.exists()
        assert not act.can_undo and act.redo() == "Redid Mixed" and not a.exists()


def test_where_trash_cannot_be_restored_a_trash_is_final(env):
    """macOS/Windows behaviour (can_restore_trash False): trashed, journalled, not undoable."""
    a, b = env.photos / "a.jpg", env.photos / "b.jpg"
    with Actions(env.journal) as act:
        act.can_restore_trash = False
        act.trash(rec(a))
        assert not a.exists() and not act.can_undo and act.undo() is None
        assert act.history()[0].state == "done"
        act.move(rec(b), env.root / "out")
        with act.batch("Both"):
            act.move(rec(env.root / "out" / "b.jpg"), env.root / "out2")
            act.trash(rec(env.photos / "sub" / "c.jpg"))
        assert act.undo() == "Undid Both (1 trashed file: restore from the system trash)"
        assert (env.root / "out" / "b.jpg").exists()


def test_destination_problems_are_refused_with_a_reason(env):
    (env.root / "afile").write_bytes(b"not a folder")
    a = env.photos / "a.jpg"
    with Actions(env.journal) as act:
        with pytest.raises(ActionRefused, match="is a file, not a folder"):
            act.move(rec(a), env.root / "afile" / "sub")
        with pytest.raises(ActionRefused, match="already in"):
            act.move(rec(a), env.photos)
        assert a.exists() and not act.can_undo


@needs_restore
def test_trash_on_another_volume_is_restored_from_its_volume_trash(env):
    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == env.root.stat().st_dev:
        pytest.skip("needs /dev/shm on a filesystem other than the tmp dir")
    other = Path(tempfile.mkdtemp(dir="/dev/shm"))
    try:
        a = env.photos / "a.jpg"
        data = a.read_bytes()
        with Actions(env.journal) as act:
            moved = act.move(rec(a), other)
            act.trash(rec(moved))
            entry = act.history()[0]
            assert entry.op == "trash" and entry.dst.startswith(f"/dev/shm/.Trash-{os.getuid()}/files/")
            assert not moved.exists() and Path(entry.dst).read_bytes() == data
            act.undo()
            assert moved.read_bytes() == data and not os.path.exists(entry.dst)
            act.undo()
            assert a.read_bytes() == data
    finally:
        shutil.rmtree(other, ignore_errors=True)
