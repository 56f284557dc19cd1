"""A whole output in bands of rows, on several cores, with progress and cancel.

Two ways, both through ``core.parallel.run_chunks``:

- ``threads`` (the default, measured faster here): numpy's ufuncs and ``cv2.remap`` release
  the GIL, so bands in a thread pool use every core, share the padded source for free and
  write straight into the output array.
- ``processes``: a spawn process pool; the padded source and the output live in
  ``multiprocessing.shared_memory`` (never pickled per task), each worker attaches once and
  writes its bands in place. It pays process start-up and one extra copy of the output out
  of shared memory; benchmarks/reproject_speed.py measures both.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from multiprocessing import shared_memory

import numpy as np

from dedupe_gui.core.graticule import draw_lines
from dedupe_gui.core.parallel import chunked, default_workers, make_process_pool, run_chunks
from dedupe_gui.core.progress import Progress, ProgressMeter
from dedupe_gui.core.reproject import (
    MAX_REMAP_SIDE,
    RenderSpec,
    out_channels,
    pad_source,
    padded_shape,
    render_block,
)

MODES = ("threads", "processes")
BAND_PIXELS = 1 << 16  # ~64K output pixels per band: its float32 temporaries stay in cache
TILE_ABOVE = 4096  # outputs wider than this go in tiles of TILE_COLS columns
TILE_COLS = 256
Block = tuple[int, int, int, int]  # r0, r1, c0, c1


def blocks_for(spec: RenderSpec, band_rows: int | None = None,
               tile_cols: int | None = None) -> list[Block]:
    """Blocks of ~64K output pixels: whole rows for narrow outputs; for wide ones, tiles
    (a compact output tile reads a compact source region, a full-width row of a transverse
    map reads across the whole source), never wider than cv2 allows."""
    if tile_cols is None:
        tile_cols = spec.width if spec.width <= TILE_ABOVE else TILE_COLS
    col_step = max(1, min(spec.width, tile_cols, MAX_REMAP_SIDE // 2))
    rows = band_rows or max(4, min(256, BAND_PIXELS // col_step))
    return [(r, min(spec.height, r + rows), c, min(spec.width, c + col_step))
            for r in range(0, spec.height, rows) for c in range(0, spec.width, col_step)]


def output_shape(spec: RenderSpec, image: np.ndarray) -> tuple[int, ...]:
    c = out_channels(spec, 1 if image.ndim == 2 else image.shape[2])
    return (spec.height, spec.width) if c == 1 else (spec.height, spec.width, c)


def _draw_blocks(spec: RenderSpec, src: np.ndarray, out: np.ndarray,
                 blocks: list[Block]) -> int:
    for r0, r1, c0, c1 in blocks:
        render_block(spec, src, out[r0:r1, c0:c1], r0, r1, c0, c1)
    return sum((b[1] - b[0]) * (b[3] - b[2]) for b in blocks)  # pixels drawn


def _finish(spec: RenderSpec, out: np.ndarray) -> np.ndarray:
    """The graticule goes on last, over the whole picture: lines drawn band by band would be
    clipped (and anti-aliased) differently at every band edge."""
    if spec.lines:
        for r in range(0, spec.height, MAX_REMAP_SIDE):
            draw_lines(out[r:r + MAX_REMAP_SIDE], spec, 0, r)
    return out


# ---------------------------------------------------------------- process workers

@dataclass(frozen=True)
class ShmJob:
    """What a worker process needs to find the shared arrays (names, shapes, dtype)."""

    spec: RenderSpec
    src_name: str
    src_shape: tuple[int, ...]
    out_name: str
    out_shape: tuple[int, ...]
    dtype: str


_attached: dict[str, tuple[shared_memory.SharedMemory, np.ndarray]] = {}


def _attach(job: ShmJob) -> tuple[np.ndarray, np.ndarray]:
    """The job's (source, output) arrays, attached once per worker and render."""
    wanted = (job.src_name, job.out_name)
    for old in [n for n in _attached if n not in wanted]:  # a previous render's segments
        shm, arr = _attached.pop(old)
        del arr  # the view must go before the mapping
        shm.close()
    for name, shape in ((job.src_name, job.src_shape), (job.out_name, job.out_shape)):
        if name not in _attached:
            shm = shared_memory.SharedMemory(name=name)
            _attached[name] = (shm, np.ndarray(shape, job.dtype, buffer=shm.buf))
    return _attached[job.src_name][1], _attached[job.out_name][1]


