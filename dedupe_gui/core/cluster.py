"""Fingerprinting on a Dask distributed cluster: an Executor the scan already knows how to use.

The scan takes any ``concurrent.futures.Executor``; Dask's ``Client.get_executor()`` is one.
Workers fingerprint chunks of paths and send compact arrays back, exactly as local pool
processes do, so the scan, the matcher and the cache stay on this machine (the client).
Workers must see the pictures under the same paths (shared storage: NFS, SMB, a cluster
file system); ``Cluster.check_paths`` asks every worker before the scan starts, so a
missing mount is one clear error instead of thousands of "skipped" files.

Dask is the optional ``cluster`` extra: importing this module costs nothing, ``connect``
imports it and explains how to install it when it is missing.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

INSTALL_HINT = "pip install 'dedupe-gui[cluster]'  (or: pip install 'dask[distributed]')"


class ClusterError(RuntimeError):
    """The cluster cannot be used: extra missing, scheduler unreachable, no workers, no paths."""


def _path_visible(path: str) -> bool:
    """Runs on each worker: can this worker see ``path``? (module level: picklable)."""
    return os.path.exists(path)


@dataclass
class Cluster:
    """A connection to a Dask scheduler: the executor to pass to ``scan`` and its size."""

    client: Any  # distributed.Client
    executor: Executor

    @property
    def threads(self) -> int:
        """Worker threads in the cluster now (each runs one chunk at a time)."""
        return int(sum(self.client.nthreads().values()))

    def check_paths(self, paths: Iterable[str]) -> None:
        """Raise ClusterError unless every worker sees every path (shared storage)."""
        for path in paths:
            seen = self.client.run(_path_visible, str(path))
            blind = sorted(addr for addr, ok in seen.items() if not ok)
            if blind:
                raise ClusterError(
                    f"{len(blind)} of {len(seen)} workers cannot see {path} ({', '.join(blind[:3])}"
                    f"{', ...' if len(blind) > 3 else ''}): cluster workers read the pictures "
                    "themselves, so the folders must be on shared storage mounted at the same "
                    "path on every worker")

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(address: str, timeout: float = 10.0, min_workers: int = 1) -> Cluster:
    """Connect to the scheduler at ``address`` (``tcp://host:8786``) and wait for workers."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise ClusterError(f"scanning on a Dask cluster needs Dask distributed, which is "
                           f"not installed: "
                           f"{INSTALL_HINT}") from exc
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    try:
        client.wait_for_workers(min_workers, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        client.close()
        raise ClusterError(f"the Dask scheduler at {address} has no workers "
                           f"(start some with: dask worker {address})") from exc
    # pure=False: Dask would otherwise key a task by its arguments and hand back an old
    # result for the same paths (a rescan after files changed, a chunk retried alone).
    return Cluster(client, client.get_executor(pure=False))


def cluster_executor(address: str, timeout: float = 10.0) -> Executor:
    """Just the executor (``Client(address).get_executor()``) for callers that keep no handle;
    the connection lives as long as the process. Prefer ``connect`` (closes cleanly)."""
    return connect(address, timeout).executor
