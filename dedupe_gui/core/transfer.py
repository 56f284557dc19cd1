"""No-overwrite, crash-detectable file transfers: the primitives core/actions.py journals.

Every function here leaves a file's bytes complete at its source or at its destination at
every instant, so a crash can always be settled by looking at the two paths (and the
temporary name of a cross-filesystem copy). Nothing here decides WHETHER to act: that is
actions.py's job (checks, journal, undo).
"""
from __future__ import annotations

import errno
import os
import shutil
import uuid
from pathlib import Path


def free_name(target: Path) -> Path:
    """``target`` if nothing is there, else ``stem (1).ext``, ``stem (2).ext``, ..."""
    if not os.path.lexists(target):
        return target
    stem, suffix = target.stem, target.suffix
    i = 1
    while True:
        cand = target.with_name(f"{stem} ({i}){suffix}")
        if not os.path.lexists(cand):
            return cand
        i += 1


def same_bytes(a: str, b: str, prefix_ok: bool = False) -> bool:
    """True if ``a`` and ``b`` hold the same bytes (or, with prefix_ok, ``a`` is a prefix of
    ``b``: a partial copy)."""
    try:
        sa, sb = os.path.getsize(a), os.path.getsize(b)
        if sa != sb and not (prefix_ok and sa <= sb):
            return False
        with open(a, "rb") as fa, open(b, "rb") as fb:
            while True:
                ca = fa.read(1 << 20)
                if not ca:
                    return True
                if ca != fb.read(len(ca)):
                    return False
    except OSError:
        return False


def samefile(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def place(src: str, dst: str) -> None:
    """Give ``src`` the name ``dst`` on the same filesystem, never replacing ``dst``.
    A hard link fails atomically if ``dst`` exists; filesystems without hard links get a
    check-then-rename. Raises FileExistsError, or OSError(EXDEV) across filesystems."""
    try:
        os.link(src, dst)  # symlinks were refused earlier; Windows has no follow_symlinks=False
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            raise
        if os.path.lexists(dst):  # no hard links here (FAT, some network shares)
            raise FileExistsError(errno.EEXIST, "File exists", dst) from None
        os.rename(src, dst)
        return
    os.unlink(src)


def transfer(src: str, dst: str, temp: str) -> None:
    """Move ``src`` to ``dst`` (free name, existing folder). Crash-safe: at every moment the
    bytes are complete at ``src`` or at ``dst`` (see ``actions.Actions._settle_transfer``)."""
    try:
        place(src, dst)  # atomic on one filesystem: no fsync needed for safety
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    shutil.copy2(src, temp)  # other filesystem: copy (keeps mtime), make it durable, rename
    with open(temp, "rb") as f:
        os.fsync(f.fileno())
    try:
        place(temp, dst)
    except OSError:
        os.unlink(temp)
        raise
    fsync_dir(Path(dst).parent)
    os.unlink(src)


def temp_for(dst: Path) -> str:
    return str(dst.with_name(f".{dst.name}.{uuid.uuid4().hex[:8]}.dedupe-part"))


def missing_dirs(folder: Path) -> list[str]:
    """The folders missing on the way to ``folder`` (deepest last), creating nothing: an
    action journals them before it creates them, so a crash in between leaves no folder
    that undo and recovery do not know about."""
    missing = []
    p = Path(folder)
    while not p.exists():
        missing.append(str(p))
        if p.parent == p:
            break
        p = p.parent
    return missing[::-1]


def create_dirs(dirs: list[str]) -> None:
    """Create the folders listed by ``missing_dirs`` that do not exist yet (idempotent)."""
    for d in dirs:
        if not os.path.isdir(d):
            os.mkdir(d)


def remove_empty(dirs: list[str]) -> None:
    for d in reversed(dirs):
        try:
            os.rmdir(d)
        except OSError:
            pass


class PlannedPaths:
    """The file system as it will be after some planned operations (for all-or-nothing checks
    of a multi-file undo or redo)."""

    def __init__(self) -> None:
        self.added: set[str] = set()
        self.removed: set[str] = set()

    def exists(self, path: str) -> bool:
        p = os.path.normpath(path)
        return p in self.added or (p not in self.removed and os.path.lexists(p))

    def gone(self, path: str) -> None:
        p = os.path.normpath(path)
        self.added.discard(p)
        self.removed.add(p)

    def came(self, path: str) -> None:
        p = os.path.normpath(path)
        self.removed.discard(p)
        self.added.add(p)


__all__ = ["PlannedPaths", "create_dirs", "free_name", "fsync_dir", "missing_dirs", "place",
           "remove_empty", "same_bytes", "samefile", "temp_for", "transfer"]
