"""``dedupe hotpixels``: JSON, export formats, errors; real frames, real worker processes."""
from __future__ import annotations

import json

import pytest

from dedupe_gui.cli import main
from tests.core.test_hotpixels_frames import make_set


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cam")
    truth = make_set(folder, "tif", n=12, height=60, width=80, per_kind=3)
    return folder, truth


def test_json_to_stdout_lists_the_defects(frames, capsys):
    folder, truth = frames
    assert main(["hotpixels", str(folder), "--json", "-", "--workers", "2"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["width"] == 80 and doc["height"] == 60 and doc["frames"] == 12
    assert set(doc) == {"width", "height", "frames", "camera", "defects", "skipped"}
    got = {(d["x"], d["y"], d["channel"], d["kind"]) for d in doc["defects"]}
    assert got == {(d.x, d.y, d.channel, d.kind) for d in truth}
    for d in doc["defects"]:
        assert set(d) == {"x", "y", "channel", "kind", "score", "frames"}


def test_formats_written_to_files(frames, tmp_path, capsys):
    folder, truth = frames
    out = tmp_path / "bad.txt"
    assert main(["hotpixels", str(folder), "--format", "dcraw", "--out", str(out),
                 "--workers", "1"]) == 0
    rows = [line.split() for line in out.read_text().splitlines() if not line.startswith("#")]
    assert {(int(c), int(r)) for c, r, _ in rows} == {(d.x, d.y) for d in truth}
    assert all(t == "0" for _, _, t in rows)
    rt = tmp_path / "x.badpixels"
    assert main(["hotpixels", str(folder), "--format", "rawtherapee", "--out", str(rt)]) == 0
    lines = rt.read_text().splitlines()
    assert lines[0] == "0"  # border offset line: image pixels, no Bayer border
    assert {tuple(map(int, ln.split())) for ln in lines[2:]} == {(d.x, d.y) for d in truth}
    csv_out = tmp_path / "d.csv"
    assert main(["hotpixels", str(folder), "--format", "csv", "--out", str(csv_out)]) == 0
    assert csv_out.read_text().splitlines()[0] == "x,y,channel,kind,score,frames"
    assert len(csv_out.read_text().splitlines()) == len(truth) + 1


def test_other_sizes_and_junk_are_skipped_with_reasons(frames, tmp_path, capsys):
    import shutil

    import cv2
    import numpy as np

    folder, _ = frames
    mixed = tmp_path / "mixed"
    shutil.copytree(folder, mixed)
    cv2.imwrite(str(mixed / "small.tif"), np.zeros((10, 10, 3), np.uint16))
    (mixed / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    assert main(["hotpixels", str(mixed), "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    reasons = {r["path"].rsplit("/", 1)[-1]: r["reason"] for r in doc["skipped"]}
    assert "differs from the analysed group" in reasons["small.tif"]
    assert "broken.jpg" in reasons
    assert doc["frames"] == 12


def test_bad_arguments(tmp_path, capsys):
    assert main(["hotpixels", str(tmp_path / "nope")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["hotpixels", str(tmp_path), "--format", "csv"]) == 2
    assert "--out" in capsys.readouterr().err
