"""Keep / move / trash / delete, journalled, undoable: the ONLY code that changes user files.

Safety rules, each enforced here rather than trusted to callers:
- a file that changed since the scan (size or mtime_ns), vanished, is a symlink or is not a
  regular file is refused (``ActionRefused``, whose text is shown to the user);
- files in reference folders are never trashed, deleted or moved, and nothing is moved into
  a reference folder;
- ``keep=`` (the copy the user keeps) must still exist unchanged, so a decision made on an
  old pair can never remove the last copy;
- a move never overwrites: it takes a free name (``name (1).jpg``); across filesystems it
  copies to a hidden temporary name, renames it into place, and only then removes the source;
- every operation is written to the journal ('pending') before it runs and marked 'done'
  after; on open, pending entries are settled (finished or rolled back, never losing a byte);
- default delete is the system trash (send2trash); permanent delete only when enabled.
"""
from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from dedupe_gui.core import trash as _trash
from dedupe_gui.core.journal import Entry, HistoryItem, Journal
from dedupe_gui.core.results import FileRecord
from dedupe_gui.core.transfer import (
    PlannedPaths,
    create_dirs,
    free_name,
    missing_dirs,
    remove_empty,
    same_bytes,
    samefile,
    temp_for,
    transfer,
)

try:  # one instance at a time settles a journal; a second one must not roll back live work
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class ActionRefused(Exception):
    """An action was not performed; ``str(exc)`` is a user-facing reason. Nothing changed."""


def _name(path: str | os.PathLike) -> str:
    return os.path.basename(os.fspath(path))


def _under(path: Path, folder: Path) -> bool:
    try:
        return os.path.commonpath([path, folder]) == str(folder)
    except ValueError:  # different drives
        return False


