"""Inputs of the hot-pixel tool: RAW handling without/with rawpy, Bayer planes, grey frames."""
from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from dedupe_gui.core import hotpixels
from dedupe_gui.core.hotpixels import (
    GroupSpec,
    RunOptions,
    UnreadableFrame,
    _raw_planes,
    _to_defect,
    analyse,
    probe,
)
from tests.core.test_hotpixels_frames import real_crops


def test_raw_without_rawpy_is_skipped_with_the_extra_named(tmp_path, monkeypatch):
    raw = tmp_path / "IMG_0001.NEF"
    raw.write_bytes(b"II*\x00" + b"\x00" * 100)
    monkeypatch.setitem(sys.modules, "rawpy", None)  # import rawpy now fails
    with pytest.raises(UnreadableFrame, match="'raw' extra"):
        probe(str(raw))


def test_broken_raw_is_skipped_with_a_reason(tmp_path):
    raw = tmp_path / "IMG_0002.CR2"
    raw.write_bytes(b"not a raw file at all" * 10)
    with pytest.raises(UnreadableFrame, match="RAW"):
        probe(str(raw))


def test_bayer_planes_and_coordinates_round_trip():
    mosaic = np.arange(6 * 8, dtype=np.uint16).reshape(6, 8)
    planes = _raw_planes(mosaic)
    assert planes.shape == (3, 4, 4)
    spec = GroupSpec("raw", planes.shape, "uint16", 1)
    names = ["R", "G", "G", "B"]
    for r in range(3):
        for c in range(4):
            for k in range(4):
                d = _to_defect((r, c, k, "hot", 1.0, 1), spec, names)
                assert mosaic[d.y, d.x] == planes[r, c, k]  # same sensor pixel
                assert d.channel == names[(d.y % 2) * 2 + d.x % 2]


def test_grey_frames_are_one_channel(tmp_path):
    crops = [cv2.cvtColor(c, cv2.COLOR_BGR2GRAY) for c in real_crops(12, 40, 56)]
    for f in crops:
        f[20, 30] = min(255, int(f[20, 30]) + 80)  # a hot pixel: brighter, still varying
        f[5, 7] = 0  # a dead one
        f[33, 44] = 255  # stuck at white: constant
    for i, f in enumerate(crops):
        cv2.imwrite(str(tmp_path / f"g{i:02d}.png"), f)
    # spill=False: chunk statistics travel pickled through the pipe (no tmpfs), as on
    # systems without /dev/shm
    result = analyse([tmp_path], RunOptions(workers=1, spill=False))
    got = {(d.x, d.y, d.channel, d.kind) for d in result.defects}
    assert {(30, 20, "L", "hot"), (7, 5, "L", "dead"), (44, 33, "L", "stuck")} <= got
    assert result.frames == 12 and result.source == "image"


def test_too_few_frames_gives_a_note_not_defects(tmp_path):
    for i, f in enumerate(real_crops(3, 30, 40)):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), f)
    result = analyse([tmp_path], RunOptions(workers=1))
    assert result.defects == [] and "at least" in result.note
    assert hotpixels.Thresholds().min_frames > 3
