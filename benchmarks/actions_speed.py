#!/usr/bin/env python3
"""What the safety of core/actions costs per file, side by side in one run.

    python benchmarks/actions_speed.py [--files 400] [--size 200000]

For each operation, (a) ours: Actions (checks, SQLite journal before and after, locating
the trash item, no-overwrite placement) inside one batch, as a bulk apply runs it; (b) bare:
the plain call with no safety (send2trash / os.rename / shutil.move). Then undo of the whole
batch. Uses a private trash (HOME and XDG_DATA_HOME in a temp dir) and, for the cross-device
move, /dev/shm when it is another filesystem. Prints ms per file and the ratio ours/bare.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_files(folder: Path, n: int, size: int) -> list[Path]:
    folder.mkdir(parents=True)
    out = []
    for i in range(n):
        p = folder / f"d{i % 5}" / f"IMG_{i // 5:04d}.jpg"  # names repeat across folders
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(os.urandom(size))
        out.append(p)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=400)
    ap.add_argument("--size", type=int, default=200_000)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="dedupe-actions-bench-"))
    other = None
    if os.path.isdir("/dev/shm") and os.stat("/dev/shm").st_dev != base.stat().st_dev:
        other = Path(tempfile.mkdtemp(dir="/dev/shm", prefix="dedupe-actions-bench-"))
    os.environ["HOME"] = str(base / "home")
    os.environ["XDG_DATA_HOME"] = str(base / "home" / ".local" / "share")
    (base / "home").mkdir()

    from dedupe_gui.core import trash
    from dedupe_gui.core.actions import Actions
    from dedupe_gui.core.results import FileRecord

    def rec(p: Path) -> FileRecord:
        st = p.stat()
        return FileRecord(str(p), st.st_size, st.st_mtime_ns, 1, 1)

    rows = []
    n = args.files
    try:
        act = Actions(base / "journal.db")
        cases = [("trash", lambda r, i: act.trash(r), lambda p, i: trash.send_to_trash(str(p))),
                 ("move, same filesystem", lambda r, i: act.move(r, base / "out_ours"),
                  lambda p, i: os.rename(p, base / "out_bare" / f"{i}.jpg"))]
        if other is not None:
            cases.append(("move, other filesystem", lambda r, i: act.move(r, other / "ours"),
                          lambda p, i: shutil.move(p, other / "bare" / f"{i}.jpg")))
        for k, (name, ours, bare) in enumerate(cases):
            mine = make_files(base / f"ours{k}", n, args.size)
            plain = make_files(base / f"bare{k}", n, args.size)
            for d in (base / "out_bare", (other / "bare") if other else None):
                if d is not None:
                    d.mkdir(exist_ok=True)
            recs = [rec(p) for p in mine]
            t0 = time.perf_counter()
            with act.batch(name):
                for i, r in enumerate(recs):
                    ours(r, i)
            t1 = time.perf_counter()
            for i, p in enumerate(plain):
                bare(p, i)
            t2 = time.perf_counter()
            act.undo()
            t3 = time.perf_counter()
            assert all(p.exists() for p in mine), "undo did not restore every file"
            rows.append((name, (t1 - t0) / n * 1e3, (t2 - t1) / n * 1e3, (t3 - t2) / n * 1e3))
        act.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)
        if other is not None:
            shutil.rmtree(other, ignore_errors=True)
    print(f"{n} files of {args.size} bytes, one batch each (ms per file)")
    print(f"{'operation':26} {'ours':>8} {'bare':>8} {'ours/bare':>10} {'undo':>8}")
    for name, ours_ms, bare_ms, undo_ms in rows:
        print(f"{name:26} {ours_ms:8.2f} {bare_ms:8.2f} {ours_ms / bare_ms:10.1f} {undo_ms:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