class Actions:
    """The journalled file operations and their undo/redo history (persisted in SQLite)."""

    #: True where undoing a trash restores the file (freedesktop trash: Linux, BSD). Where
    #: False (macOS, Windows), trashing cannot be undone from the app: warn before trashing.
    can_restore_trash: bool = _trash.CAN_RESTORE

    def __init__(self, journal_path: Path, reference_dirs: Iterable[Path] = (),
                 permanent_delete: bool = False):
        self.journal = Journal(Path(journal_path))
        self.reference_dirs = [Path(p) for p in reference_dirs]
        self.permanent_delete = permanent_delete
        self._lock = threading.RLock()
        self._batch: int | None = None
        self._batch_owner: int | None = None
        self._depth = 0
        self._lockfile = self._acquire(Path(journal_path))
        self.recovered: list[str] = self.recover()

    # lifecycle --------------------------------------------------------------------------
    @staticmethod
    def _acquire(path: Path):
        if fcntl is None:
            return None
        f = open(path.with_name(path.name + ".lock"), "a+")  # noqa: SIM115 - held open
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            return None
        return f

    def close(self) -> None:
        with self._lock:
            self.journal.close()
            if self._lockfile is not None:
                self._lockfile.close()
                self._lockfile = None

    def __enter__(self) -> Actions:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # checks -------------------------------------------------------------------------------
    def _reference_of(self, path: str | Path) -> Path | None:
        real = Path(os.path.realpath(path))
        for ref in self.reference_dirs:
            if _under(real, Path(os.path.realpath(ref))):
                return ref
        return None

    def _check_source(self, rec: FileRecord, verb: str) -> None:
        name = _name(rec.path)
        ref = self._reference_of(rec.path)
        if ref is not None:
            raise ActionRefused(f"{name} is in the reference folder {ref}; reference files are never {verb}.")
        try:
            st = os.lstat(rec.path)
        except FileNotFoundError:
            raise ActionRefused(f"{name} no longer exists at {rec.path}.") from None
        except OSError as exc:
            raise ActionRefused(f"{name} cannot be read: {exc.strerror or exc}.") from None
        if stat.S_ISLNK(st.st_mode):
            raise ActionRefused(f"{name} is a symbolic link; act on the file it points to.")
        if not stat.S_ISREG(st.st_mode):
            raise ActionRefused(f"{name} is not a regular file.")
        if st.st_size != rec.size or st.st_mtime_ns != rec.mtime_ns:
            raise ActionRefused(f"{name} changed since it was scanned (size or modification time "
                                "differ); rescan before deciding.")

    @staticmethod
    def _check_keep(rec: FileRecord, keep: FileRecord | None) -> None:
        if keep is None:
            return
        if os.path.realpath(keep.path) == os.path.realpath(rec.path):  # also via symlinked folders
            raise ActionRefused(f"{_name(rec.path)} is the copy you chose to keep (the same file).")
        try:
            st = os.stat(keep.path)
        except OSError:
            raise ActionRefused(f"The copy you keep, {keep.path}, is gone: {_name(rec.path)} may be "
                                "the last copy, so it was left alone.") from None
        if st.st_size != keep.size or st.st_mtime_ns != keep.mtime_ns:
            raise ActionRefused(f"The copy you keep, {_name(keep.path)}, changed since the scan; "
                                f"{_name(rec.path)} was left alone. Rescan before deciding.")

    # steps and batches --------------------------------------------------------------------
    @contextmanager
    def batch(self, label: str) -> Iterator[int]:
        """Everything done inside is ONE undo step (a bulk apply). Nested batches join the
        outer one. Actions refused inside a batch do not abort it. Meant for a worker thread:
        no lock is held between actions, so the GUI can still read can_undo, labels and
        history; actions from other threads meanwhile get their own steps."""
        me = threading.get_ident()
        with self._lock:
            if self._batch is not None and self._batch_owner != me:
                raise ActionRefused("Another bulk action is running; try again when it has finished.")
            if self._batch is None:
                self._batch = self.journal.new_step(label)
                self._batch_owner = me
            self._depth += 1
        try:
            yield self._batch
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    step, self._batch, self._batch_owner = self._batch, None, None
                    self._close_step(step)

    @contextmanager
    def _step(self, label: str) -> Iterator[int]:
        if self._batch is not None and self._batch_owner == threading.get_ident():
            yield self._batch
            return
        step = self.journal.new_step(label)
        try:
            yield step
        finally:
            self._close_step(step)

    def _close_step(self, step: int) -> None:
        done = self.journal.entries(step, ("done",))
        if any(self._reversible(e) for e in done):
            state = "active"
        elif done:
            state = "final"
        else:
            state = "empty"
        if done:
            self.journal.discard_redo()  # a new action invalidates what could be redone
        self.journal.set_step(step, state)

    def _reversible(self, e: Entry) -> bool:
        if e.op == "move":
            return True
        return e.op == "trash" and e.trash_name is not None and self.can_restore_trash

    # actions ------------------------------------------------------------------------------
    def trash(self, rec: FileRecord, keep: FileRecord | None = None) -> None:
        """Send ``rec`` to the system trash. ``keep``: the copy the user keeps (checked)."""
        with self._lock:
            self._check_source(rec, "trashed")
            self._check_keep(rec, keep)
            with self._step(f"Trash {_name(rec.path)}") as step:
                e = self.journal.add(step, "trash", os.path.abspath(rec.path), size=rec.size,
                                     mtime_ns=rec.mtime_ns)
                self._do_trash(e)

    def delete_permanently(self, rec: FileRecord, keep: FileRecord | None = None) -> None:
        """Delete for good (cannot be undone); only when permanent delete is enabled."""
        with self._lock:
            if not self.permanent_delete:
                raise ActionRefused("Permanent delete is switched off; files go to the trash.")
            self._check_source(rec, "deleted")
            self._check_keep(rec, keep)
            with self._step(f"Delete {_name(rec.path)} permanently") as step:
                e = self.journal.add(step, "delete", os.path.abspath(rec.path), size=rec.size,
                                     mtime_ns=rec.mtime_ns)
                try:
                    os.unlink(rec.path)
                except OSError as exc:
                    self._settle(e)
                    raise ActionRefused(f"Could not delete {_name(rec.path)}: {exc.strerror or exc}.") from None
                self.journal.update(e.id, state="done")

    def move(self, rec: FileRecord, dest_dir: Path, keep_relative_to: Path | None = None,
             keep: FileRecord | None = None) -> Path:
        """Move ``rec`` into ``dest_dir`` (under its path relative to ``keep_relative_to`` if
        given), creating folders, never overwriting. Returns the new path."""
        with self._lock:
            self._check_source(rec, "moved")
            self._check_keep(rec, keep)
            dest_dir = Path(os.path.abspath(dest_dir))
            if keep_relative_to is not None:
                try:
                    rel = Path(os.path.abspath(rec.path)).relative_to(os.path.abspath(keep_relative_to))
                except ValueError:
                    raise ActionRefused(f"{_name(rec.path)} is not inside {keep_relative_to}.") from None
                target = dest_dir / rel
            else:
                target = dest_dir / _name(rec.path)
            ref = self._reference_of(target.parent if target.parent.exists() else dest_dir)
            if ref is None:
                ref = next((r for r in self.reference_dirs
                            if _under(Path(os.path.abspath(target)), Path(os.path.abspath(r)))), None)
            if ref is not None:
                raise ActionRefused(f"The destination is inside the reference folder {ref}; "
                                    "reference folders are read-only.")
            if os.path.normpath(target) == os.path.normpath(os.path.abspath(rec.path)):
                raise ActionRefused(f"{_name(rec.path)} is already in {dest_dir}.")
            blocker = next((p for p in (target.parent, *target.parent.parents)
                            if os.path.lexists(p) and not p.is_dir()), None)
            if blocker is not None:
                raise ActionRefused(f"Cannot move into {dest_dir}: {blocker} is a file, not a folder.")
            made = missing_dirs(target.parent)  # created once journalled (``_do_move``)
            parent = Path(made[0]).parent if made else target.parent
            if not os.access(parent, os.W_OK):
                raise ActionRefused(f"The folder {parent} is not writable.")
            with self._step(f"Move {_name(rec.path)} to {dest_dir}") as step:
                dst = free_name(target)
                e = self.journal.add(step, "move", os.path.abspath(rec.path), dst=str(dst),
                                     temp=temp_for(dst),
                                     size=rec.size, mtime_ns=rec.mtime_ns, made_dirs=made)
                return Path(self._do_move(e))

    # performing (journal entry already pending) -------------------------------------------
    def _do_trash(self, e: Entry) -> None:
        try:
            _trash.send_to_trash(e.src)
        except Exception as exc:  # noqa: BLE001 - send2trash raises several kinds
            msg = self._settle(e)
            raise ActionRefused(f"Could not move {_name(e.src)} to the trash: {exc}"
                                + (f" ({msg})" if msg else "")) from None
        item = None
        if self.can_restore_trash:
            item = _trash.locate(e.src, datetime.fromtimestamp(e.created), e.size, e.mtime_ns,
                                 exclude=self._in_use)
        self.journal.update(e.id, state="done",
                            dst=str(item.file_path) if item else None,
                            trash_dir=item.trash_dir if item else None,
                            trash_name=item.name if item else None,
                            message=None if item or not self.can_restore_trash
                            else "trashed, but not found in the trash: cannot be undone")

    def _in_use(self, item: _trash.TrashedItem) -> bool:
        return self.journal.trash_item_in_use(item.trash_dir, item.name)

    def _do_move(self, e: Entry) -> str:
        for _ in range(1000):
            try:
                create_dirs(e.made_dirs)  # journalled before they exist: a crash leaves none
                transfer(e.src, e.dst, e.temp)
            except FileExistsError:  # taken since we chose it: choose again
                dst = free_name(Path(e.dst))
                self.journal.update(e.id, dst=str(dst), temp=temp_for(dst))
                e = self.journal.get(e.id)
                continue
            except OSError as exc:
                msg = self._settle(e)
                if self.journal.get(e.id).state == "done":
                    return self.journal.get(e.id).dst
                raise ActionRefused(f"Could not move {_name(e.src)}: {exc.strerror or exc}"
                                    + (f" ({msg})" if msg else "")) from None
            self.journal.update(e.id, state="done")
            return e.dst
        raise ActionRefused(f"Could not find a free name for {_name(e.src)}.")  # pragma: no cover

    def _do_undo_entry(self, step: int, e: Entry) -> None:
        """Reverse one applied entry (trash -> restore, move -> unmove). Pre-checked."""
        dst = Path(e.src)
        made = missing_dirs(dst.parent)  # a restored file's folder may have been removed since
        op = "restore" if e.op == "trash" else "unmove"
        u = self.journal.add(step, op, e.dst, parent=e.id, dst=e.src, temp=temp_for(dst),
                             size=e.size, mtime_ns=e.mtime_ns, trash_dir=e.trash_dir,
                             trash_name=e.trash_name, made_dirs=made, seq=e.seq)
        try:
            create_dirs(made)  # journalled before they exist: a crash leaves none unknown
            transfer(u.src, u.dst, u.temp)
        except FileExistsError:
            self.journal.update(u.id, state="rolled_back", message="original path is taken")
            remove_empty(made)
            raise ActionRefused(f"{e.src} exists again; move it away to undo.") from None
        except OSError as exc:
            msg = self._settle(u)
            if self.journal.get(u.id).state != "done":
                raise ActionRefused(f"Could not put back {_name(e.src)}: {exc.strerror or exc}"
                                    + (f" ({msg})" if msg else "")) from None
            return
        self._finish_undo(u, e)

    def _finish_undo(self, u: Entry, parent: Entry) -> None:
        if u.op == "restore":
            try:
                os.unlink(_trash.TrashedItem(u.trash_dir, u.trash_name).info_path)
            except FileNotFoundError:
                pass
        else:
            remove_empty(parent.made_dirs)
        self.journal.update(u.id, state="done")
        self.journal.update(parent.id, state="reverted")

    # undo / redo ---------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return self.journal.top_active() is not None

    @property
    def can_redo(self) -> bool:
        return self.journal.next_undone() is not None

    @property
    def undo_label(self) -> str | None:
        s = self.journal.top_active()
        return s[1] if s else None

    @property
    def redo_label(self) -> str | None:
        s = self.journal.next_undone()
        return s[1] if s else None

    def _applied(self, step: int) -> list[Entry]:
        return [e for e in self.journal.entries(step, ("done",)) if self._reversible(e)]

    def undo(self) -> str | None:
        """Undo the latest step; returns what was undone, None if nothing. Raises
        ActionRefused (changing nothing) if a file cannot go back."""
        with self._lock:
            if self._batch is not None:
                raise ActionRefused("A bulk action is running; undo when it has finished.")
            top = self.journal.top_active()
            if top is None:
                return None
            step, label, _ = top
            entries = list(reversed(self._applied(step)))
            sim = PlannedPaths()  # check all first, replaying the step backwards: whole or nothing
            for e in entries:
                if e.dst is None or not sim.exists(e.dst):
                    where = "the trash" if e.op == "trash" else e.dst
                    raise ActionRefused(f"Cannot undo \u201c{label}\u201d: {_name(e.src)} is no "
                                        f"longer in {where}.")
                if sim.exists(e.src):
                    raise ActionRefused(f"Cannot undo \u201c{label}\u201d: {e.src} exists again; "
                                        "move it away first.")
                sim.gone(e.dst)
                sim.came(e.src)
            problems = []
            for e in entries:
                try:
                    self._do_undo_entry(step, e)
                except ActionRefused as exc:
                    problems.append(str(exc))
            if not self._applied(step):
                self.journal.set_step(step, "undone")
            done = self.journal.entries(step, ("done",))
            deleted = sum(1 for e in done if e.op == "delete")
            in_trash = sum(1 for e in done if e.op == "trash" and not self._reversible(e))
            notes = []
            if deleted:
                notes.append(f"{deleted} permanently deleted file{'s' if deleted > 1 else ''} "
                             "cannot be restored")
            if in_trash:
                notes.append(f"{in_trash} trashed file{'s' if in_trash > 1 else ''}: restore from "
                             "the system trash")
            note = f" ({'; '.join(notes)})" if notes else ""
            if problems:
                return f"Undid {label}{note}, except: " + " ".join(problems)
            return f"Undid {label}{note}"

    def redo(self) -> str | None:
        """Redo the step undone last; returns what was redone, None if nothing."""
        with self._lock:
            if self._batch is not None:
                raise ActionRefused("A bulk action is running; redo when it has finished.")
            nxt = self.journal.next_undone()
            if nxt is None:
                return None
            step, label, _ = nxt
            entries = self.journal.entries(step, ("reverted",))
            sim = PlannedPaths()  # replay the step forwards: a later entry may act on an earlier's result
            for e in entries:
                if os.path.normpath(e.src) not in sim.added:
                    rec = FileRecord(e.src, e.size, e.mtime_ns, 0, 0)
                    try:
                        self._check_source(rec, "trashed" if e.op == "trash" else "moved")
                    except ActionRefused as exc:
                        raise ActionRefused(f"Cannot redo \u201c{label}\u201d: {exc}") from None
                elif self._reference_of(e.src) is not None:
                    raise ActionRefused(f"Cannot redo \u201c{label}\u201d: {e.src} is in a "
                                        "reference folder.")
                sim.gone(e.src)
                if e.op == "move" and e.dst:
                    sim.came(e.dst)
            problems = []
            for e in entries:
                try:
                    if e.op == "trash":
                        n = self.journal.add(step, "trash", e.src, parent=e.id, size=e.size,
                                             mtime_ns=e.mtime_ns, seq=e.seq)
                        self._do_trash(n)
                    else:
                        target = Path(e.dst)
                        made = missing_dirs(target.parent)
                        dst = free_name(target)
                        n = self.journal.add(step, "move", e.src, parent=e.id, dst=str(dst),
                                             temp=temp_for(dst), size=e.size,
                                             mtime_ns=e.mtime_ns, made_dirs=made, seq=e.seq)
                        self._do_move(n)
                    self.journal.update(e.id, state="redone")
                except (ActionRefused, OSError) as exc:
                    problems.append(str(exc))
            if self._applied(step):
                self.journal.set_step(step, "active")
            if problems:
                return f"Redid {label}, except: " + " ".join(problems)
            return f"Redid {label}"

    # history -------------------------------------------------------------------------------
    def history(self, limit: int = 1000) -> list[HistoryItem]:
        """Journal entries, newest first (never waits for a running bulk action)."""
        return self.journal.history(limit)

    # crash repair ---------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Settle entries left 'pending' by a crash and close batches left open. Returns a
        message per repaired entry. Skipped while another instance holds the journal."""
        with self._lock:
            if fcntl is not None and self._lockfile is None:
                return ["Another dedupe-gui instance is using the action journal; interrupted "
                        "actions will be repaired when it closes."]
            msgs = []
            touched = set()
            for e in self.journal.pending():
                touched.add(e.step_id)
                msg = self._settle(e)
                if msg:
                    msgs.append(msg)
            for step, _, _ in self.journal.steps_in("open"):
                if step != self._batch:
                    self._close_step(step)
            for step in touched - {self._batch}:  # an undo/redo cut short: fix the stacks
                state = self.journal.step(step)[2]
                applied = bool(self._applied(step))
                reverted = bool(self.journal.entries(step, ("reverted",)))
                if state == "active" and not applied:
                    self.journal.set_step(step, "undone" if reverted else "final")
                elif state == "undone" and applied and not reverted:
                    self.journal.set_step(step, "active")
            return msgs

    def _settle(self, e: Entry) -> str | None:
        """Decide what a pending entry did, finish or roll it back, mark it; return a message."""
        if e.op == "delete":
            if os.path.lexists(e.src):
                self.journal.update(e.id, state="rolled_back")
                return f"An interrupted permanent delete of {e.src} did not happen; the file is in place."
            self.journal.update(e.id, state="done")
            return f"An interrupted permanent delete of {e.src} had completed."
        if e.op == "trash":
            return self._settle_trash(e)
        state, msg = self._settle_transfer(e)
        if state == "done":
            if e.op in ("restore", "unmove"):
                self._finish_undo(self.journal.get(e.id), self.journal.get(e.parent))
            else:
                self.journal.update(e.id, state="done", message=msg)
                if e.parent is not None:
                    self.journal.update(e.parent, state="redone")
            return f"Finished an interrupted {e.op} of {e.src} to {e.dst}."
        self.journal.update(e.id, state=state, message=msg)
        if state == "rolled_back":
            remove_empty(e.made_dirs)
            return f"Rolled back an interrupted {e.op} of {e.src}; it is in its place." + (f" {msg}" if msg else "")
        return f"Could not settle an interrupted {e.op} of {e.src}: {msg}"

    def _settle_transfer(self, e: Entry) -> tuple[str, str | None]:
        src, dst, temp = e.src, e.dst, e.temp
        if temp and os.path.lexists(temp):
            if dst and os.path.lexists(dst) and samefile(temp, dst):
                os.unlink(temp)  # linked into place; the temporary name is redundant
            elif os.path.lexists(src):
                os.unlink(temp)  # a partial copy: the source is intact
            else:  # never delete what may be the only copy
                return "failed", f"kept the copy at {temp}; check it and rename it by hand"
        has_src, has_dst = os.path.lexists(src), bool(dst) and os.path.lexists(dst)
        if has_src and has_dst:
            if samefile(src, dst) or same_bytes(src, dst):
                os.unlink(src)  # the move had completed its copy: finish it
                return "done", None
            return "rolled_back", f"{dst} holds another file; it was left alone."
        if has_dst:
            return "done", None
        if has_src:
            return "rolled_back", None
        return "failed", f"the file is neither at {src} nor at {dst}"

    def _settle_trash(self, e: Entry) -> str:
        since = datetime.fromtimestamp(e.created)
        item = None
        if self.can_restore_trash:
            item = _trash.locate(e.src, since, e.size, e.mtime_ns, exclude=self._in_use)
        here = os.path.lexists(e.src)
        if item is not None:
            if here and same_bytes(e.src, str(item.file_path)):
                os.unlink(e.src)  # a cross-device trash had copied everything: finish it
            self.journal.update(e.id, state="done", dst=str(item.file_path),
                                trash_dir=item.trash_dir, trash_name=item.name)
            if e.parent is not None:
                self.journal.update(e.parent, state="redone")
            return f"Finished an interrupted trash of {e.src}."
        if here:  # still in place: remove what the interrupted trash left behind
            if self.can_restore_trash:
                for it in _trash.items_for(e.src, since):
                    if self._in_use(it):
                        continue
                    if os.path.lexists(it.file_path):
                        if not same_bytes(str(it.file_path), e.src, prefix_ok=True):
                            continue
                        os.unlink(it.file_path)
                    try:
                        os.unlink(it.info_path)
                    except FileNotFoundError:
                        pass
            self.journal.update(e.id, state="rolled_back")
            return f"Rolled back an interrupted trash of {e.src}; it is in its place."
        if not self.can_restore_trash:
            self.journal.update(e.id, state="done")
            return f"An interrupted trash of {e.src} had completed."
        self.journal.update(e.id, state="failed", message="gone, and not found in the trash")
        return f"{e.src} was being trashed when the app stopped; it is gone and was not found in the trash."


__all__ = ["ActionRefused", "Actions", "HistoryItem", "free_name"]
