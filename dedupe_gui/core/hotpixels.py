"""Hot, stuck and dead sensor pixels found from many photos of one camera, in parallel.

How: every frame is compared with itself shifted, not with other frames: a pixel's residual is
its value minus the median of its 3x3 same-colour neighbours (the same channel of an RGB image,
the same Bayer phase of a RAW mosaic), so scene content cancels and a defect stands out.
Workers reduce chunks of frames to per-pixel statistics (``analyse_chunk``): exact sums turned
into (n, mean, M2) of the value (``pixelstats``) and the numbers of frames in which the pixel
is above (``up``) and below (``dn``) its neighbours' median by more than ``deviation``. The
coordinator Chan-merges them (``Accumulator``) and ``detect`` classifies pixels in robust
units: the mean residual (the mean image minus the 3x3 same-colour median of the mean image)
as a z-score against the sensor's median/MAD, confirmed by the frames (hot: z above the
threshold and up - dn at least ``support`` of the frames; dead the mirror image), and the
temporal spread relative to the neighbours' (stuck: almost constant while the neighbours vary).

Why signed counts: texture that comes back at the same place (a few scenes photographed
again and again) deviates both ways from frame to frame, a defect one way. Counting the two
sides apart cut false hot/dead pixels on a set of 9 scenes x 3 from 79/64 to 0/1 in TIFF and
from 68/72 to 19/17 in JPEG (the tests), and JPEG hot recall rose a little (0.775 -> 0.8 of
all injected: q=90 keeps 15-90% of a one-pixel spike); TIFF unchanged.

Why the residual of the mean image and not the mean of per-frame residuals: the mean image
is already merged, so its residual costs one pass at the end instead of one accumulation
per frame and one more whole-sensor array per chunk to write, send and merge (measured at
24 MP: ~11 ms per frame plus ~0.3 s per chunk), and it detects as well (the accuracy test).

Memory: a worker holds its chunk's decoded frames (uint8/uint16, at most ``frame_budget``
bytes) and loops over row bands *outside* the frame loop, so its accumulators are one band
large and stay in cache; chunk results are float32 (+uint8 counts) and travel through a file
on tmpfs when one is available instead of through the pipe.
"""
from __future__ import annotations

import math
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from dedupe_gui.core.parallel import chunked, default_workers, run_chunks, thread_map, worker_setup
from dedupe_gui.core.pixelstats import PixelStats, chan_merge, from_sums
from dedupe_gui.core.progress import Progress, ProgressMeter
from dedupe_gui.core.results import FileSkipped
from dedupe_gui.core.scenes import count_scenes, frame_thumb

FRAMESUMS_ABI = 2  # the compiled kernel's calling convention this module speaks
try:  # the fused per-frame pass, compiled at install when a C compiler is there (setup.py)
    from dedupe_gui.core import _framesums
except ImportError:  # pragma: no cover - exercised by the tests with the module hidden
    _framesums = None
if getattr(_framesums, "ABI", None) != FRAMESUMS_ABI:  # a stale build: not reinstalled
    _framesums = None
if os.environ.get("DEDUPE_FRAMESUMS") == "0":  # the OpenCV passes, to compare (benchmark)
    _framesums = None

RAW_EXTENSIONS = frozenset("cr2 cr3 nef nrw arw srf sr2 dng raf orf rw2 pef srw erf kdc "
                           "mrw 3fr mef iiq x3f".split())
LOSSY_FORMATS = frozenset({"JPEG", "MPO", "WEBP", "HEIF", "AVIF"})
_BAND_VALUES = 1 << 17  # values per worker band (accumulators ~2 MB: they stay in cache)
_ROBUST_SAMPLES = 250_000  # per channel: the median to ~0.3% of a MAD, in ~5 ms
_MAX_CHUNK = 64  # frames per chunk: progress and cancel stay responsive (~10 s per chunk)


