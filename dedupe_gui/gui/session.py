"""Saving and reopening review sessions, and exporting results (no Qt in here).

Why a session file: a scan of a big library takes minutes and the review takes longer; the
user must be able to close the window and come back to the same pairs and the same
decisions. The panel saves automatically to the user data dir (after a scan, after each
decision, on close) and reopens the last session on start. Writes go to a temporary file
and ``os.replace`` so a crash mid-write never leaves a half session.
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dedupe_gui.core.results import FileRecord, PairTable, ScanResult

FORMAT = "dedupe-gui-session"
VERSION = 1


@dataclass
class Session:
    """A result plus what the user decided: pair states by path pair, files gone by path."""

    result: ScanResult
    roots: list[str] = field(default_factory=list)
    threshold: float | None = None
    states: dict[tuple[str, str], int] = field(default_factory=dict)
    gone: dict[str, str] = field(default_factory=dict)


def to_json(session: Session) -> dict:
    r = session.result
    return {
        "format": FORMAT,
        "version": VERSION,
        "roots": session.roots,
        "threshold": session.threshold,
        "result": {
            "files": [[f.path, f.size, f.mtime_ns, f.width, f.height, f.content_key]
                      for f in r.files],
            "pairs": {"a": r.pairs.a.tolist(), "b": r.pairs.b.tolist(),
                      "score": [round(float(s), 3) for s in r.pairs.score.tolist()],
                      "distance": r.pairs.distance.tolist()},
            "skipped": [list(s) for s in r.skipped],
            "seconds": r.seconds,
            "cancelled": r.cancelled,
            "threshold": r.threshold,
        },
        "states": [[a, b, s] for (a, b), s in session.states.items()],
        "gone": session.gone,
    }


def from_json(data: dict) -> Session:
    """Raises ValueError on a file that is not a session of a version we read."""
    if data.get("format") != FORMAT or int(data.get("version", 0)) > VERSION:
        raise ValueError("not a dedupe-gui session (or from a newer version)")
    r = data["result"]
    files = [FileRecord(p, int(s), int(m), int(w), int(h), str(k))
             for p, s, m, w, h, k in r["files"]]
    pairs = r["pairs"]
    table = PairTable(np.asarray(pairs["a"], np.int32), np.asarray(pairs["b"], np.int32),
                      np.asarray(pairs["score"], np.float32),
                      np.asarray(pairs["distance"], np.int16))
    if len(table) and (table.a.max() >= len(files) or table.b.max() >= len(files)):
        raise ValueError("session pairs point past its file list")
    result = ScanResult(files, table, [tuple(s) for s in r["skipped"]], float(r["seconds"]),
                        bool(r["cancelled"]), float(r["threshold"]))
    return Session(result, list(data.get("roots", [])), data.get("threshold"),
                   {(a, b): int(s) for a, b, s in data.get("states", [])},
                   dict(data.get("gone", {})))


def save(session: Session, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(to_json(session), fh, separators=(",", ":"))
    os.replace(tmp, path)


def load(path: Path) -> Session:
    with open(path, encoding="utf-8") as fh:
        return from_json(json.load(fh))


STATE_NAMES = {0: "", 1: "kept both", 2: "not a duplicate"}


def export_rows(session: Session, threshold: float) -> list[dict]:
    """One dict per pair at ``threshold``: the rows of the CSV and JSON exports."""
    r = session.result
    n = r.pairs.count_at(threshold)
    rows = []
    for k in range(n):
        fa, fb = r.files[r.pairs.a[k]], r.files[r.pairs.b[k]]
        state = session.states.get((fa.path, fb.path), session.states.get((fb.path, fa.path), 0))
        rows.append({
            "score": round(float(r.pairs.score[k]), 2),
            "left": fa.path, "right": fb.path,
            "left_size": fa.size, "right_size": fb.size,
            "left_dimensions": f"{fa.width}x{fa.height}",
            "right_dimensions": f"{fb.width}x{fb.height}",
            "decision": STATE_NAMES.get(state, ""),
            "left_status": session.gone.get(fa.path, ""),
            "right_status": session.gone.get(fb.path, ""),
        })
    return rows


def export_csv(session: Session, threshold: float, path: Path) -> int:
    rows = export_rows(session, threshold)
    fields = ["score", "left", "right", "left_size", "right_size", "left_dimensions",
              "right_dimensions", "decision", "left_status", "right_status"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def export_json(session: Session, threshold: float, path: Path) -> int:
    rows = export_rows(session, threshold)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"threshold": threshold, "pairs": rows,
                   "skipped": [list(s) for s in session.result.skipped]}, fh, indent=1)
    return len(rows)
