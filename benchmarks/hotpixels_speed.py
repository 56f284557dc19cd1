#!/usr/bin/env python3
"""Hot-pixel analysis speed against merely decoding the same frames, side by side.

100 frames of 24 MP (6000x4000 JPEG q=90) are generated once into a cache folder from real
photographs (the plasma-workspace-wallpapers package: crops, scales and flips, with 60
injected defects). Each measurement runs in its own process so ``ru_maxrss`` of its children
is that run's peak memory per worker:

  decode   N workers: cv2.imread of every frame through run_chunks, same chunking
  analyse  N workers: the full find_hot_pixels run (with the compiled per-frame kernel)
  opencv   N workers: the same run with the kernel switched off (DEDUPE_FRAMESUMS=0): the
           OpenCV passes a machine without a C compiler runs

    python benchmarks/hotpixels_speed.py [--frames 100] [--repeat 2] [--cache DIR] [--pin]

``--pin``: a run with N workers is confined to N cores (sched_setaffinity, inherited by the
pool). Unpinned, a 1-worker run still has the second core for the coordinator's merging and
detection; pinned, "1 worker" means one core, and the speed-up is the parallel scaling.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

W, H = 6000, 4000
MODES = ("decode", "analyse", "opencv")


def generate(folder: Path, n: int) -> None:
    import cv2
    import numpy as np

    from tests.core.test_hotpixels_frames import inject, photo_paths, place_defects

    folder.mkdir(parents=True, exist_ok=True)
    have = sorted(folder.glob("frame_*.jpg"))
    if len(have) >= n:
        return
    rng = np.random.default_rng(7)
    sources = [cv2.imread(str(p)) for p in photo_paths()]
    defects = place_defects((H, W), 20, seed=8, spacing=8)
    for i in range(n):
        src = sources[i % len(sources)]
        h, w = src.shape[:2]
        ch = int(h * rng.uniform(0.7, 1.0))
        cw = min(w, ch * 3 // 2)
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        frame = cv2.resize(src[y:y + ch, x:x + cw], (W, H), interpolation=cv2.INTER_CUBIC)
        if rng.random() < 0.5:
            frame = np.ascontiguousarray(frame[:, ::-1])
        inject([frame], defects, 255, seed=9 + i)
        cv2.imwrite(str(folder / f"frame_{i:03d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
        print(f"\rgenerating {i + 1}/{n}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


def _decode_chunk(paths: list[str]) -> int:
    import cv2

    from dedupe_gui.core.parallel import worker_setup

    worker_setup()
    for p in paths:
        cv2.imread(p, cv2.IMREAD_UNCHANGED)
    return len(paths)


def one(mode: str, folder: Path, workers: int, n: int, pin: bool = False) -> dict:
    """One measurement in this process; the pool's children report their peak RSS."""
    if pin:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:workers]))
    from dedupe_gui.core import hotpixels
    from dedupe_gui.core.hotpixels import RunOptions, analyse, chunk_plan
    from dedupe_gui.core.parallel import chunked, run_chunks

    if mode == "analyse" and hotpixels._framesums is None:
        raise SystemExit("the compiled kernel is not built: pip install -e . with a C compiler")
    files = sorted(str(p) for p in folder.glob("frame_*.jpg"))[:n]
    start = time.perf_counter()
    if mode == "decode":
        per_chunk, _ = chunk_plan(len(files), workers, W * H * 3, RunOptions().frame_budget)
        done = sum(r.result or 0 for r in run_chunks(_decode_chunk, chunked(files, per_chunk),
                                                     workers=workers,
                                                     max_in_flight=workers + 1))
        extra = {"frames": done}
    else:
        result = analyse(files, RunOptions(workers=workers))
        kinds = {k: sum(d.kind == k for d in result.defects) for k in ("hot", "stuck", "dead")}
        extra = {"frames": result.frames, "defects": kinds}
    seconds = time.perf_counter() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    child_kb, self_kb = children.ru_maxrss, me.ru_maxrss
    cpu = children.ru_utime + children.ru_stime + me.ru_utime + me.ru_stime
    return {"mode": mode, "workers": workers, "seconds": seconds, "cpu": cpu,
            "parent_cpu": me.ru_utime + me.ru_stime,
            "worker_peak_mb": child_kb / 1024, "parent_peak_mb": self_kb / 1024, **extra}


def measure(mode: str, folder: Path, workers: int, n: int, pin: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DEDUPE_FRAMESUMS"}
    if mode == "opencv":
        env["DEDUPE_FRAMESUMS"] = "0"
    out = subprocess.run([sys.executable, __file__, "--one", mode, "--workers", str(workers),
                          "--frames", str(n), "--cache", str(folder)] + ["--pin"] * pin,
                         capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--cache", type=Path,
                    default=Path.home() / ".cache" / "dedupe-bench-hotpixels" / "24mp")
    ap.add_argument("--pin", action="store_true", help="confine N workers to N cores")
    ap.add_argument("--one", choices=MODES, help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(a.one, a.cache, a.workers, a.frames, a.pin)))
        return
    generate(a.cache, a.frames)
    best: dict[tuple[str, int], dict] = {}
    for rep in range(a.repeat):
        for workers in (1, 2):
            for mode in MODES:
                r = measure(mode, a.cache, workers, a.frames, a.pin)
                print(f"run {rep + 1}: {mode:7s} {workers} worker(s): {r['seconds']:6.1f} s "
                      f"(CPU {r['cpu']:.1f} s, parent {r['parent_cpu']:.1f} s), "
                      f"worker peak {r['worker_peak_mb']:.0f} MB, parent peak "
                      f"{r['parent_peak_mb']:.0f} MB {r.get('defects', '')}", flush=True)
                key = (mode, workers)
                if key not in best or r["seconds"] < best[key]["seconds"]:
                    best[key] = r
    print(f"\nbest of {a.repeat} ({a.frames} frames of {W}x{H} JPEG q=90, "
          f"{'N workers on N cores' if a.pin else 'unpinned'}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
    for workers in (1, 2):
        d, an, cv = (best[(m, workers)] for m in MODES)
        print(f"  {workers} worker(s): decode only {d['seconds']:.1f} s, analysis "
              f"{an['seconds']:.1f} s -> {an['seconds'] / d['seconds']:.2f}x decode "
              f"(target <= 1.3x; OpenCV passes {cv['seconds']:.1f} s -> "
              f"{cv['seconds'] / d['seconds']:.2f}x); analysis worker peak "
              f"{an['worker_peak_mb']:.0f} MB (decode-only worker {d['worker_peak_mb']:.0f} MB), "
              f"parent {an['parent_peak_mb']:.0f} MB")
    for mode in ("analyse", "opencv"):
        cpu = min(r["cpu"] for k, r in best.items() if k[0] == mode) / \
            min(r["cpu"] for k, r in best.items() if k[0] == "decode")
        print(f"  CPU seconds, {mode} / decode (insensitive to other load): {cpu:.2f}x")
    for mode in ("analyse", "opencv"):
        s1, s2 = best[(mode, 1)]["seconds"], best[(mode, 2)]["seconds"]
        print(f"  speed-up 1 -> 2 workers, {mode}: {s1 / s2:.2f}x (target >= 1.7x)")


if __name__ == "__main__":
    main()
