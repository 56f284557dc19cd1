"""Finding the pictures under the folders a user chose, and naming a file by its content.

The walk must survive whatever a real photo folder holds: symlinks back to a parent (a loop),
the same file reachable by two paths (a hard link, a linked folder), folders we may not read,
hidden caches (.thumbnails, .git). Each file is listed once, identified by (device, inode),
and anything we cannot enter is reported with a reason instead of stopping the walk.
"""
from __future__ import annotations

import errno
import fnmatch
import hashlib
import os
import stat
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PICTURE_EXTENSIONS = frozenset(
    "jpg jpeg jpe png webp tif tiff bmp gif heic heif avif "
    "cr2 cr3 nef arw dng raf orf rw2 pef srw".split()
)

# Content key: the size plus a digest of the first and last block. Reading two blocks costs
# one or two seeks, not the whole file, and a rename or a move does not change it.
_BLOCK = 64 * 1024


@dataclass(frozen=True)
class FileEntry:
    """A picture file as the walk saw it (``path`` absolute, not resolved through links)."""

    path: str
    size: int
    mtime_ns: int


@dataclass
class WalkResult:
    files: list[FileEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def is_picture(name: str) -> bool:
    """True when the file name has a picture extension (case-insensitive)."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return ext in PICTURE_EXTENSIONS


def content_key(path: str | os.PathLike, size: int | None = None) -> str:
    """``"<size>:<blake2b of first and last 64 KiB>"``: identifies a file's content cheaply.

    Fingerprints and "not a duplicate" marks are stored under it so they survive renames and
    moves. Raises OSError when the file cannot be read.
    """
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        if size is None:
            size = os.fstat(f.fileno()).st_size
        h.update(f.read(_BLOCK))
        if size > 2 * _BLOCK:
            f.seek(size - _BLOCK)
            h.update(f.read(_BLOCK))
        elif size > _BLOCK:
            h.update(f.read())
    return f"{size}:{h.hexdigest()}"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


class _Walker:
    def __init__(self, excludes: Sequence[str], include_hidden: bool) -> None:
        self.excludes = tuple(excludes)
        self.include_hidden = include_hidden
        self.result = WalkResult()
        self.seen_files: dict[tuple[int, int], int] = {}  # (dev, ino) -> index in files
        self.via_link: set[int] = set()  # indices of files listed through a symlink
        self.seen_dirs: set[tuple[int, int]] = set()
        self.linked: deque[tuple[str, tuple[tuple[int, int], ...]]] = deque()

    def excluded(self, path: str, name: str) -> bool:
        return any(fnmatch.fnmatch(name, pat) or fnmatch.fnmatch(path, pat)
                   for pat in self.excludes)

    def skip(self, path: str, reason: str) -> None:
        self.result.skipped.append((path, reason))

    def add_file(self, path: str, st: os.stat_result, is_link: bool) -> None:
        key = (st.st_dev, st.st_ino)
        index = self.seen_files.get(key)
        if index is not None:
            # Reachable twice: keep one path, preferring the real file over a link to it.
            if index in self.via_link and not is_link:
                self.result.files[index] = FileEntry(path, st.st_size, st.st_mtime_ns)
                self.via_link.discard(index)
            return
        self.seen_files[key] = len(self.result.files)
        if is_link:
            self.via_link.add(len(self.result.files))
        self.result.files.append(FileEntry(path, st.st_size, st.st_mtime_ns))

    def walk_dir(self, top: str, st: os.stat_result) -> None:
        """Walk a folder's real subfolders now; folders reached through a symlink are queued
        in ``linked`` and walked after every root, so a file reachable both ways is listed
        by its real path."""
        key = (st.st_dev, st.st_ino)
        if key in self.seen_dirs:
            return
        self.seen_dirs.add(key)
        self._drain([(top, (key,))])

    def walk_linked(self) -> None:
        while self.linked:
            path, ancestors = self.linked.popleft()
            if ancestors[-1] not in self.seen_dirs:  # else: a second route, already listed
                self.seen_dirs.add(ancestors[-1])
                self._drain([(path, ancestors)])

    def _drain(self, stack: list[tuple[str, tuple[tuple[int, int], ...]]]) -> None:
        # Iterative depth-first walk; ``ancestors`` tells a loop from a second route.
        while stack:
            folder, ancestors = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                self.skip(folder, f"cannot read folder: {_reason(exc)}")
                continue
            subdirs: list[tuple[str, tuple[tuple[int, int], ...]]] = []
            for entry in entries:
                name, path = entry.name, entry.path
                if not self.include_hidden and name.startswith("."):
                    continue
                if self.excluded(path, name):
                    continue
                try:
                    is_link = entry.is_symlink()
                except OSError:
                    is_link = False
                try:
                    st = entry.stat(follow_symlinks=True)
                except OSError as exc:
                    if is_link and (is_picture(name) or exc.errno == errno.ELOOP):
                        self.skip(path, f"broken or looping symlink: {_reason(exc)}")
                    elif is_picture(name) and not is_link:
                        self.skip(path, f"cannot stat: {_reason(exc)}")
                    continue
                if stat.S_ISDIR(st.st_mode):
                    dkey = (st.st_dev, st.st_ino)
                    if dkey in ancestors:
                        self.skip(path, "symlink loop: the folder contains itself")
                    elif is_link:
                        self.linked.append((path, (*ancestors, dkey)))
                    elif dkey not in self.seen_dirs:
                        self.seen_dirs.add(dkey)
                        subdirs.append((path, (*ancestors, dkey)))
                elif stat.S_ISREG(st.st_mode) and is_picture(name):
                    self.add_file(path, st, is_link)
            stack.extend(reversed(subdirs))  # visit in name order

    def root(self, root: str | os.PathLike) -> None:
        path = os.path.abspath(os.fspath(root))
        try:
            st = os.stat(path)
        except OSError as exc:
            self.skip(path, f"cannot open: {_reason(exc)}")
            return
        if stat.S_ISDIR(st.st_mode):
            self.walk_dir(path, st)
        elif stat.S_ISREG(st.st_mode):
            # Named explicitly: taken whatever its extension; a non-picture is skipped later
            # with the decoder's reason.
            self.add_file(path, st, os.path.islink(path))
        else:
            self.skip(path, "not a regular file or folder")


def walk(roots: Iterable[str | os.PathLike], *, excludes: Sequence[str] = (),
         include_hidden: bool = False) -> WalkResult:
    """All picture files under ``roots`` (folders or single files), each listed once.

    ``excludes``: glob patterns matched against a file's or folder's name and its full path
    (an excluded folder is not entered). Hidden names (leading dot) are skipped unless
    ``include_hidden``; a root is always taken even when hidden, since the user named it.
    Directory symlinks are followed, but a folder is entered only once, so loops end.
    """
    walker = _Walker(excludes, include_hidden)
    for root in roots:
        walker.root(root)
    walker.walk_linked()
    return walker.result
