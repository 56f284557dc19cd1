#!/usr/bin/env python3
"""Run the benchmarks one after another (``make bench``), each in its own process.

Those that need a photo corpus run only when one is given (built by the generators in the
project's shared bench folder: make_corpus.py for accuracy, make_scale_corpus.py for speed):

    python benchmarks/run_all.py [--corpus DIR] [--scale DIR]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, help="labelled corpus (make_corpus.py)")
    ap.add_argument("--scale", type=Path, help="scale corpus of 12 MP JPEGs (make_scale_corpus.py)")
    args = ap.parse_args()
    runs: list[list[str]] = [
        ["slider_speed.py"],
        ["reproject_speed.py", "--quick"],
        ["actions_speed.py"],
        ["candidates_scale.py", "--n", "1000000", "--radius", "8"],
    ]
    if args.corpus:
        runs += [["accuracy.py", str(args.corpus)], ["accuracy.py", str(args.corpus), "--mirror"]]
    if args.scale:
        runs += [["scan_speed.py", str(args.scale), "--workers", "2"]]
    failed = 0
    for script, *rest in runs:
        print(f"\n=== {script} {' '.join(rest)}", flush=True)
        failed += subprocess.run([sys.executable, str(HERE / script), *rest]).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