def draw_blocks_shared(job: ShmJob, blocks: list[Block]) -> int:
    """Process-pool worker: attach to the shared source/output once, draw bands in place."""
    from dedupe_gui.core.parallel import worker_setup

    worker_setup()
    src, out = _attach(job)
    return _draw_blocks(job.spec, src, out, blocks)


# ---------------------------------------------------------------- driver

ProgressFn = Callable[[Progress], None]


def render(image: np.ndarray, spec: RenderSpec, *, workers: int | None = None,
           mode: str = "threads", band_rows: int | None = None, tile_cols: int | None = None,
           cancel: threading.Event | None = None, progress: ProgressFn | None = None
           ) -> np.ndarray | None:
    """The re-projected image (uint8/uint16 like the source; BGRA when transparent), or
    None when ``cancel`` was set before the end."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
    spec = spec.with_lines()
    workers = workers or default_workers()
    blocks = blocks_for(spec, band_rows, tile_cols)
    rows = _RowMeter(ProgressMeter(spec.height, phase="Re-projecting"), spec.width, progress)
    # enough chunks to balance the workers and keep progress/cancel responsive on big maps,
    # few enough that per-chunk overhead stays small on small ones
    n_chunks = min(len(blocks), max(4 * workers, len(blocks) // 32))
    per_chunk = max(1, math.ceil(len(blocks) / n_chunks))
    chunks = list(chunked(blocks, per_chunk))
    if mode == "processes":
        return _render_processes(image, spec, workers, chunks, rows, cancel)
    src = pad_source(image, spec)
    out = np.empty(output_shape(spec, image), image.dtype)
    fn = partial(_draw_blocks, spec, src, out)
    if workers == 1 or len(chunks) == 1:
        for chunk in chunks:
            if cancel is not None and cancel.is_set():
                return None
            rows.add(fn(chunk))
        return _finish(spec, out)
    with ThreadPoolExecutor(workers, thread_name_prefix="reproject") as pool:
        if not _collect(run_chunks(fn, chunks, executor=pool, workers=workers,
                                   cancel=cancel), rows):
            return None
    return _finish(spec, out)


class _RowMeter:
    """Pixels drawn (in any block order) -> whole rows' worth of progress."""

    def __init__(self, meter: ProgressMeter, width: int, progress: ProgressFn | None) -> None:
        self.meter, self.width, self.progress, self.pixels = meter, width, progress, 0

    def add(self, pixels: int) -> None:
        self.pixels += pixels
        rows = self.pixels // self.width
        snap = self.meter.advance(rows - self.meter.done)
        if self.progress:
            self.progress(snap)


def _collect(results, rows: _RowMeter) -> bool:
    for res in results:
        if res.failed:
            raise RuntimeError(f"re-projection failed: {res.failed[0][1]}")
        rows.add(int(res.result or 0))
    return rows.meter.done >= rows.meter.total


def _render_processes(image, spec, workers, chunks, rows, cancel):
    dtype = np.dtype(image.dtype)
    src_shape = padded_shape(spec, image.shape)
    out_shape = output_shape(spec, image)
    segments: list[shared_memory.SharedMemory] = []
    try:
        for shape in (src_shape, out_shape):
            size = max(1, int(np.prod(shape)) * dtype.itemsize)
            segments.append(shared_memory.SharedMemory(create=True, size=size))
        src = np.ndarray(src_shape, dtype, buffer=segments[0].buf)
        pad_source(image, spec, out=src)
        out = np.ndarray(out_shape, dtype, buffer=segments[1].buf)
        # the graticule is drawn here at the end: workers need not receive its polylines
        job = ShmJob(replace(spec, lines=()), segments[0].name, src_shape, segments[1].name,
                     out_shape, dtype.str)
        pool = make_process_pool(workers)
        try:
            ok = _collect(run_chunks(partial(draw_blocks_shared, job), chunks, executor=pool,
                                     workers=workers, cancel=cancel), rows)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        result = _finish(spec, out.copy()) if ok else None
        del src, out
        return result
    finally:
        for shm in segments:
            shm.close()
            shm.unlink()
