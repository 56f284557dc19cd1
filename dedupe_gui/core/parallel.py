"""Running chunked work on an executor: bounded in flight, cancellable, crash-tolerant.

One mechanism for every tool (duplicate scan, hot pixels, map bands). Work is a stream of
chunks (lists of small picklable items); a worker function maps a whole chunk to a compact
result. Any ``concurrent.futures.Executor`` works (a local spawn process pool by default, or
a Dask ``Client.get_executor()``).

A decoder that crashes its worker process breaks a ``ProcessPoolExecutor``: every future in
flight then fails. The chunks that were in flight become suspects; the pool is replaced and
each suspect item is re-run alone and serially, so exactly the culprit is reported as failed
and every innocent item still gets its result.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_worker_ready = False


def worker_setup() -> None:
    """Make a worker process play well with its siblings: one OpenCV thread, no SIGINT.

    Idempotent and cheap; worker functions call it first, because a foreign executor (Dask)
    does not run our pool initializer.
    """
    global _worker_ready
    if _worker_ready:
        return
    _worker_ready = True
    import cv2

    cv2.setNumThreads(1)
    # A pool child: Ctrl+C is the parent's job. Only the main thread may set signals; a Dask
    # worker runs tasks in a thread (and its nanny handles signals).
    if (multiprocessing.parent_process() is not None
            and threading.current_thread() is threading.main_thread()):
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _die_with_parent()


def _die_with_parent() -> None:
    """Linux: have the kernel kill this pool child when its parent dies. A parent that is
    SIGKILLed (or crashes) cannot shut its pool down, and spawn children blocked on their
    task queue would otherwise stay behind forever, one set per killed run."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


def default_workers() -> int:
    """One worker per core we may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def thread_map(fn: Callable[[T], R], items: Iterable[T], threads: int | None = None) -> list[R]:
    """``[fn(x) for x in items]`` on a few threads, in order.

    For numpy/OpenCV work on bands of big arrays, which releases the GIL: the coordinator's
    own finishing steps would otherwise use one core while the others sit idle.
    """
    items = list(items)
    threads = min(threads or default_workers(), len(items))
    if threads <= 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(fn, items))


def make_process_pool(workers: int | None = None, max_tasks_per_child: int | None = 200
                      ) -> ProcessPoolExecutor:
    """A local pool with the spawn start method (never fork a process that may run Qt).

    Workers are recycled after ``max_tasks_per_child`` chunks so a leaking decoder cannot grow
    without bound.
    """
    return ProcessPoolExecutor(
        max_workers=workers or default_workers(),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=worker_setup,
        max_tasks_per_child=max_tasks_per_child,
    )


@dataclass
class ChunkResult(Generic[T, R]):
    """What came back for one chunk: its items, the worker's result, and crashed items.

    ``result`` is None when the chunk is a single item that could not be processed because it
    took its worker down (or raised outside the worker's own error handling); ``failed`` then
    names it with a reason.
    """

    items: list[T]
    result: R | None
    failed: list[tuple[T, str]] = field(default_factory=list)


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of at most ``size`` items, lazily."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BrokenProcessPool):
        return "the decoder crashed its worker process"
    return f"worker failed: {type(exc).__name__}: {exc}"


def run_chunks(
    fn: Callable[[list[T]], R],
    chunks: Iterable[list[T]],
    *,
    executor: Executor | None = None,
    workers: int | None = None,
    max_in_flight: int | None = None,
    cancel: threading.Event | None = None,
    poll_seconds: float = 0.1,
    heartbeat: bool = False,
) -> Iterator[ChunkResult[T, R]]:
    """Run ``fn`` over ``chunks`` and yield results as they complete (not in order).

    ``executor``: use this one (never shut down here); None = own a local process pool,
    replaced when it breaks. At most ``max_in_flight`` chunks are submitted at a time
    (default: 2 per worker), so a million files never become a million futures.
    ``cancel``: when set, pending work is dropped and the iterator ends; what was yielded
    stays valid. ``heartbeat``: also yield an empty ``ChunkResult([], None)`` whenever
    ``poll_seconds`` pass without a completion, so a caller with few, long chunks can report
    progress its workers publish elsewhere (the hot-pixel run does) while it waits.
    """
    own = executor is None
    pool: Executor = make_process_pool(workers) if own else executor  # type: ignore[assignment]
    n_workers = workers or getattr(pool, "_max_workers", None) or default_workers()
    limit = max_in_flight or 2 * n_workers
    source = iter(chunks)
    exhausted = False
    in_flight: dict[Future[R], list[T]] = {}
    suspects: deque[T] = deque()
    isolated: Future[R] | None = None  # a suspect running alone: its failure is its own

    def renew(exc: BaseException) -> None:
        nonlocal pool
        if isinstance(exc, BrokenProcessPool):
            if not own:
                raise exc
            pool.shutdown(wait=False, cancel_futures=True)
            pool = make_process_pool(workers)

    def cancelled() -> bool:
        return cancel is not None and cancel.is_set()

    try:
        while not cancelled():
            # Fill up, unless suspects are waiting: they run alone, one at a time.
            while not suspects and not exhausted and len(in_flight) < limit:
                chunk = next(source, None)
                if chunk is None:
                    exhausted = True
                    break
                if chunk:
                    in_flight[pool.submit(fn, chunk)] = chunk
            if suspects and not in_flight:
                item = suspects.popleft()
                isolated = pool.submit(fn, [item])
                in_flight[isolated] = [item]
            if not in_flight:
                break
            done, _ = wait(in_flight, timeout=poll_seconds, return_when=FIRST_COMPLETED)
            if heartbeat and not done:
                yield ChunkResult([], None)
            for fut in done:
                chunk = in_flight.pop(fut)
                try:
                    result = fut.result()
                except Exception as exc:  # noqa: BLE001 - any failure is isolated per item
                    renew(exc)
                    alone = fut is isolated or (
                        len(chunk) == 1 and not isinstance(exc, BrokenProcessPool))
                    if alone:
                        yield ChunkResult(chunk, None, [(chunk[0], _reason(exc))])
                    else:
                        suspects.extend(chunk)
                    continue
                yield ChunkResult(chunk, result)
    finally:
        for fut in in_flight:
            fut.cancel()
        if own:
            pool.shutdown(wait=not cancelled(), cancel_futures=True)
