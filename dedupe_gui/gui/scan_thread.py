"""The coordinator thread of one scan: it owns the loop over ``core.scan.scan`` and turns the
engine's events into a few batched Qt signals.

Why a QThread that loops (and not a QTimer polling futures): the engine's generator blocks
while it waits on the process pool; the GUI thread must never wait. Signals are batched by
time (~100 ms) so a flood of pairs costs the GUI one model insert per batch, progress goes
out at most ~10 times a second, and every signal carries the scan id so the panel drops the
late results of a cancelled scan. Every exception is caught in ``run()``: one escaping a
QThread would end the thread silently, and the user would wait forever.

With a cluster address the thread also connects to the Dask scheduler (in ``run()``: importing
Dask and connecting take seconds, never on the GUI thread), checks that the workers see the
folders, hands the cluster's executor to the scan and closes the connection at the end.
"""
from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from dedupe_gui.core.progress import Progress
from dedupe_gui.core.results import FileSkipped, PairsFound, ScanFinished, ScanStarted

BATCH_SECONDS = 0.1
PROGRESS_SECONDS = 0.1
BACKGROUND_NICE = 10  # niceness of the scan's worker processes
CLUSTER_TIMEOUT = 10.0  # seconds to reach a Dask scheduler and find a worker


def renice_workers(done: set[int]) -> None:
    """Put this process's worker processes in the background so the GUI thread gets the CPU
    first on a busy machine. Only the processes: a niced thread of THIS process would hold
    the GIL while descheduled and stall the GUI (priority inversion). ``done``: pids already
    handled (updated). Cheap; called with each progress signal, as pools replace workers."""
    import multiprocessing
    import os

    if not hasattr(os, "setpriority"):
        return
    for child in multiprocessing.active_children():
        pid = child.pid
        if pid is None or pid in done:
            continue
        done.add(pid)
        try:
            os.setpriority(os.PRIO_PROCESS, pid, max(os.getpriority(os.PRIO_PROCESS, pid),
                                                      BACKGROUND_NICE))
        except OSError:
            pass


ScanFunction = Callable[..., Iterator[object]]


def open_cluster(address: str, roots: Sequence[Path], options: object,
                 timeout: float = CLUSTER_TIMEOUT) -> tuple[object | None, str]:
    """Connect to the Dask scheduler at ``address`` and check that its workers see ``roots``:
    (Cluster, "") or (None, the message for the user). Raises nothing: it runs in the scan
    thread, where an escaping exception would end the thread silently."""
    from dedupe_gui.core.cluster import ClusterError, connect

    def explain(exc: BaseException) -> str:
        if isinstance(exc, ClusterError):
            message = f"Cluster: {exc}"
        else:
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            message = f"Cluster: cannot use {address!r}: {detail}"
        return message

    try:
        cluster = connect(address, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - ClusterError, or e.g. a malformed address
        return None, explain(exc)
    try:
        cluster.check_paths(str(r) for r in roots)
    except Exception as exc:  # noqa: BLE001 - ClusterError, or the connection dropped
        cluster.close()
        return None, explain(exc)
    # Enough chunks in flight to keep every worker thread busy (the local pool's rule).
    if getattr(options, "max_in_flight", 1) is None:
        options.max_in_flight = 2 * max(1, cluster.threads)  # type: ignore[attr-defined]
    return cluster, ""


def _default_scan() -> ScanFunction:
    from dedupe_gui.core.scan import scan

    return scan


class ScanThread(QThread):
    """Runs one scan; ``cancel()`` asks it to stop (what was found so far is kept)."""

    started_scan = Signal(int, int)  # scan id, files found
    pairs_found = Signal(int, object)  # scan id, list[PairRecord]
    files_skipped = Signal(int, object)  # scan id, list[(path, reason)]
    progress = Signal(int, object)  # scan id, Progress
    finished_scan = Signal(int, object)  # scan id, ScanResult
    failed = Signal(int, str)  # scan id, message

    def __init__(self, scan_id: int, roots: Sequence[Path], options: object,
                 scan_fn: ScanFunction | None = None, parent=None,
                 cluster_address: str = "", cluster_timeout: float = CLUSTER_TIMEOUT) -> None:
        super().__init__(parent)
        self.scan_id = scan_id
        self.roots = list(roots)
        self.options = options
        self.cluster_address = cluster_address.strip()
        self.cluster_timeout = cluster_timeout
        self._scan_fn = scan_fn
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:  # runs in the thread
        sid = self.scan_id
        pairs: list = []
        skipped: list[tuple[str, str]] = []
        last_flush = time.monotonic()
        last_progress = 0.0
        pending_progress: Progress | None = None

        def flush() -> None:
            nonlocal pairs, skipped, last_flush
            if pairs:
                self.pairs_found.emit(sid, pairs)
                pairs = []
            if skipped:
                self.files_skipped.emit(sid, skipped)
                skipped = []
            last_flush = time.monotonic()

        cluster = None
        try:
            extra: dict[str, object] = {}
            if self.cluster_address:
                cluster, message = open_cluster(self.cluster_address, self.roots, self.options,
                                                self.cluster_timeout)
                if cluster is None:
                    self.failed.emit(sid, message)
                    return
                extra["executor"] = cluster.executor
            scan_fn = self._scan_fn or _default_scan()
            for event in scan_fn(self.roots, self.options, cancel=self._cancel, **extra):
                now = time.monotonic()
                if isinstance(event, PairsFound):
                    pairs.extend(event.pairs)
                elif isinstance(event, Progress):
                    pending_progress = event
                elif isinstance(event, FileSkipped):
                    skipped.append((event.path, event.reason))
                elif isinstance(event, ScanStarted):
                    self.started_scan.emit(sid, event.total)
                elif isinstance(event, ScanFinished):
                    flush()
                    if pending_progress is not None:
                        self.progress.emit(sid, pending_progress)
                    self.finished_scan.emit(sid, event.result)
                    return
                if pending_progress is not None and now - last_progress >= PROGRESS_SECONDS:
                    self.progress.emit(sid, pending_progress)
                    pending_progress = None
                    last_progress = now
                if now - last_flush >= BATCH_SECONDS:
                    flush()
            flush()
            self.failed.emit(sid, "the scan ended without a result")
        except Exception as exc:  # noqa: BLE001 - nothing may escape a QThread
            flush()
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            self.failed.emit(sid, f"Scan failed: {detail}")
        finally:
            if cluster is not None:
                try:
                    cluster.close()
                except Exception:  # noqa: BLE001, S110 - closing a lost connection
                    pass
