"""Map re-projection speed and memory, measured side by side in one run.

    .venv/bin/python benchmarks/reproject_speed.py            # everything (~2-4 min)
    .venv/bin/python benchmarks/reproject_speed.py --quick    # skip the 21600x10800 cases

1. 2048x1024 equirectangular (Debian xplanet-images' earth.jpg, or a synthetic map) ->
   transverse Mercator 2048x1024, bilinear: end-to-end ``render`` (inverse maps + remap, in
   bands on 2 threads) against ``cv2.remap`` alone on precomputed maps, interleaved; plus the
   seed's per-pixel Python loop timed on a few rows and extrapolated.
2. Live preview: one slider step at preview size (676x678 from a 1440x720 copy), in core
   and through the real panel (offscreen Qt: slider move to picture shown).
3. 21600x10800 -> 21600x10800: each case in a fresh subprocess (threads 1 and 2 workers,
   processes with shared memory 2 workers): time and peak RSS (VmHWM, reset after the input
   is built), against input+output bytes.

The machine may be shared: every figure is the best and the median of several runs.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dedupe_gui.core.projection import make_projection  # noqa: E402
from dedupe_gui.core.reproject import (  # noqa: E402
    RenderSpec,
    SourceGeometry,
    inverse_maps,
    pad_source,
)
from dedupe_gui.core.reproject_bands import render  # noqa: E402

EARTH = Path("/usr/share/xplanet/images/earth.jpg")


def world_map(w: int, h: int) -> np.ndarray:
    if EARTH.exists():
        img = cv2.imread(str(EARTH))
        return img if img.shape[:2] == (h, w) else cv2.resize(img, (w, h))
    rng = np.random.default_rng(0)  # no xplanet-images: a smooth synthetic map
    small = rng.integers(0, 255, (h // 16 + 1, w // 16 + 1, 3), np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def stats(ts: list[float]) -> tuple[float, float]:
    return min(ts), statistics.median(ts)


def seed_per_pixel(w: int, h: int, rows: int = 4) -> float:
    """The seed's approach (math per pixel in Python), timed on a few rows, extrapolated."""
    t0 = time.perf_counter()
    out = np.zeros((rows, w), np.int64)
    for r in range(rows):
        y = (h / 2 - (r + 0.5)) / h * 2 * math.pi
        for c in range(w):
            x = (c + 0.5 - w / 2) / w * 2 * math.asinh(math.tan(math.radians(85)))
            lat = math.atan2(math.sin(y), math.hypot(math.sinh(x), math.cos(y)))
            lon = math.atan2(math.sinh(x), math.cos(y))
            out[r, c] = int((lon + math.pi) / (2 * math.pi) * w) + int((math.pi / 2 - lat) / math.pi * h)
    return (time.perf_counter() - t0) * h / rows


