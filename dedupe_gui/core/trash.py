"""The system trash: send files there with send2trash and, where the platform lets us, find
them again so an undo can put them back.

On Linux and other freedesktop systems send2trash's own freedesktop implementation
(``plat_other``) is used on purpose, not GIO: its layout is what we restore from. A trashed
file lives in ``<trash>/files/<name>`` with ``<trash>/info/<name>.trashinfo`` holding
``Path=`` (URL-quoted; absolute, or relative to the trash's top directory) and
``DeletionDate=`` (local time, seconds). The trash is the home trash
(``$XDG_DATA_HOME/Trash``) for files on the home device, else the volume's ``.Trash/$uid``
(sticky ``.Trash``) or ``.Trash-$uid``.

macOS and Windows: send2trash moves the file to the Trash / Recycle Bin but gives no handle
to restore it, so ``CAN_RESTORE`` is False there and the UI must say so before trashing.
"""
from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote_to_bytes

#: True where an undo of a trash can restore the file (freedesktop trash).
CAN_RESTORE: bool = sys.platform not in ("darwin", "win32")

INFO_SUFFIX = ".trashinfo"


@dataclass(frozen=True)
class TrashedItem:
    """Where one trashed file sits: ``trash_dir/files/name`` + ``trash_dir/info/name.trashinfo``."""

    trash_dir: str
    name: str

    @property
    def file_path(self) -> Path:
        return Path(self.trash_dir) / "files" / self.name

    @property
    def info_path(self) -> Path:
        return Path(self.trash_dir) / "info" / (self.name + INFO_SUFFIX)


def home_trash() -> Path:
    """The home trash, read from the environment on every call (tests use a private one)."""
    return Path(os.path.expanduser(os.environ.get("XDG_DATA_HOME") or "~/.local/share")) / "Trash"


def _sync_send2trash() -> None:
    """send2trash's plat_other reads XDG_DATA_HOME once, at import. Point it at the home trash
    the environment names now, so the trash it writes to is the trash we search (this only
    matters when the environment changes after import, as in tests)."""
    from send2trash import plat_other

    xdg = os.fsencode(str(home_trash().parent))
    if plat_other.XDG_DATA_HOME != xdg:
        plat_other.XDG_DATA_HOME = xdg
        plat_other.HOMETRASH_B = os.path.join(xdg, b"Trash")
        plat_other.HOMETRASH = os.fsdecode(plat_other.HOMETRASH_B)


def _mount_point(path: str) -> str:
    p = os.path.realpath(path)
    while not os.path.ismount(p):
        p = os.path.dirname(p)
    return p


def candidate_trash_dirs(path: str) -> list[Path]:
    """Every trash send2trash may have used for ``path`` (home first, then the volume's)."""
    dirs = [home_trash()]
    try:
        top = Path(_mount_point(os.path.dirname(os.path.abspath(path)) or "/"))
    except OSError:
        return dirs
    uid = os.getuid() if hasattr(os, "getuid") else 0
    for d in (top / ".Trash" / str(uid), top / f".Trash-{uid}"):
        if d not in dirs:
            dirs.append(d)
    return dirs


def _topdir(trash_dir: Path) -> Path:
    """The directory a relative ``Path=`` is relative to (how send2trash wrote it)."""
    if trash_dir == home_trash():
        return trash_dir.parent  # send2trash uses XDG_DATA_HOME as the home trash's topdir
    if trash_dir.parent.name == ".Trash":
        return trash_dir.parent.parent
    return trash_dir.parent


def read_info(item: TrashedItem) -> tuple[str, datetime | None] | None:
    """(original absolute path, deletion date) from the item's .trashinfo; None if unreadable."""
    try:
        text = item.info_path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None
    orig = None
    when = None
    for line in text.splitlines():
        if line.startswith("Path="):
            orig = os.fsdecode(unquote_to_bytes(line[5:].strip()))
        elif line.startswith("DeletionDate="):
            try:
                when = datetime.strptime(line[13:].strip(), "%Y-%m-%dT%H:%M:%S")
            except ValueError:
                when = None
    if orig is None:
        return None
    if not os.path.isabs(orig):
        orig = str(_topdir(Path(item.trash_dir)) / orig)
    return orig, when


def _predicted_names(name: str) -> list[str]:
    """send2trash's naming: ``name``, then ``base 1.ext``, ``base 2.ext``, ... ; the first
    few are enough to find a fresh item without listing a large trash."""
    base, ext = os.path.splitext(name)
    return [name] + [f"{base} {i}{ext}" for i in range(1, 200)]


def _same_path(a: str, b: str) -> bool:
    return os.path.normpath(a) == os.path.normpath(b)


def locate(path: str, since: datetime, size: int, mtime_ns: int,
           exclude: Callable[[TrashedItem], bool] | None = None) -> TrashedItem | None:
    """Find the trash item holding ``path`` trashed at or after ``since`` (local time) whose
    file still has ``size``/``mtime_ns`` (a rename keeps both). Tries send2trash's names
    first (fast), then lists the info dirs. ``exclude(item)`` True skips an item already
    accounted for (an earlier trash of the same path)."""
    since = since.replace(microsecond=0) - timedelta(seconds=1)

    def ok(item: TrashedItem) -> bool:
        if exclude is not None and exclude(item):
            return False
        info = read_info(item)
        if info is None or not _same_path(info[0], path):
            return False
        if info[1] is not None and info[1] < since:
            return False
        try:
            st = os.lstat(item.file_path)
        except OSError:
            return False
        return st.st_size == size and st.st_mtime_ns == mtime_ns

    name = os.path.basename(path)
    dirs = [d for d in candidate_trash_dirs(path) if (d / "info").is_dir()]
    for d in dirs:
        for n in _predicted_names(name):
            item = TrashedItem(str(d), n)
            if not item.info_path.exists() and not item.file_path.exists():
                break  # send2trash takes the first free name: no later one can be ours
            if ok(item):
                return item
    for d in dirs:  # slow path: another trash implementation named it differently
        try:
            names = [n[: -len(INFO_SUFFIX)] for n in os.listdir(d / "info") if n.endswith(INFO_SUFFIX)]
        except OSError:
            continue
        for n in names:
            item = TrashedItem(str(d), n)
            if ok(item):
                return item
    return None


def items_for(path: str, since: datetime) -> list[TrashedItem]:
    """Every trash item (even one whose file is missing or partial) recording ``path`` as
    trashed at/after ``since``. For crash repair; lists the info dirs, so not for hot paths."""
    since = since.replace(microsecond=0) - timedelta(seconds=1)
    out = []
    for d in candidate_trash_dirs(path):
        try:
            names = [n[: -len(INFO_SUFFIX)] for n in os.listdir(d / "info") if n.endswith(INFO_SUFFIX)]
        except OSError:
            continue
        for n in names:
            item = TrashedItem(str(d), n)
            info = read_info(item)
            if info and _same_path(info[0], path) and (info[1] is None or info[1] >= since):
                out.append(item)
    return out


def send_to_trash(path: str) -> None:
    """Move ``path`` to the system trash (send2trash). Raises OSError on failure."""
    if CAN_RESTORE:
        _sync_send2trash()
        from send2trash.plat_other import send2trash
    else:  # pragma: no cover - macOS / Windows
        from send2trash import send2trash
    send2trash(path)


def is_symlink(path: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


__all__ = ["CAN_RESTORE", "TrashedItem", "candidate_trash_dirs", "home_trash", "is_symlink",
           "locate", "items_for", "read_info", "send_to_trash"]
