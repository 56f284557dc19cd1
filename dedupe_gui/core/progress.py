"""Progress with rate and ETA, shared by every long-running tool.

The meter smooths the rate over a sliding time window, so the ETA follows the current speed
(cache hits early in a rescan are fast, decodes later are slow) instead of the average.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` units (files, frames, rows); ``rate`` per second; ``eta`` seconds."""

    done: int
    total: int
    rate: float
    eta: float | None
    elapsed: float
    phase: str = ""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def describe(self, unit: str = "files") -> str:
        """One line for a status bar or a terminal: ``1234/4500 files, 212/s, ETA 0:15``."""
        text = f"{self.done}/{self.total} {unit}"
        if self.rate > 0:
            text += f", {self.rate:.0f}/s"
        if self.eta is not None:
            m, s = divmod(int(round(self.eta)), 60)
            text += f", ETA {m}:{s:02d}"
        return f"{self.phase}: {text}" if self.phase else text


class ProgressMeter:
    """Turns ``advance(n)`` calls into Progress snapshots."""

    def __init__(self, total: int, phase: str = "", window: float = 5.0) -> None:
        self.total = total
        self.phase = phase
        self.done = 0
        self._window = window
        self._start = time.monotonic()
        self._samples: deque[tuple[float, int]] = deque([(self._start, 0)])

    def advance(self, n: int = 1) -> Progress:
        self.done += n
        now = time.monotonic()
        self._samples.append((now, self.done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window:
            self._samples.popleft()
        return self.snapshot()

    def snapshot(self) -> Progress:
        now = time.monotonic()
        t0, d0 = self._samples[0]
        span = now - t0
        rate = (self.done - d0) / span if span > 0 else 0.0
        left = max(0, self.total - self.done)
        eta = left / rate if rate > 0 else None
        return Progress(self.done, self.total, rate, eta, now - self._start, self.phase)
