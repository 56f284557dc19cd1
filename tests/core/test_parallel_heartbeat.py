"""run_chunks' opt-in heartbeat, on a real process pool."""
from __future__ import annotations

import time

from dedupe_gui.core.parallel import run_chunks


def _slow_sum(items: list[int]) -> int:
    time.sleep(0.6)
    return sum(items)


def test_heartbeats_arrive_while_long_chunks_run_and_results_are_complete():
    got = list(run_chunks(_slow_sum, [[1, 2], [3]], workers=2, poll_seconds=0.05,
                          heartbeat=True))
    beats = [r for r in got if not r.items]
    done = [r for r in got if r.items]
    assert len(beats) >= 3 and all(r.result is None and not r.failed for r in beats)
    assert sorted(r.result for r in done) == [3, 3]


def test_no_heartbeat_unless_asked():
    got = list(run_chunks(_slow_sum, [[5]], workers=1, poll_seconds=0.05))
    assert [(r.items, r.result) for r in got] == [([5], 5)]
