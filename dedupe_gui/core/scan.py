"""The scan pipeline: folders in, a stream of events out, a ScanResult at the end.

    walk -> cache lookup -> hits matched at once (pairs appear instantly on a rescan)
         -> misses in chunks on the executor (run_chunks: bounded, cancellable, crash-safe)
         -> each returned batch: cache.store (one transaction) + Matcher.add -> PairsFound

The generator runs in the caller's thread (the CLI's main thread, the GUI's scan thread) and
does only cheap work there: SQLite, the vectorised matcher, bookkeeping. Pixels are touched
only in the workers.

Where the content key is computed: in the worker, right after the decode, while the file is
still in the page cache (hashing 128 KiB costs ~1% of a reduced decode and runs in parallel).
The main process computes it only for a cache miss whose exact byte size is already in the
cache (the only case where a renamed or moved file can be recognised), so a cold scan reads
nothing twice in the main process.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from dedupe_gui.core.files import FileEntry, content_key, walk
from dedupe_gui.core.fingerprint import FINGERPRINT_VERSION, FingerprintBatch, fingerprint_chunk
from dedupe_gui.core.parallel import chunked, run_chunks, worker_setup
from dedupe_gui.core.progress import Progress, ProgressMeter
from dedupe_gui.core.results import (
    FileRecord,
    FileSkipped,
    PairRecord,
    PairsFound,
    PairTable,
    ScanFinished,
    ScanResult,
    ScanStarted,
)

PROGRESS_SECONDS = 0.1  # at most ~10 Progress events a second
HIT_SLICE = 1024  # cached fingerprints matched per step (keeps cancel and progress alive)
# Large libraries: files gathered before each matcher call (about 32 calls per scan; it was
# 16 files a call). 200k files: 16.3 s of stage 1 in 32 calls, 5.0 s in one search
# (candidates_scale.py --calls); fewer, longer calls would leave a cancel waiting and the
# pairs unseen for longer.
LARGE_MATCH_CALLS = 32
LARGE_MATCH_MIN = 4096

ScanEvent = ScanStarted | Progress | PairsFound | FileSkipped | ScanFinished
Worker = Callable[[list[str]], tuple[FingerprintBatch, list[str]]]


@dataclass
class ScanOptions:
    """What a scan looks at and how. Defaults suit a laptop; every field is optional."""

    threshold: float | None = None  # score 0-100 the result recommends; None = engine default
    mirror: bool = False  # also match mirrored copies
    workers: int | None = None  # processes of the default pool; None = one per core
    cache_path: str | os.PathLike | None = None  # None = the per-user cache
    use_cache: bool = True  # False = no cache at all (--no-cache)
    excludes: Sequence[str] = field(default_factory=tuple)  # glob patterns (name or path)
    include_hidden: bool = False
    chunk_size: int = 16  # files per task: ~0.2-0.4 s of work on 12 MP JPEGs
    max_in_flight: int | None = None  # chunks submitted at once; None = 2 per worker


def fingerprint_files(paths: list[str]) -> tuple[FingerprintBatch, list[str]]:
    """The worker task: fingerprints plus each file's content key (``""`` if unreadable)."""
    worker_setup()
    batch = fingerprint_chunk(paths)
    keys = []
    for p in batch.paths:
        try:
            keys.append(content_key(p))
        except OSError:
            keys.append("")
    return batch, keys


def _open_cache(options: ScanOptions):
    path = _cache_path(options)
    if path is None:
        return None
    from dedupe_gui.core.cache import FingerprintCache

    env = decoder_env()
    if options.cache_path is None:  # ours: a corrupt file there is moved aside
        return FingerprintCache.open_default(FINGERPRINT_VERSION, env)
    return FingerprintCache(path, FINGERPRINT_VERSION, env)


def _cache_path(options: ScanOptions) -> Path | None:
    """The fingerprint cache this scan uses (None: no cache)."""
    if not options.use_cache:
        return None
    from dedupe_gui.core.cache import default_cache_path

    return default_cache_path() if options.cache_path is None else Path(options.cache_path)


def _spill_dir(options: ScanOptions) -> str:
    """Where the matcher's thumbnails go past its RAM budget: next to the cache (on disk;
    the temp folder may be RAM), else the temp folder."""
    import tempfile

    path = _cache_path(options)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)  # the cache is made there next
            return str(path.parent)
        except OSError:
            pass
    return tempfile.gettempdir()


def decoder_env() -> str:
    """Which optional decoders are installed: a cached "cannot read" is valid only for them
    (installing the HEIF or RAW extra must make those files readable on the next scan)."""
    from importlib.util import find_spec

    return ",".join(name for name in ("pillow_heif", "rawpy") if find_spec(name) is not None)


def _keys_in_threads(entries: list[FileEntry]) -> list[str]:
    """Content keys for a few files (I/O bound: threads are right here)."""
    def one(e: FileEntry) -> str:
        try:
            return content_key(e.path, e.size)
        except OSError:
            return ""
    if len(entries) < 8:
        return [one(e) for e in entries]
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, entries))