def small_case(reps: int) -> None:
    img = world_map(2048, 1024)
    src = SourceGeometry.guess(2048, 1024)
    spec = RenderSpec(make_projection("transverse-mercator"), src, 2048, 1024, interp="linear")
    padded = pad_source(img, spec)
    mx, my = inverse_maps(spec, 0, spec.height)
    remap_t, e2e2, e2e1, maps_t = [], [], [], []
    cpu = {"remap": [], "e2e2": [], "e2e1": []}
    for _ in range(3):  # warm-up
        render(img, spec, workers=2)
        cv2.remap(padded, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    for _ in range(reps):  # interleaved, so load changes hit all alike
        c0, t0 = time.process_time(), time.perf_counter()
        cv2.remap(padded, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        c1, t1 = time.process_time(), time.perf_counter()
        render(img, spec, workers=2)
        c2, t2 = time.process_time(), time.perf_counter()
        render(img, spec, workers=1)
        c3, t3 = time.process_time(), time.perf_counter()
        inverse_maps(spec, 0, spec.height)
        t4 = time.perf_counter()
        remap_t.append(t1 - t0)
        e2e2.append(t2 - t1)
        e2e1.append(t3 - t2)
        maps_t.append(t4 - t3)
        cpu["remap"].append(c1 - c0)
        cpu["e2e2"].append(c2 - c1)
        cpu["e2e1"].append(c3 - c2)
    out = render(img, spec, workers=2)
    ref = cv2.remap(padded, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    same = int(np.abs(out.astype(int) - ref.astype(int)).max())
    r_b, r_m = stats(remap_t)
    e_b, e_m = stats(e2e2)
    o_b, o_m = stats(e2e1)
    m_b, m_m = stats(maps_t)
    seed = seed_per_pixel(2048, 1024)
    print(f"source: {'xplanet earth.jpg' if EARTH.exists() else 'synthetic'} 2048x1024, "
          f"OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads), numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    def c(k):
        return f"{min(cpu[k]) * 1e3:8.2f}" if k else f"{'':8s}"

    print(f"{'case (ms; wall best / median of ' + str(reps) + ')':44s} {'best':>8s} {'median':>8s}"
          f" {'CPU best':>8s}")
    print(f"{'render end to end, 2 threads':44s} {e_b * 1e3:8.2f} {e_m * 1e3:8.2f} {c('e2e2')}")
    print(f"{'render end to end, 1 thread':44s} {o_b * 1e3:8.2f} {o_m * 1e3:8.2f} {c('e2e1')}")
    print(f"{'cv2.remap alone, precomputed float32 maps':44s} {r_b * 1e3:8.2f} {r_m * 1e3:8.2f}"
          f" {c('remap')}")
    print(f"{'inverse maps alone, one block, 1 thread':44s} {m_b * 1e3:8.2f} {m_m * 1e3:8.2f}")
    print(f"ratio end-to-end (2 threads) / remap alone: best {e_b / r_b:.2f}x, "
          f"median {e_m / r_m:.2f}x   (identical output: max diff {same})")
    print(f"seed's per-pixel Python (4 rows timed, extrapolated): {seed:.1f} s "
          f"= {seed / e_b:,.0f}x the best end-to-end")


def preview_case(reps: int) -> None:
    img = cv2.resize(world_map(2048, 1024), (1440, 720), interpolation=cv2.INTER_AREA)
    src = SourceGeometry.guess(1440, 720)
    print("\npreview update, 676x678 from a 1440x720 copy, 2 threads, graticule 30 "
          f"(ms, best / median of {reps}):")
    for name, opts in (("transverse-mercator", {}), ("oblique-mercator", {"pole": (40, 90)}),
                       ("orthographic", {"center": (30, 10)}), ("mollweide", {})):
        ts = []
        for i in range(reps):
            lat = -80 + (160 * i) // max(1, reps - 1)  # a moving slider: new spec each time
            o = dict(opts)
            if name == "orthographic":
                o["center"] = (lat, 10)
            elif name != "transverse-mercator":
                o["pole"] = (lat if name != "mollweide" else 90, 90)
            spec = RenderSpec(make_projection(name, **o), src, 676, 678, graticule=30)
            t0 = time.perf_counter()
            render(img, spec, workers=2)
            ts.append(time.perf_counter() - t0)
        b, m = stats(ts)
        print(f"  {name:22s} {b * 1e3:7.1f} {m * 1e3:7.1f}")


def panel_case(steps: int) -> None:
    """Slider moves through the real panel (offscreen Qt): request -> picture on screen."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from dedupe_gui.gui.projection_panel import ProjectionPanel

    app = QApplication.instance() or QApplication([])
    panel = ProjectionPanel()
    panel.resize(1280, 720)
    panel.show()

    def wait_for(cond, timeout=20.0):
        end = time.monotonic() + timeout
        while not cond() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.001)

    if not EARTH.exists():
        print("\npanel: skipped (no xplanet earth.jpg)")
        return
    panel.add_paths([EARTH])
    wait_for(lambda: panel.shown_rid > 0)
    print(f"\npanel preview updates, one slider step each, request to picture (ms; best / "
          f"median / max of {steps}):")
    for name in ("transverse-mercator", "oblique-mercator", "orthographic", "mollweide"):
        panel.proj_combo.setCurrentText(name)
        wait_for(lambda: panel.shown_rid == panel._rid)
        slider = panel.pole_lat if name in ("oblique-mercator", "mollweide") else panel.meridian
        ts = []
        for i in range(steps):
            t0 = time.perf_counter()
            slider.setValue(-60 + (120 * i) // max(1, steps - 1))
            wait_for(lambda: panel.shown_rid == panel._rid)
            ts.append(time.perf_counter() - t0)
        w, h = panel.preview_image.width(), panel.preview_image.height()
        print(f"  {name:22s} {w}x{h}: {min(ts) * 1e3:6.1f} {statistics.median(ts) * 1e3:6.1f} "
              f"{max(ts) * 1e3:6.1f}")
    panel.shutdown()


def vm_hwm() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def big_child(mode: str, workers: int, reps: int) -> None:
    """Runs in a fresh process: build the input, reset the peak, render, report JSON."""
    import resource

    w, h = 21600, 10800
    img = world_map(w, h)
    src = SourceGeometry.guess(w, h)
    spec = RenderSpec(make_projection("transverse-mercator"), src, w, h, interp="linear")
    base = vm_hwm()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        reset = True
    except OSError:
        reset = False
    times, cpus = [], []
    for _ in range(reps):
        c0, t0 = time.process_time(), time.perf_counter()
        out = render(img, spec, workers=workers, mode=mode)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        del out
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps({"times": times, "cpus": cpus, "peak": vm_hwm(), "base_peak": base, "reset": reset,
                      "in_bytes": img.nbytes, "out_bytes": img.nbytes,
                      "max_child_rss": children}))


def big_cases(reps: int) -> None:
    print("\n21600x10800 -> transverse Mercator 21600x10800, bilinear "
          f"(fresh process per case; s, best / median of {reps}):")
    results = {}
    for mode, workers in (("threads", 1), ("threads", 2), ("processes", 2)):
        proc = subprocess.run([sys.executable, __file__, "--child", mode, str(workers),
                               str(reps)], capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            print(f"  {mode} x{workers}: failed: {proc.stderr.strip()[-400:]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results[(mode, workers)] = r
        b, m = stats(r["times"])
        budget = 3 * (r["in_bytes"] + r["out_bytes"])
        extra = (f", largest worker RSS {r['max_child_rss'] / 2**30:.2f} GiB (counts the "
                 "shared pages it touched)") if mode == "processes" else ""
        cpu = (f" (CPU {min(r['cpus']):.2f} s in this process)" if mode == "threads" else
               " (CPU is in the workers)")
        print(f"  {mode:9s} x{workers}: {b:6.2f} {m:6.2f} s{cpu}   peak RSS {r['peak'] / 2**30:.2f} GiB"
              f" = {r['peak'] / (r['in_bytes'] + r['out_bytes']):.2f}x input+output "
              f"(budget 3x = {budget / 2**30:.2f} GiB){extra}")
    if ("threads", 1) in results and ("threads", 2) in results:
        one = min(results[("threads", 1)]["times"])
        two = min(results[("threads", 2)]["times"])
        print(f"  speed-up 1 -> 2 threads: {one / two:.2f}x")
    if ("threads", 2) in results and ("processes", 2) in results:
        t = min(results[("threads", 2)]["times"])
        p = min(results[("processes", 2)]["times"])
        print(f"  processes (shared memory) / threads, 2 workers: {p / t:.2f}x the time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the 21600x10800 cases")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--big-reps", type=int, default=3)
    ap.add_argument("--child", nargs=3, metavar=("MODE", "WORKERS", "REPS"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        big_child(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    small_case(args.reps)
    preview_case(max(5, args.reps // 2))
    panel_case(max(5, args.reps // 2))
    if not args.quick:
        big_cases(args.big_reps)


if __name__ == "__main__":
    main()