class UnreadableFrame(Exception):
    """A frame that cannot be analysed; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Thresholds:
    """Detection thresholds. Defaults were chosen on crops of real photographs with injected
    defects (tests/core/test_hotpixels_accuracy.py), JPEG q=90 and 16-bit TIFF.

    ``deviation``: a frame counts a pixel as above/below its neighbours' median when it
    differs from it by more than this, in 8-bit levels (scaled to the data's range);
    ``deviation_lossy`` for JPEG and the like, whose compression leaves a weak hot pixel only
    a few levels above its neighbours. Measured on JPEG q=90 (hot found of 40 / false hot +
    dead): varied scenes 37/0 at 1 level, 32/0 at 4, 24-33 at 8; 9 scenes x 3: 31/743 at 1,
    25/36 at 4, 24/4 at 8. The hot pixels that 1 level finds and 4 does not kept under a
    third of their spike in the files (31 of the 32 that kept more are found at 1-4 levels).
    ``z_hot``/``z_dead``: mean residual in robust z units (median/MAD of the channel).
    ``support``: frames above minus frames below (hot; the reverse for dead), as a fraction
    of all frames.
    ``stuck_ratio``: a stuck pixel's temporal spread is below this fraction of its
    neighbours'; ``stuck_spread``: ... whose spread must be at least this (8-bit levels).
    ``dead_level``: a stuck pixel whose mean is below this fraction of full scale is dead.
    ``min_scenes``: frames with detail should show at least this many different scenes
    (``core.scenes``); fewer, and the result carries a warning: repeated detail looks like
    defects.
    """

    deviation: float = 8.0
    deviation_lossy: float = 4.0
    z_hot: float = 3.0
    z_dead: float = 3.0
    support: float = 0.45
    stuck_ratio: float = 0.65
    stuck_spread: float = 8.0
    dead_level: float = 0.12
    min_frames: int = 5
    min_scenes: int = 20  # fewer different scenes (with detail) than this: a warning


@dataclass(frozen=True)
class FrameInfo:
    """What the header says about one file (stored grid: no EXIF rotation)."""

    path: str
    camera: str
    width: int
    height: int
    source: str  # "raw" or "image"
    bits: int
    lossy: bool

    @property
    def group_key(self) -> tuple:
        return (self.camera, self.width, self.height, self.source, self.bits)


@dataclass(frozen=True)
class GroupSpec:
    """What a worker needs to decode and reduce frames of one group (small, picklable).

    ``shape`` is the analysis layout (rows, cols, planes): an RGB image as stored by OpenCV
    (B, G, R planes), a RAW mosaic as its four Bayer phases side by side at half size.
    """

    source: str
    shape: tuple[int, int, int]
    dtype: str  # "uint8" or "uint16"
    deviation: int  # in data units
    group_frames: int = 1  # frames a worker decodes and holds at a time (frame budget)
    run_dir: str | None = None  # the run's folder: progress published, gone = stop
    spill: bool = False  # chunk results as files in run_dir (on tmpfs), not pickled
    full_scale: float = 0.0  # the data's white level (a 12-bit RAW: ~4095); 0 = the dtype's


@dataclass
class ChunkStats:
    """A chunk's partial statistics (whole-sensor arrays) and the frames it could not use.

    ``arrays`` hold mean/m2 (float32) and up/dn (uint8), each (rows, cols*planes); when
    the worker spilled them to tmpfs they are file paths instead, opened by ``array``.
    """

    n: int
    arrays: dict[str, np.ndarray | str] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    thumbs: list[np.ndarray] = field(default_factory=list)  # one tiny one per frame (scenes)

    def array(self, name: str, writable: bool = False) -> np.ndarray:
        """The array; a spilled one is mapped from tmpfs (shared, no copy), and stays valid
        after ``discard`` unlinks its file."""
        value = self.arrays[name]
        if isinstance(value, str):
            return np.load(value, mmap_mode="r+" if writable else "r")
        return value

    def discard(self) -> None:
        """Delete spilled files (the coordinator calls this once merged)."""
        for value in self.arrays.values():
            if isinstance(value, str):
                try:
                    os.unlink(value)
                except OSError:
                    pass


@dataclass(frozen=True)
class Defect:
    """One defective pixel: x = column, y = row, 0-based, in the stored pixel grid."""

    x: int
    y: int
    channel: str
    kind: str  # "hot" | "stuck" | "dead"
    score: float  # robust z units (median/MAD), larger = more certain
    frames: int  # frames in which the pixel disagreed with its neighbours

    def as_dict(self) -> dict:
        return {"x": self.x, "y": self.y, "channel": self.channel, "kind": self.kind,
                "score": round(self.score, 2), "frames": self.frames}


@dataclass
class HotPixelResult:
    camera: str
    width: int
    height: int
    frames: int
    source: str  # "raw" | "image"
    lossy: bool
    defects: list[Defect]
    skipped: list[tuple[str, str]]
    files: list[str]  # frames analysed
    heat: np.ndarray  # small float32 map per cell (sensor-wide): 1 where a defect was
    # reported, else the strongest |z| as a share of HEAT_Z, at most HEAT_BELOW
    thresholds: Thresholds
    raw_margins: tuple[int, int] = (0, 0)  # (left, top) of the visible area in the raw grid
    seconds: float = 0.0
    cancelled: bool = False
    note: str = ""

    def as_json(self) -> dict:
        return {"width": self.width, "height": self.height, "frames": self.frames,
                "camera": self.camera, "defects": [d.as_dict() for d in self.defects],
                "skipped": [{"path": p, "reason": r} for p, r in self.skipped]}


@dataclass(frozen=True)
class HotPixelsFinished:
    """The last event of a run."""

    result: HotPixelResult


# ---------------------------------------------------------------------------- probing


def _bits(path: str, fmt: str, im) -> int:
    if fmt == "TIFF":
        bps = im.tag_v2.get(258, (8,))
        bps = bps if isinstance(bps, tuple) else (bps,)
        return 16 if max(bps) > 8 else 8
    if fmt == "PNG":
        with open(path, "rb") as fh:
            head = fh.read(25)
        return 16 if len(head) == 25 and head[24] == 16 else 8
    return 16 if im.mode.startswith("I") else 8


def probe(path: str) -> FrameInfo:
    """Header facts of one frame; raises UnreadableFrame with a reason."""
    from PIL import Image

    from dedupe_gui.core.metadata import read_meta

    ext = os.path.splitext(path)[1].lower().lstrip(".")
    meta = read_meta(path)
    camera = meta.camera or "unknown camera"
    if ext in RAW_EXTENSIONS:
        try:
            import rawpy
        except ImportError:
            raise UnreadableFrame("RAW file: install the 'raw' extra (rawpy) to analyse RAW "
                                  "files") from None
        try:
            with rawpy.imread(path) as raw:
                s = raw.sizes
                pattern = np.asarray(raw.raw_pattern)
        except Exception as exc:  # noqa: BLE001 - LibRaw raises many types
            raise UnreadableFrame(f"not a readable RAW file: {exc}") from None
        if pattern.shape != (2, 2):
            raise UnreadableFrame(f"colour filter pattern {pattern.shape[0]}x"
                                  f"{pattern.shape[1]} (X-Trans?) is not supported")
        return FrameInfo(path, camera, s.width, s.height, "raw", 16, False)
    if meta.error:
        raise UnreadableFrame(f"not a readable image: {meta.error}")
    try:
        with Image.open(path) as im:
            fmt = im.format or ""
            w, h = im.size
            if im.mode in ("CMYK", "YCbCr", "LAB", "1", "F"):
                raise UnreadableFrame(f"pixel mode {im.mode} is not supported")
            bits = _bits(path, fmt, im)
    except UnreadableFrame:
        raise
    except Exception as exc:  # noqa: BLE001
        raise UnreadableFrame(f"not a readable image: {exc}") from None
    return FrameInfo(path, camera, w, h, "image", bits, fmt in LOSSY_FORMATS)


# ---------------------------------------------------------------------------- decoding


def _raw_planes(mosaic: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """A Bayer mosaic (H, W) as its four phases (H/2, W/2, 4): plane k = (row%2)*2 + col%2.

    3x3 neighbours inside a plane are then the nearest same-colour sensor pixels. ``out``:
    a buffer to fill when its shape and type fit (a worker reuses its frame buffers).
    """
    h, w = mosaic.shape[0] // 2 * 2, mosaic.shape[1] // 2 * 2
    phases = mosaic[:h, :w].reshape(h // 2, 2, w // 2, 2).transpose(0, 2, 1, 3)
    if out is not None and out.shape == (h // 2, w // 2, 4) and out.dtype == mosaic.dtype:
        np.copyto(out.reshape(h // 2, w // 2, 2, 2), phases)
        return out
    return np.ascontiguousarray(phases).reshape(h // 2, w // 2, 4)


def decode_frame(path: str, spec: GroupSpec, out: np.ndarray | None = None) -> np.ndarray:
    """The frame in the analysis layout of ``spec``; raises UnreadableFrame with a reason.

    ``out``: a buffer of the group's layout to decode into. Reusing buffers matters: a fresh
    72 MB array per 24 MP frame costs more in page faults (~0.1 s) than the JPEG decode
    itself (~0.07 s) on the machines we measured.
    """
    import cv2

    if spec.source == "raw":
        try:
            import rawpy

            with rawpy.imread(path) as raw:
                img = _raw_planes(raw.raw_image_visible, out)
        except ImportError:
            raise UnreadableFrame("rawpy is not installed") from None
        except Exception as exc:  # noqa: BLE001
            raise UnreadableFrame(f"RAW decoding failed: {exc}") from None
    else:
        if out is not None:  # OpenCV decodes into it when shape and type match
            img = cv2.imread(path, out.reshape(out.shape[:2]) if out.shape[2] == 1 else out,
                             cv2.IMREAD_UNCHANGED)
            if img is not None and img.size == 0:
                img = None
        else:
            img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if img is None:  # OpenCV lacks a codec or a TIFF variant: Pillow may know it
            try:
                from PIL import Image

                with Image.open(path) as im:
                    arr = np.asarray(im)
            except Exception as exc:  # noqa: BLE001
                raise UnreadableFrame(f"cannot decode: {exc}") from None
            img = np.ascontiguousarray(arr[..., 2::-1]) if arr.ndim == 3 else arr
        if img.ndim == 2:
            img = img[:, :, None]
        elif img.shape[2] == 4:
            img = np.ascontiguousarray(img[:, :, :3])  # alpha is not a sensor channel
    if img.shape != spec.shape:
        raise UnreadableFrame(f"size {img.shape[1]}x{img.shape[0]}x{img.shape[2]} differs from "
                              f"the group's {spec.shape[1]}x{spec.shape[0]}x{spec.shape[2]}")
    if img.dtype != np.dtype(spec.dtype):
        raise UnreadableFrame(f"pixel type {img.dtype} differs from the group's {spec.dtype}")
    return img


# ---------------------------------------------------------------------------- worker

_reuse: dict[str, tuple] = {}  # per worker process: buffers kept from chunk to chunk


def _reusable(key: str, make: Callable[[], list[np.ndarray]], token: tuple) -> list[np.ndarray]:
    """Buffers kept across the chunks of one group in this process (keyed by ``token``).

    Why: touching fresh memory is the most expensive step at this size (a page fault per
    4 KiB); reused buffers are faulted in once per worker, not once per frame or chunk.
    """
    held = _reuse.get(key)
    if held is None or held[0] != token:
        _reuse.pop(key, None)  # free the old ones first: never two sets at once
        held = (token, make())
        _reuse[key] = held
    return held[1]


class Sums:
    """Exact per-pixel sums over frames, whole-sensor, (rows, cols*planes): x (float32: exact
    up to 256 frames of 16-bit data), x*x, and the counts of frames above (``up``) and below
    (``dn``) the 3x3 same-colour median by more than ``deviation`` (uint8: <= 255 frames).
    x*x is float32 for 8-bit frames (exact up to 258 frames: x*x <= 65025) and float64 for
    16-bit frames."""

    def __init__(self, rows: int, row: int, exact32: bool,
                 arrays: list[np.ndarray] | None = None) -> None:
        self.exact32 = exact32
        if arrays is None:
            arrays = [np.zeros((rows, row), np.float32),
                      np.zeros((rows, row), np.float32 if exact32 else np.float64),
                      np.zeros((rows, row), np.uint8), np.zeros((rows, row), np.uint8)]
        else:
            for a in arrays:
                a.fill(0)
        self.s1, self.s2, self.up, self.dn = arrays
        self.n = 0

    def arrays(self) -> list[np.ndarray]:
        return [self.s1, self.s2, self.up, self.dn]

    @staticmethod
    def exact32_for(dtype: np.dtype, frames: int) -> bool:
        return np.dtype(dtype) == np.uint8 and frames <= 258

    def add(self, frames: Sequence[np.ndarray], deviation: int) -> None:
        """Add same-shape frames (rows, cols, planes).

        With the compiled kernel (``_framesums``, built at install when a C compiler is
        there) in one sweep; else in OpenCV passes, with the same results. The band loop is
        outside the frame loop: a band of the sums (~2 MB) stays in cache while every frame
        adds to it, and each frame is read once."""
        import cv2

        if not frames:
            return
        h, w, c = frames[0].shape
        if _framesums is not None and all(f.flags.c_contiguous for f in frames):
            for g0 in range(0, len(frames), 255):
                _framesums.add(frames[g0:g0 + 255], self.s1, self.s2, self.up, self.dn,
                               h, w, c, deviation)
            self.n += len(frames)
            return
        row = w * c
        band = max(2, _BAND_VALUES // row)
        dev_buf = np.empty((band, row), frames[0].dtype)
        eight = frames[0].dtype == np.uint8
        for y0 in range(0, h, band):
            y1 = min(h, y0 + band)
            bh = y1 - y0
            lo, hi = max(0, y0 - 1), min(h, y1 + 1)
            a1, a2 = self.s1[y0:y1], self.s2[y0:y1]
            counts = self.up[y0:y1], self.dn[y0:y1]
            dev = dev_buf[:bh]
            for f in frames:
                med = cv2.medianBlur(f[lo:hi], 3).reshape(hi - lo, row)[y0 - lo:y0 - lo + bh]
                x = f[y0:y1].reshape(bh, row)
                cv2.accumulate(x, a1)
                cv2.accumulateSquare(x, a2)
                for count, (a, b) in zip(counts, ((x, med), (med, x)), strict=True):
                    cv2.subtract(a, b, dst=dev)  # saturates at 0: one side only
                    if eight:
                        cv2.threshold(dev, deviation, 1, cv2.THRESH_BINARY, dst=dev)  # 1 if over
                        cv2.add(count, dev, dst=count)  # saturates at 255 = the frame limit
                    else:
                        over = cv2.compare(dev, deviation, cv2.CMP_GT)  # uint8 0 or 255
                        np.subtract(count, over, out=count)  # uint8 wraps: s - 255 == s + 1
        self.n += len(frames)

    def finish(self, m2_out: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """(mean, m2, up, dn), formed in place in the sums (banded, in cache): mean in ``s1``;
        M2 in ``s2`` for 8-bit frames (float32: S2 - S1*mean cancels to within ~1e-7 of S2),
        else from float64 into ``m2_out`` (float32, or new)."""
        import cv2

        n = self.n
        h, row = self.s1.shape
        band = max(2, _BAND_VALUES // row)
        inv = 1.0 / n
        tmp = np.empty((band, row), np.float32)
        m2 = self.s2 if self.exact32 else (
            m2_out if m2_out is not None else np.empty((h, row), np.float32))
        for y0 in range(0, h, band):
            y1 = min(h, y0 + band)
            a1, a2, t = self.s1[y0:y1], self.s2[y0:y1], tmp[:y1 - y0]
            if self.exact32:
                cv2.multiply(a1, inv, dst=t)  # mean
                cv2.multiply(a1, t, dst=a1)  # S1*mean
                cv2.subtract(a2, a1, dst=a2)
                cv2.max(a2, 0.0, dst=a2)  # M2
            else:
                mean, m2[y0:y1] = from_sums(n, a1, a2)
                t[...] = mean
            a1[...] = t
        return {"mean": self.s1, "m2": m2, "up": self.up, "dn": self.dn}


def reduce_frames(frames: Sequence[np.ndarray], deviation: int) -> dict[str, np.ndarray]:
    """Per-pixel statistics of same-shape frames (rows, cols, planes), as (rows, cols*planes),
    in new arrays: mean/m2 of the value (float32), up/dn: frames in which the value is above /
    below the 3x3 same-colour median by more than ``deviation`` (uint8)."""
    h, w, c = frames[0].shape
    sums = Sums(h, w * c, Sums.exact32_for(frames[0].dtype, len(frames)))
    sums.add(frames, deviation)
    return dict(sums.finish())


def _publish(run_dir: str, frames: int) -> None:
    """Tell the coordinator ``frames`` more frames are done (appends are atomic)."""
    try:
        fd = os.open(os.path.join(run_dir, "progress"), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    except OSError:
        return  # the run is over
    try:
        os.write(fd, b"." * frames)
    finally:
        os.close(fd)


def _published(run_dir: str) -> int:
    try:
        return os.path.getsize(os.path.join(run_dir, "progress"))
    except OSError:
        return 0


def _spill(folder: str, name: str, arr: np.ndarray) -> str:
    """Write one result array to tmpfs with a plain write (cheaper than faulting in a new
    shared mapping page by page); the coordinator maps it read-only."""
    path = os.path.join(folder, f"{uuid.uuid4().hex}-{name}.npy")
    with open(path, "wb") as fh:
        np.save(fh, arr, allow_pickle=False)
    return path


def analyse_chunk(spec: GroupSpec, paths: list[str]) -> ChunkStats:
    """Worker: decode ``paths`` and reduce them to one ChunkStats (at most 255 frames).

    Frames are decoded into ``group`` reused buffers at a time (``spec.group_frames``, from
    the frame budget) and added to whole-sensor sums, so a chunk may hold many more frames
    than memory: the per-chunk work (finishing, writing, merging) is spread over them all.

    Chunks are long (one per worker), so the worker publishes its progress itself: one byte
    per frame decoded (most of a frame's time) appended to ``run_dir``/progress. It stops
    early when that folder is gone (cancelled or finished). A worker that cannot see the
    folder at all (another machine) just does the work and returns its arrays pickled.
    """
    worker_setup()
    signals = spec.run_dir is not None and os.path.isdir(spec.run_dir)
    h, w, c = spec.shape
    skipped: list[tuple[str, str]] = []
    exact32 = Sums.exact32_for(np.dtype(spec.dtype), len(paths))
    token = (spec.shape, spec.dtype, spec.run_dir)
    thumbs: list[np.ndarray] = []
    full_scale = spec.full_scale or float(np.iinfo(np.dtype(spec.dtype)).max)
    k = max(1, min(spec.group_frames, len(paths)))
    frame_shape = (h, w, c)
    buffers = _reusable("frames", lambda: [np.empty(frame_shape, spec.dtype)
                                           for _ in range(k)], token + (k,))
    sums = Sums(h, w * c, exact32, _reusable(
        "sums", lambda: Sums(h, w * c, exact32).arrays(), token + (exact32,)))
    for g0 in range(0, len(paths), k):
        if signals and not os.path.isdir(spec.run_dir):  # type: ignore[arg-type]
            return ChunkStats(0, {}, [])  # the run is over: nobody waits for this result
        frames: list[np.ndarray] = []
        for path, buf in zip(paths[g0:g0 + k], buffers, strict=False):
            try:
                frames.append(decode_frame(path, spec, buf))
                thumbs.append(frame_thumb(frames[-1], full_scale))
            except UnreadableFrame as exc:
                skipped.append((path, str(exc)))
            except MemoryError:
                skipped.append((path, "out of memory while decoding"))
            if signals:  # per frame: a group of small frames may be the whole chunk
                _publish(spec.run_dir, 1)  # type: ignore[arg-type]
        sums.add(frames, spec.deviation)
        del frames
    if sums.n == 0:
        return ChunkStats(0, {}, skipped)
    m2_out = None if exact32 else _reusable(
        "m2", lambda: [np.empty((h, w * c), np.float32)], token)[0]
    arrays = sums.finish(m2_out)
    spill_to = spec.run_dir if spec.spill and signals else None
    stored: dict[str, np.ndarray | str] = {
        name: _spill(spill_to, name, arr) if spill_to else arr.copy()
        for name, arr in arrays.items()}
    return ChunkStats(sums.n, stored, skipped, thumbs)


# ---------------------------------------------------------------------------- merging


class Accumulator:
    """Chan-merges chunk statistics as they arrive (coordinator side); adds the counts."""

    def __init__(self) -> None:
        self.stats: PixelStats | None = None  # of the value
        self.up: np.ndarray | None = None  # frames above the neighbours' median
        self.dn: np.ndarray | None = None  # ... and below

    @property
    def n(self) -> int:
        return self.stats.n if self.stats else 0

    def add(self, part: ChunkStats) -> None:
        if part.n == 0:
            return
        if self.stats is None:
            # adopt the first chunk's arrays: no copy of a whole-sensor array
            self.stats = PixelStats(part.n, part.array("mean", True), part.array("m2", True))
            self.up, self.dn = part.array("up", True), part.array("dn", True)
            return
        chan_merge(self.stats, PixelStats(part.n, part.array("mean"), part.array("m2")),
                   threads=default_workers())
        assert self.up is not None and self.dn is not None
        self.up = _add_counts(self.up, part.array("up"), self.stats.n)
        self.dn = _add_counts(self.dn, part.array("dn"), self.stats.n)


def _add_counts(total: np.ndarray, part: np.ndarray, n: int) -> np.ndarray:
    """``total + part`` in place, widened first (uint8 -> 16 -> 32) if ``n`` frames could
    overflow it."""
    limit = np.iinfo(total.dtype).max
    if n > limit:
        total = total.astype(np.uint16 if limit < np.iinfo(np.uint16).max else np.uint32)
    if total.dtype == np.uint8:
        import cv2

        cv2.add(total, part, dst=total)  # cannot saturate: n <= 255
    else:
        np.add(total, part, out=total, casting="unsafe")
    return total


def _robust(values: np.ndarray, floor: float, presampled: bool = False
            ) -> tuple[float, float]:
    """Median and MAD-sigma of a channel, from ~``_ROBUST_SAMPLES`` evenly spaced samples (or
    of ``values`` as given when ``presampled``)."""
    flat = values.reshape(-1)
    step = 1 if presampled else max(1, flat.size // _ROBUST_SAMPLES)
    sample = np.asarray(flat[::step], dtype=np.float64)
    med = float(np.median(sample))
    mad = float(np.median(np.abs(sample - med))) * 1.4826
    return med, max(mad, floor)


def _channel_names(spec: GroupSpec, pattern: np.ndarray | None, desc: str) -> list[str]:
    c = spec.shape[2]
    if spec.source == "raw":
        pat = pattern if pattern is not None else np.array([[0, 1], [3, 2]])
        names = desc or "RGBG"
        return [names[int(pat[k // 2, k % 2])] for k in range(4)]
    return ["L"] if c == 1 else ["B", "G", "R"]


def mean_residual(mean: np.ndarray, shape: tuple[int, int, int],
                  threads: int | None = None) -> np.ndarray:
    """The mean image minus the 3x3 median of its same-colour neighbours, (rows, cols*planes)
    float32: scene content cancels, a pixel that is persistently off stands out. In row bands
    (one row of halo each side) on ``threads`` threads: OpenCV releases the GIL."""
    import cv2

    h, w, c = shape
    row = w * c
    m3 = mean.reshape(h, w, c)
    m2d = mean.reshape(h, row)
    out = np.empty((h, row), np.float32)
    band = max(2, _BAND_VALUES // row)

    def one(y0: int) -> None:
        y1 = min(h, y0 + band)
        lo, hi = max(0, y0 - 1), min(h, y1 + 1)
        med = cv2.medianBlur(np.ascontiguousarray(m3[lo:hi]), 3).reshape(hi - lo, row)
        cv2.subtract(m2d[y0:y1], med[y0 - lo:y1 - lo], dst=out[y0:y1])

    thread_map(one, range(0, h, band), threads)
    return out


HEAT_BELOW = 0.45  # heat-map level of the strongest cell that is not a defect
HEAT_Z = 6.0  # |z| at which a cell that is not a defect reaches HEAT_BELOW


def detect(acc: Accumulator, spec: GroupSpec, full_scale: float, t: Thresholds,
           lossy: bool, threads: int | None = None
           ) -> tuple[list[tuple[int, int, int, str, float, int]], np.ndarray]:
    """Classify pixels; returns (defects in the plane grid as (row, col, plane, kind, score,
    frames), heat-map).

    Hot/dead: the mean residual (``mean_residual``) as a robust z-score over the channel
    (median/MAD), with ``support`` of the frames more above than below (dead: below).
    Stuck: temporal spread below ``stuck_ratio`` of the neighbours' while they vary; stuck
    near black is dead. Lossy sources get non-maximum suppression: JPEG rings a defect
    through its 8x8 block, only the strong peaks stay.

    Runs in row bands on ``threads`` threads (temporaries of ~1 MB, in cache) and keeps only
    the candidates, a 1/9 sample of the spread ratio and the pooled heat-map.
    """
    import cv2

    assert acc.stats is not None and acc.up is not None and acc.dn is not None
    h, w, c = spec.shape
    row = w * c
    n = acc.n
    level = full_scale / 255.0
    f32 = np.float32
    m2 = acc.stats.m2.reshape(h, row)
    mean = acc.stats.mean.reshape(h, row)
    mres = mean_residual(mean, spec.shape, threads)
    up, dn = acc.up.reshape(h, row), acc.dn.reshape(h, row)
    need = f32(math.ceil(t.support * n - 1e-9))  # net frames above (hot) / below (dead)
    meds = np.empty(c, np.float32)
    sigs = np.empty(c, np.float32)
    flat = mres.reshape(-1)
    step = max(1, (flat.size // c) // _ROBUST_SAMPLES)
    for k in range(c):  # channel k's values are flat[k::c]; every step-th of them, no copy
        meds[k], sigs[k] = _robust(flat[k::c * step], 0.25 * level, presampled=True)
    # per-channel constants tiled along a row: long inner loops instead of a length-c axis
    tmed, tinv = np.tile(meds, w), np.tile(f32(1.0) / sigs, w)
    cell = max(1, math.ceil(max(h, w) / 512))
    hh, ww = math.ceil(h / cell), math.ceil(w / cell)
    heat = np.zeros((hh, ww), np.float32)
    band = cell * max(1, (_BAND_VALUES * 2) // (row * cell))
    cols = ww * cell * c
    inv_n = f32(1.0 / n)

    local = threading.local()  # per-thread band buffers: no page faults per band

    def buffers() -> tuple[np.ndarray, ...]:
        if not hasattr(local, "b"):
            local.b = (np.empty((band + 2, row), f32), np.empty((band + 2, row), f32),
                       np.empty((band, row), f32), np.empty((band, row), f32),
                       np.zeros((band, cols), f32))  # columns past ``row`` stay zero
        return local.b

    def one(y0: int) -> tuple[np.ndarray, ...]:
        y1 = min(h, y0 + band)
        bh = y1 - y0
        lo, hi = max(0, y0 - 1), min(h, y1 + 1)
        sb, nb, ratio, z, pool = buffers()
        std_h, nstd_h = sb[:hi - lo], nb[:hi - lo]
        cv2.multiply(m2[lo:hi], float(inv_n), dst=std_h)
        cv2.sqrt(std_h, dst=std_h)
        cv2.medianBlur(std_h.reshape(hi - lo, w, c), 3, dst=nstd_h.reshape(hi - lo, w, c))
        std, nstd = std_h[y0 - lo:y0 - lo + bh], nstd_h[y0 - lo:y0 - lo + bh]
        ratio, z = ratio[:bh], z[:bh]
        cv2.add(std, float(level), dst=ratio)
        cv2.add(nstd, float(level), dst=z)
        cv2.divide(ratio, z, dst=ratio)  # (std + L) / (nstd + L)
        np.subtract(mres[y0:y1], tmed, out=z)
        z *= tinv
        cells = -(-bh // cell)
        p = pool[:cells * cell]
        np.abs(z, out=p[:bh, :row])  # the heat-map pools |z|
        p[bh:] = 0  # a short last band: zero padding below the data
        net = np.subtract(up[y0:y1], dn[y0:y1], dtype=np.float32)
        hot = (z >= f32(t.z_hot)) & (net >= need)  # the rule, said once: +1 hot, -1 dead
        side = hot.view(np.int8) - ((z <= f32(-t.z_dead)) & (net <= -need)).view(np.int8)
        idx = np.flatnonzero((side != 0) | (ratio <= f32(t.stuck_ratio)))
        first = (-y0) % 3  # rows y % 3 == 0 and every third column, all planes
        sample = ratio.reshape(bh, w, c)[first::3, ::3].flatten()  # a copy: buffers are reused
        # max over each cell: along the row first (contiguous), then over the cell's rows
        across = p.reshape(cells * cell, ww, cell * c).max(axis=2)
        heat[y0 // cell:y0 // cell + cells] = across.reshape(cells, cell, ww).max(axis=1)
        return (idx + y0 * row, z.reshape(-1)[idx], ratio.reshape(-1)[idx],
                nstd.reshape(-1)[idx], side.reshape(-1)[idx], sample)

    parts = thread_map(one, range(0, h, band), threads)
    idx, zc, rc, nc, sidec, samples = (np.concatenate([p[k] for p in parts]) for k in range(6))
    lr_med, lr_sig = _robust(np.log(samples[::max(1, samples.size // _ROBUST_SAMPLES)]), 0.02,
                             presampled=True)
    flat = (rc <= t.stuck_ratio) & (nc >= t.stuck_spread * level)
    dark = mean.reshape(-1)[idx] <= t.dead_level * full_scale
    upc = up.reshape(-1)[idx].astype(np.int64)
    dnc = dn.reshape(-1)[idx].astype(np.int64)
    kinds = np.full(idx.size, "", dtype=object)
    scores = np.zeros(idx.size, np.float64)
    supc = np.zeros(idx.size, np.int64)  # the frames that show the defect
    stuck_s = np.abs((np.log(np.maximum(rc, 1e-6)) - lr_med) / lr_sig)
    sel = flat & ~dark
    kinds[sel], scores[sel], supc[sel] = "stuck", stuck_s[sel], (upc + dnc)[sel]
    sel = flat & dark
    kinds[sel], scores[sel], supc[sel] = "dead", np.abs(zc[sel]), dnc[sel]
    sel = ~flat & (sidec > 0)
    kinds[sel], scores[sel], supc[sel] = "hot", zc[sel], upc[sel]
    sel = ~flat & (sidec < 0)
    kinds[sel], scores[sel], supc[sel] = "dead", -zc[sel], dnc[sel]
    keep = kinds != ""
    rr, cc, kk = np.unravel_index(idx[keep], (h, w, c))
    found = [(int(r), int(col), int(k), str(kind), float(sc), int(sp)) for r, col, k, kind, sc, sp
             in zip(rr, cc, kk, kinds[keep], scores[keep], supc[keep], strict=True)]
    mres3 = mres.reshape(h, w, c)
    if lossy and found:
        strength = [abs(float(mres3[r, col, k]) - float(meds[k])) for r, col, k, *_ in found]
        found = _suppress(found, strength)
    # A cell that is not a defect shows at most HEAT_BELOW of the scale: texture that stays
    # in the mean of a few dozen photos (|z| up to ~8 in a screenshot's set) must not look
    # like the defects, which alone reach the top of the scale.
    heat *= f32(HEAT_BELOW / HEAT_Z)
    np.minimum(heat, f32(HEAT_BELOW), out=heat)
    for r, col, *_ in found:
        heat[r // cell, col // cell] = 1.0
    return found, heat


def _suppress(found: list[tuple[int, int, int, str, float, int]], strength: list[float],
              echo: float = 0.6) -> list[tuple[int, int, int, str, float, int]]:
    """JPEG echoes out, strongest first by ``strength`` (|mean residual| in levels, comparable
    across channels): one channel per pixel, nothing next to a stronger defect, nothing
    below ``echo`` times the strongest of its 8x8 block (DCT ringing stays inside
    the block and, measured on q=90 frames, below 0.6 of the defect in 99% of cases)."""
    taken: set[tuple[int, int]] = set()
    block_max: dict[tuple[int, int], float] = {}
    kept = []
    order = sorted(zip(strength, found, strict=True), key=lambda sc: -sc[0])
    for s, cand in order:
        r, col = cand[0], cand[1]
        if any((r + dr, col + dc) in taken for dr in (-1, 0, 1) for dc in (-1, 0, 1)):
            continue
        if s < echo * block_max.setdefault((r // 8, col // 8), s):
            continue
        taken.add((r, col))
        kept.append(cand)
    return kept


# ---------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class RunOptions:
    workers: int | None = None
    thresholds: Thresholds = Thresholds()
    # bytes of decoded frames one worker may hold: 5 frames of 24 MP. 768 MB (10 frames) was
    # no faster with the compiled kernel (2 workers, 100 frames: 10.2-13.3 s against
    # 10.3-12.5 s, interleaved runs) and held 410 MB more per worker
    frame_budget: int = 384 << 20
    spill: bool = True  # chunk results through tmpfs files when /dev/shm exists


def chunk_plan(frames: int, workers: int, frame_bytes: int, frame_budget: int
               ) -> tuple[int, int]:
    """(frames per chunk, frames a worker decodes and holds at a time).

    As few chunks as possible: one per worker, of at most ``_MAX_CHUNK`` frames, in rounds
    of equal chunks. Each chunk costs a whole-sensor finish, a write to tmpfs and a merge
    (measured at 24 MP: ~0.8 s, the work of ~3 frames), so two chunks per worker cost 2-3 s
    per 100 frames more than one. Progress does not need small chunks: workers publish it
    (``_publish``). The frames held at a time follow the memory budget. At most 255 frames
    per chunk (uint8 counts).
    """
    workers = max(1, workers)
    rounds = math.ceil(frames / (workers * min(255, _MAX_CHUNK)))
    per_chunk = max(1, math.ceil(frames / (workers * max(1, rounds))))
    held = max(1, min(per_chunk, frame_budget // max(1, frame_bytes)))
    return per_chunk, held


def _spill_root() -> str | None:
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def group_frames(infos: Sequence[FrameInfo]) -> tuple[list[FrameInfo], list[tuple[str, str]]]:
    """The largest group of one camera and size; the others are skipped with a reason."""
    groups: dict[tuple, list[FrameInfo]] = {}
    for info in infos:
        groups.setdefault(info.group_key, []).append(info)
    if not groups:
        return [], []
    best = max(groups.values(), key=len)
    b = best[0]
    skipped = []
    for members in groups.values():
        if members is best:
            continue
        for m in members:
            skipped.append((m.path, f"{m.camera} {m.width}x{m.height} {m.bits}-bit {m.source} "
                                    f"differs from the analysed group ({b.camera} "
                                    f"{b.width}x{b.height} {b.bits}-bit {b.source}); "
                                    "analyse it separately"))
    return best, skipped


def _raw_layout(path: str) -> tuple[np.ndarray | None, str, tuple[int, int], float]:
    import rawpy

    with rawpy.imread(path) as raw:
        return (np.asarray(raw.raw_pattern), raw.color_desc.decode("ascii", "replace"),
                (raw.sizes.left_margin, raw.sizes.top_margin), float(raw.white_level))


def find_hot_pixels(paths: Sequence[str | os.PathLike], options: RunOptions = RunOptions(), *,
                    executor: Executor | None = None,
                    cancel: threading.Event | None = None
                    ) -> Iterator[Progress | FileSkipped | HotPixelsFinished]:
    """Run the whole analysis; yields Progress, FileSkipped and finally HotPixelsFinished.

    ``paths``: files and folders (walked). The largest camera+size group is analysed.
    """
    from dedupe_gui.core.files import walk

    start = time.monotonic()
    t = options.thresholds
    listing = walk([str(p) for p in paths])
    skipped: list[tuple[str, str]] = list(listing.skipped)
    for p, r in listing.skipped:
        yield FileSkipped(p, r)
    meter = ProgressMeter(len(listing.files), phase="Reading headers")
    infos: list[FrameInfo] = []
    last = 0.0
    for i, entry in enumerate(listing.files):
        if cancel is not None and cancel.is_set():
            break
        try:
            infos.append(probe(entry.path))
        except UnreadableFrame as exc:
            skipped.append((entry.path, str(exc)))
            yield FileSkipped(entry.path, str(exc))
        snap = meter.advance()
        if time.monotonic() - last > 0.1 or i == len(listing.files) - 1:
            last = time.monotonic()
            yield snap
    group, others = group_frames(infos)
    for p, r in others:
        skipped.append((p, r))
        yield FileSkipped(p, r)

    def finish(result_defects, heat, n, cancelled, note="", **kw) -> HotPixelsFinished:
        g = group[0] if group else None
        return HotPixelsFinished(HotPixelResult(
            camera=g.camera if g else "", width=g.width if g else 0, height=g.height if g else 0,
            frames=n, source=g.source if g else "", lossy=g.lossy if g else False,
            defects=result_defects, skipped=skipped, files=analysed, heat=heat, thresholds=t,
            seconds=time.monotonic() - start, cancelled=cancelled, note=note, **kw))

    analysed: list[str] = []
    empty = np.zeros((1, 1), np.float32)
    if not group:
        yield finish([], empty, 0, bool(cancel and cancel.is_set()), "no readable frames")
        return
    g = group[0]
    pattern, desc, margins, full_scale = None, "", (0, 0), float((1 << g.bits) - 1)
    if g.source == "raw":
        pattern, desc, margins, full_scale = _raw_layout(g.path)
        shape = (g.height // 2, g.width // 2, 4)
        dtype = "uint16"
    else:
        shape = (g.height, g.width, _channels(g.path))
        dtype = "uint16" if g.bits == 16 else "uint8"
    workers = options.workers or default_workers()
    frame_bytes = shape[0] * shape[1] * shape[2] * np.dtype(dtype).itemsize
    per_chunk, held = chunk_plan(len(group), workers, frame_bytes, options.frame_budget)
    spill_root = _spill_root()
    run_dir = tempfile.mkdtemp(prefix="dedupe-hotpixels-", dir=spill_root)
    deviation = t.deviation_lossy if g.lossy else t.deviation
    spec = GroupSpec(g.source, shape, dtype, max(1, round(deviation * full_scale / 255)),
                     held, run_dir, bool(spill_root and options.spill), full_scale)
    acc = Accumulator()
    thumbs: list[np.ndarray] = []
    meter = ProgressMeter(len(group), phase="Analysing frames")
    cancelled = False
    try:
        chunks = chunked([i.path for i in group], per_chunk)
        completed = shown = 0
        for res in run_chunks(partial(analyse_chunk, spec), chunks, executor=executor,
                              workers=workers, max_in_flight=workers + 1, cancel=cancel,
                              heartbeat=True):
            for item, reason in res.failed:
                skipped.append((item, reason))
                yield FileSkipped(item, reason)
            if res.result is not None:
                for p, r in res.result.skipped:
                    skipped.append((p, r))
                    yield FileSkipped(p, r)
                thumbs.extend(res.result.thumbs)
                try:
                    acc.add(res.result)
                finally:
                    res.result.discard()
                bad = {p for p, _ in res.result.skipped}
                analysed.extend(p for p in res.items if p not in bad)
            completed += len(res.items)
            now = min(len(group), max(completed, _published(run_dir)))
            if now > shown or res.items:
                yield meter.advance(now - shown)
                shown = now
        cancelled = bool(cancel is not None and cancel.is_set())
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    analysed.sort()
    if acc.n < t.min_frames:
        yield finish([], empty, acc.n, cancelled,
                     f"only {acc.n} usable frames; at least {t.min_frames} are needed")
        return
    names = _channel_names(spec, pattern, desc)
    found, heat = detect(acc, spec, full_scale, t, g.lossy)
    defects = [_to_defect(f, spec, names) for f in found]
    defects.sort(key=lambda d: (-d.score, d.y, d.x))
    yield finish(defects, heat, acc.n, cancelled, _scene_warning(thumbs, t), raw_margins=margins)


def _scene_warning(thumbs: list[np.ndarray], t: Thresholds) -> str:
    """A warning when the frames with detail show too few different scenes (or "")."""
    scenes, detailed = count_scenes(thumbs)
    if detailed == 0 or scenes >= t.min_scenes:
        return ""
    return (f"the {detailed} frames with detail are only as varied as {scenes} different "
            "scenes: detail that comes back in the same place can look like a defect. Add "
            "photos of other scenes, or dark frames (lens cap on)")


def _channels(path: str) -> int:
    """Analysis planes of a non-RAW image: 1 for grey, 3 for colour (alpha dropped)."""
    from PIL import Image

    with Image.open(path) as im:
        return 1 if im.mode in ("L", "I", "I;16", "I;16B", "I;16L", "LA") else 3


def _to_defect(f: tuple[int, int, int, str, float, int], spec: GroupSpec,
               names: list[str]) -> Defect:
    r, col, k, kind, score, frames = f
    if spec.source == "raw":
        return Defect(2 * col + k % 2, 2 * r + k // 2, names[k], kind, score, frames)
    return Defect(col, r, names[k], kind, score, frames)


def analyse(paths: Sequence[str | os.PathLike], options: RunOptions = RunOptions(), *,
            executor: Executor | None = None, cancel: threading.Event | None = None,
            on_event: Callable[[object], None] | None = None) -> HotPixelResult:
    """Run to the end and return the result (CLI, tests); events go to ``on_event``."""
    result: HotPixelResult | None = None
    for ev in find_hot_pixels(paths, options, executor=executor, cancel=cancel):
        if on_event is not None:
            on_event(ev)
        if isinstance(ev, HotPixelsFinished):
            result = ev.result
    assert result is not None
    return result


__all__ = ["Defect", "HotPixelResult", "HotPixelsFinished", "RunOptions", "Thresholds",
           "analyse", "analyse_chunk", "find_hot_pixels"]