def _batch_from_blobs(paths: list[str], blobs: list[bytes]) -> tuple[FingerprintBatch | None,
                                                                     list[int]]:
    """Rebuild cached fingerprints; a row that does not decode (damaged) is left out."""
    try:
        return FingerprintBatch.from_blobs(paths, blobs), list(range(len(paths)))
    except Exception:  # noqa: BLE001 - find the bad rows one by one
        good, parts = [], []
        for i, (p, b) in enumerate(zip(paths, blobs, strict=True)):
            try:
                parts.append(FingerprintBatch.from_blobs([p], [b]))
                good.append(i)
            except Exception:  # noqa: BLE001 - a damaged row is a cache miss
                continue
        return (FingerprintBatch.concat(parts) if parts else None), good


class _Scan:
    """State of one scan; ``run`` is the event generator."""

    def __init__(self, roots: Iterable[str | os.PathLike], options: ScanOptions,
                 executor: Executor | None, cancel: threading.Event | None,
                 worker: Worker) -> None:
        self.roots = list(roots)
        self.options = options
        self.executor = executor
        self.cancel = cancel or threading.Event()
        self.worker = worker
        self.matcher = None  # made once the walk has counted the files (stage-1 bounds)
        self.files: list[FileRecord] = []
        self.tables: list[PairTable] = []
        self.pending: list[tuple[FingerprintBatch, int]] = []  # (batch, its first index)
        self.pending_files = 0
        self.match_batch = 1  # files gathered before matching (set by run())
        self.skipped: list[tuple[str, str]] = []
        self.meter: ProgressMeter | None = None
        self.last_progress = 0.0

    # -- helpers --------------------------------------------------------------------------
    def skip(self, path: str, reason: str) -> FileSkipped:
        self.skipped.append((path, reason))
        return FileSkipped(path, reason)

    def progress(self, n: int, force: bool = False) -> Iterator[Progress]:
        assert self.meter is not None
        snap = self.meter.advance(n)
        now = time.monotonic()
        if force or now - self.last_progress >= PROGRESS_SECONDS:
            self.last_progress = now
            yield snap

    def accept(self, batch: FingerprintBatch, entries: dict[str, FileEntry],
               keys: Sequence[str]) -> Iterator[PairsFound]:
        """Give a batch global indices; match it against everything seen (at once, or once
        ``match_batch`` files have gathered) and emit the new pairs."""
        first = len(self.files)
        for path, w, h, key in zip(batch.paths, batch.width, batch.height, keys, strict=True):
            e = entries[path]
            self.files.append(FileRecord(path, e.size, e.mtime_ns, int(w), int(h), key))
        if len(batch.paths) == 0:
            return
        self.pending.append((batch, first))
        self.pending_files += len(batch.paths)
        if self.pending_files >= self.match_batch:
            yield from self.match()

    def match(self) -> Iterator[PairsFound]:
        """Match the gathered batches (consecutive indices) in one matcher call."""
        if not self.pending:
            return
        first = self.pending[0][1]
        batch = (self.pending[0][0] if len(self.pending) == 1
                 else FingerprintBatch.concat([b for b, _ in self.pending]))
        self.pending, self.pending_files = [], 0
        assert self.matcher is not None  # made by run()
        table = self.matcher.add(batch, first)
        if len(table):
            self.tables.append(table)
            f = self.files
            yield PairsFound(tuple(
                PairRecord(f[a], f[b], float(s), int(d))
                for a, b, s, d in zip(table.a.tolist(), table.b.tolist(),
                                      table.score.tolist(), table.distance.tolist(),
                                      strict=True)))

    # -- phases ---------------------------------------------------------------------------
    def cached(self, cache, entries: list[FileEntry]) -> tuple[
            list[tuple[FileEntry, str, bytes]], list[tuple[FileEntry, str]], list[FileEntry]]:
        """Split entries into cache hits ``(entry, key, blob)``, known-unreadable files
        ``(entry, reason)`` and misses."""
        hits: list[tuple[FileEntry, str, bytes]] = []
        unreadable: list[tuple[FileEntry, str]] = []
        misses: list[FileEntry] = []
        for e, row in zip(entries, cache.lookup(entries), strict=True):
            if row is None:
                misses.append(e)
            elif row[2] is not None:
                unreadable.append((e, row[2]))
            else:
                hits.append((e, row[0], row[1]))
        # A miss whose size the cache knows may be a renamed/moved/touched file.
        maybe = [e for e in misses if cache.has_size(e.size)]
        if maybe:
            keys = _keys_in_threads(maybe)
            found = cache.lookup_content(k for k in keys if k)
            moved = [(e, k, found[k]) for e, k in zip(maybe, keys, strict=True) if k in found]
            if moved:
                cache.store(moved)  # next time these are plain path hits
                hits.extend(moved)
                done = {e.path for e, _, _ in moved}
                misses = [e for e in misses if e.path not in done]
        return hits, unreadable, misses

    def run(self) -> Iterator[ScanEvent]:
        start = time.monotonic()
        opts = self.options
        walked = walk(self.roots, excludes=tuple(opts.excludes),
                      include_hidden=opts.include_hidden)
        entries = walked.files
        by_path = {e.path: e for e in entries}
        from dedupe_gui.core.matching import Matcher, stage1_bounds

        bounds = stage1_bounds(len(entries))  # once per scan: never switched mid-scan
        self.matcher = Matcher(mirror=opts.mirror, bounds=bounds, spill_dir=_spill_dir(opts))
        if bounds.large:
            self.match_batch = max(LARGE_MATCH_MIN, len(entries) // LARGE_MATCH_CALLS)
        yield ScanStarted(len(entries), large_library=bounds.large)
        self.meter = ProgressMeter(len(entries), phase="Scanning")
        for path, reason in walked.skipped:
            yield self.skip(path, reason)

        cache = _open_cache(opts)
        try:
            misses = entries
            if cache is not None:
                hits, unreadable, misses = self.cached(cache, entries)
                for e, reason in unreadable:
                    yield self.skip(e.path, reason)
                yield from self.progress(len(unreadable))
                for start_i in range(0, len(hits), HIT_SLICE):
                    if self.cancel.is_set():
                        break
                    part = hits[start_i:start_i + HIT_SLICE]
                    batch, good = _batch_from_blobs([e.path for e, _, _ in part],
                                                    [b for _, _, b in part])
                    if len(good) < len(part):  # damaged rows: decode those files again
                        bad = set(range(len(part))) - set(good)
                        misses = [part[i][0] for i in sorted(bad)] + misses
                    if batch is not None:
                        yield from self.accept(batch, by_path, [part[i][1] for i in good])
                    yield from self.progress(len(good))
            if misses and not self.cancel.is_set():
                yield from self.decode(misses, by_path, cache)
        finally:
            if cache is not None:
                cache.close()
        yield from self.match()  # what is still gathered (also after a cancel: it was found)
        yield from self.progress(0, force=True)
        pairs = PairTable.concat(self.tables)
        from dedupe_gui.core.matching import DEFAULT_THRESHOLD

        threshold = DEFAULT_THRESHOLD if opts.threshold is None else float(opts.threshold)
        yield ScanFinished(ScanResult(self.files, pairs, self.skipped,
                                      time.monotonic() - start, self.cancel.is_set(),
                                      threshold, large_library=bounds.large))

    def decode(self, misses: list[FileEntry], by_path: dict[str, FileEntry],
               cache) -> Iterator[ScanEvent]:
        opts = self.options
        results = run_chunks(self.worker, chunked((e.path for e in misses), opts.chunk_size),
                             executor=self.executor, workers=opts.workers,
                             max_in_flight=opts.max_in_flight, cancel=self.cancel)
        try:
            for chunk in results:
                for path, reason in chunk.failed:
                    yield self.skip(path, reason)
                if chunk.result is not None:
                    batch, keys = chunk.result
                    for path, reason in batch.skipped:
                        yield self.skip(path, reason)
                    if cache is not None:
                        # Remember content failures (not permission or vanishing ones) so a
                        # rescan need not start a pool for junk files.
                        cache.store_unreadable((by_path[p], r) for p, r in batch.skipped
                                               if p in by_path and os.access(p, os.R_OK))
                        cache.store((by_path[p], k, b) for p, k, b in
                                    zip(batch.paths, keys, batch.blobs(), strict=True) if k)
                    yield from self.accept(batch, by_path, keys)
                yield from self.progress(len(chunk.items))
        finally:
            results.close()  # cancelled or abandoned: drop pending work, stop an own pool


def scan(roots: Iterable[str | os.PathLike], options: ScanOptions | None = None, *,
         executor: Executor | None = None, cancel: threading.Event | None = None,
         worker: Worker = fingerprint_files) -> Iterator[ScanEvent]:
    """Scan ``roots`` (folders or files) for duplicate pictures, as a stream of events.

    Yields ``ScanStarted(total)``, then ``Progress`` (at most ~10/s), ``PairsFound`` (as soon
    as pairs are verified: cached files first), ``FileSkipped`` (with a reason), and finally
    exactly one ``ScanFinished(ScanResult)``; when ``cancel`` is set the result holds what
    was found so far and ``cancelled=True``. ``executor``: any concurrent.futures.Executor
    (None = a local spawn process pool with ``options.workers`` processes, owned here).
    ``worker``: the chunk task (a module-level function a spawned process can import).
    """
    return _Scan(roots, options or ScanOptions(), executor, cancel, worker).run()


def scan_result(roots: Iterable[str | os.PathLike], options: ScanOptions | None = None,
                **kwargs) -> ScanResult:
    """Run a scan to the end and return its result (for scripts and tests)."""
    result = None
    for event in scan(roots, options, **kwargs):
        if isinstance(event, ScanFinished):
            result = event.result
    assert result is not None
    return result
