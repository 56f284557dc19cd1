"""The scan's data, shared by the engine, the CLI and the GUI (the contract between them).

Pairs live in numpy arrays sorted by score, best first, down to the loose bound the matcher
keeps. A threshold therefore selects a prefix (``PairTable.count_at``): the slider never
rescans and never filters row by row in Python.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# What the user is told when a scan used the large-library mode (``matching.stage1_bounds``).
LARGE_LIBRARY_NOTE = ("large library: only close copies were looked for, so some copies turned "
                      "by 1-2 degrees may be missing")


@dataclass(frozen=True)
class FileRecord:
    """A picture that was fingerprinted. ``width``/``height`` as displayed (EXIF applied)."""

    path: str  # absolute
    size: int
    mtime_ns: int
    width: int
    height: int
    content_key: str = ""  # size + digest of a few blocks: survives renames and moves


@dataclass(frozen=True)
class PairRecord:
    """Two files that look alike; ``score`` 0-100 (100 = same picture), ``distance`` =
    Hamming distance of the best-matching hash orientation (stage 1)."""

    a: FileRecord
    b: FileRecord
    score: float
    distance: int


@dataclass
class PairTable:
    """Pairs as parallel arrays of file indices, always sorted by descending score."""

    a: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    b: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    score: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))
    distance: np.ndarray = field(default_factory=lambda: np.empty(0, np.int16))

    def __len__(self) -> int:
        return int(self.a.shape[0])

    @classmethod
    def build(cls, a, b, score, distance) -> PairTable:
        """From unsorted arrays: sorted by score (best first), ties by (a, b) for stability."""
        a = np.asarray(a, np.int32)
        b = np.asarray(b, np.int32)
        score = np.asarray(score, np.float32)
        distance = np.asarray(distance, np.int16)
        order = np.lexsort((b, a, -score))
        return cls(a[order], b[order], score[order], distance[order])

    @classmethod
    def concat(cls, tables: list[PairTable]) -> PairTable:
        """One table holding all of ``tables`` (re-sorted; cheap next to fingerprinting)."""
        if len(tables) == 1:
            return tables[0]
        if not tables:
            return cls()
        return cls.build(*(np.concatenate([getattr(t, k) for t in tables])
                           for k in ("a", "b", "score", "distance")))

    def count_at(self, threshold: float) -> int:
        """How many pairs have ``score >= threshold``: they are the first ones."""
        return int(np.searchsorted(-self.score, -np.float32(threshold), side="right"))


@dataclass
class ScanResult:
    """Everything a finished (or cancelled) scan produced."""

    files: list[FileRecord]
    pairs: PairTable
    skipped: list[tuple[str, str]]  # (path, reason)
    seconds: float
    cancelled: bool = False
    threshold: float = 0.0  # the default threshold the engine recommends
    large_library: bool = False  # stage 1 used the large-library bounds (matching.stage1_bounds)


# Events, in the order a scan emits them. ``scan.scan`` yields them; the GUI thread turns
# them into signals and the CLI into a progress bar.
@dataclass(frozen=True)
class ScanStarted:
    total: int  # files found by the walk
    large_library: bool = False  # so many files that stage 1 uses tighter bounds


@dataclass(frozen=True)
class PairsFound:
    pairs: tuple[PairRecord, ...]


@dataclass(frozen=True)
class FileSkipped:
    path: str
    reason: str


@dataclass(frozen=True)
class ScanFinished:
    result: ScanResult
