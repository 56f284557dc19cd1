"""``dedupe scan`` as a user and a script see it: JSON/CSV output, exit codes, and a scan
SIGKILLed in the middle followed by a rescan over the same cache."""
from __future__ import annotations

import csv
import glob
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dedupe_gui.cli import main
from tests.core.test_scan import make_library, photo, write

DEDUPE = [sys.executable, "-c", "import sys; from dedupe_gui.cli import main; sys.exit(main())"]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-library")
    return root, make_library(root)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["scan", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def answer_pairs(doc: dict) -> set[frozenset[str]]:
    return {frozenset((p["a"], p["b"])) for p in doc["pairs"]}


def test_json_to_stdout_has_the_documented_shape(library, capsys, tmp_path):
    root, truth = library
    code, out, err = run_cli(capsys, str(root), "--json", "-", "--workers", "2",
                             "--cache", str(tmp_path / "c.sqlite"))
    assert code == 0, err
    doc = json.loads(out)  # nothing but the JSON on stdout
    assert set(doc) == {"files", "seconds", "pairs", "groups", "skipped"}
    assert doc["files"] == 12 and doc["seconds"] > 0
    assert answer_pairs(doc) == truth["pairs"]
    for p in doc["pairs"]:
        assert set(p) == {"a", "b", "score", "distance"}
        assert os.path.isabs(p["a"]) and os.path.isabs(p["b"])
        assert 0 <= p["score"] <= 100 and isinstance(p["distance"], int)
    scores = [p["score"] for p in doc["pairs"]]
    assert scores == sorted(scores, reverse=True)
    assert set(map(frozenset, doc["groups"])) == truth["pairs"] and len(doc["groups"]) == 6
    assert sorted(s["path"] for s in doc["skipped"]) == truth["junk"]
    assert all(s["reason"] for s in doc["skipped"])
    assert "pictures found" in err  # progress/status goes to stderr


def test_threshold_selects_pairs_and_csv_and_summary(library, capsys, tmp_path):
    root, truth = library
    cache = str(tmp_path / "c.sqlite")
    js, cs = tmp_path / "out.json", tmp_path / "out.csv"
    code, out, _ = run_cli(capsys, str(root), "--json", str(js), "--csv", str(cs),
                           "--cache", cache, "--workers", "1")
    assert code == 0
    doc = json.loads(js.read_text())
    rows = list(csv.DictReader(io.StringIO(cs.read_text())))
    assert [(r["a"], r["b"]) for r in rows] == [(p["a"], p["b"]) for p in doc["pairs"]]
    assert f"{len(doc['pairs'])} pairs" in out and "skipped" in out  # human summary
    # A stricter threshold keeps a prefix: only pairs at or above it.
    cut = sorted(p["score"] for p in doc["pairs"])[len(doc["pairs"]) // 2]
    code, out, _ = run_cli(capsys, str(root), "--json", "-", "--cache", cache,
                           "--threshold", str(cut))
    strict = json.loads(out)
    assert strict["pairs"] and all(p["score"] >= cut for p in strict["pairs"])
    assert len(strict["pairs"]) < len(doc["pairs"])
    key = answer_pairs  # scores are rounded to 2 decimals in JSON: compare around the cut
    assert key({"pairs": [p for p in doc["pairs"] if p["score"] > cut + 0.01]}) \
        <= key(strict) <= key({"pairs": [p for p in doc["pairs"] if p["score"] >= cut - 0.01]})


def test_exclude_and_hidden(library, capsys, tmp_path):
    root, _ = library
    code, out, _ = run_cli(capsys, str(root), "--json", "-", "--no-cache",
                           "--exclude", "junk", "--exclude", "*.png")
    doc = json.loads(out)
    assert code == 0 and doc["skipped"] == []
    assert all(not p["b"].endswith(".png") and not p["a"].endswith(".png")
               for p in doc["pairs"])
    assert doc["files"] == 9  # 6 originals + 3 JPEG copies


def test_usage_errors_exit_2(tmp_path, capsys):
    code, _, err = run_cli(capsys, str(tmp_path / "missing"))
    assert code == 2 and "no such file or folder" in err
    with pytest.raises(SystemExit) as exc:
        main(["scan", str(tmp_path), "--cache", "x", "--no-cache"])
    assert exc.value.code == 2
    bad = tmp_path / "notes.txt"
    bad.write_text("precious")
    code, _, err = run_cli(capsys, str(tmp_path), "--cache", str(bad))
    assert code == 2 and "cache" in err and bad.read_text() == "precious"


def _children(pid: int) -> list[int]:
    out = []
    for task in glob.glob(f"/proc/{pid}/task/*/children"):
        with open(task) as fh:
            out += [int(c) for c in fh.read().split()]
    return out


def _gone(pids: list[int], within: float) -> bool:
    """True when none of ``pids`` runs any more (zombies of a dead parent count as gone)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = []
        for p in pids:
            try:
                with open(f"/proc/{p}/stat") as fh:
                    if fh.read().rsplit(")", 1)[1].split()[0] != "Z":
                        alive.append(p)
            except FileNotFoundError:
                pass
        if not alive:
            return True
        time.sleep(0.05)
    return False


def test_sigkill_mid_scan_then_rescan(tmp_path):
    """Kill -9 the whole `dedupe scan` while it writes the cache; the cache stays sound and
    a rescan completes with the right pairs, reusing what was committed."""
    root = tmp_path / "lib"
    expected = set()
    for i in range(60):
        img = photo(500 + i, 400, 300)
        a = write(root / "a" / f"{i:03d}.jpg", img)
        if i % 6 == 0:
            b = write(root / "b" / f"{i:03d}.png", img)
            expected.add(frozenset((str(a), str(b))))
    cache = tmp_path / "c.sqlite"
    cmd = [*DEDUPE, "scan", str(root), "--cache", str(cache),
           "--workers", "1", "--json", str(tmp_path / "first.json")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rows = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if cache.exists():
                try:
                    with sqlite3.connect(cache, timeout=5) as db:
                        rows = db.execute("SELECT COUNT(*) FROM fingerprints").fetchone()[0]
                except sqlite3.OperationalError:  # schema not created yet
                    rows = 0
                if rows:
                    break
            time.sleep(0.01)
        running = proc.poll() is None
        workers = _children(proc.pid)  # the pool's processes (and its resource tracker)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert running, "the scan ended before it could be killed"
    # the pool's workers die with it (PR_SET_PDEATHSIG), they are not left behind
    assert workers and _gone(workers, within=10.0), "pool workers outlived the killed scan"
    assert 0 < rows < 70
    assert not (tmp_path / "first.json").exists()
    with sqlite3.connect(cache) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        committed = db.execute("SELECT COUNT(*) FROM fingerprints").fetchone()[0]
    assert 0 < committed < 70

    out = subprocess.run(cmd[:-2] + ["--json", "-"], capture_output=True, text=True,
                         timeout=240)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["files"] == 70 and doc["skipped"] == []
    assert answer_pairs(doc) == expected
    with sqlite3.connect(cache) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM fingerprints").fetchone()[0] == 70


def test_progress_lines_on_a_pipe(library, tmp_path):
    root, _ = library
    out = subprocess.run([*DEDUPE, "scan", str(root),
                          "--no-cache", "--workers", "1"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0
    assert "\r" not in out.stderr and "\x1b" not in out.stderr  # no bar redraws on a pipe
    assert "17/17 files" in out.stderr
    assert "pictures in" in out.stdout
    assert Path(root).exists()
