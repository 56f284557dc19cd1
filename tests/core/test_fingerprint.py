"""Fingerprints: the worker function, the cache blobs, orientation-consistent hashes."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from dedupe_gui.core import fingerprint as fp
from dedupe_gui.core.fingerprint import FingerprintBatch, fingerprint_chunk
from tests.core.imagegen import photo, save


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("fp")
    good = [save(d / f"p{i}.jpg", photo(10 + i, 640, 480)) for i in range(3)]
    (d / "empty.jpg").write_bytes(b"")
    (d / "text.png").write_text("hello\n")
    return good, [str(d / "empty.jpg"), str(d / "text.png")]


def test_fingerprint_chunk_arrays_and_skips(files):
    good, bad = files
    batch = fingerprint_chunk([good[0], bad[0], good[1], bad[1], good[2]])
    assert batch.paths == good
    assert batch.width.dtype == np.int32 and batch.width.tolist() == [640] * 3
    assert batch.height.tolist() == [480] * 3
    assert batch.hashes.dtype == np.uint64 and batch.hashes.shape == (3, fp.HASH_WORDS)
    assert batch.features.dtype == np.uint8 and batch.features.shape == (3, fp.FEATURES)
    assert dict(batch.skipped) == {bad[0]: "empty file", bad[1]: "not an image (text)"}
    assert len(set(batch.hashes[:, 0].tolist())) == 3  # different pictures, different hashes


def test_blobs_round_trip_and_concat(files):
    good, _ = files
    a = fingerprint_chunk(good[:2])
    b = fingerprint_chunk(good[2:])
    blobs = a.blobs()
    assert len(blobs) == 2 and all(isinstance(x, bytes) for x in blobs)
    back = FingerprintBatch.from_blobs(a.paths, blobs)
    for name in ("width", "height", "hashes", "features"):
        assert np.array_equal(getattr(back, name), getattr(a, name))
        assert getattr(back, name).dtype == getattr(a, name).dtype
    both = FingerprintBatch.concat([a, b])
    assert both.paths == good and both.hashes.shape == (3, fp.HASH_WORDS)
    with pytest.raises(ValueError):
        FingerprintBatch.from_blobs(a.paths, [blobs[0], blobs[1][:-1]])
    assert len(FingerprintBatch.from_blobs([], [])) == 0


def test_worker_function_survives_a_process_pool(files):
    from dedupe_gui.core.parallel import run_chunks

    good, bad = files
    results = list(run_chunks(fingerprint_chunk, [good[:2], [bad[0], good[2]]], workers=2))
    merged = FingerprintBatch.concat([r.result for r in results])
    assert sorted(merged.paths) == sorted(good)
    assert [p for p, _ in merged.skipped] == [bad[0]]


@pytest.mark.parametrize("o", range(8))
def test_orientation_words_match_transformed_pictures(o):
    grey = cv2.cvtColor(photo(20, 480, 320), cv2.COLOR_BGR2GRAY)
    hashes, _ = fp.fingerprint_pixels(grey)
    turned, _ = fp.fingerprint_pixels(np.ascontiguousarray(fp.orient(grey, o)))
    # word o of the picture describes the picture turned by o: its own word 0
    assert int(np.bitwise_count(hashes[o] ^ turned[0])) <= 2
    # and turning back: the inverse orientation of the turned picture is the original
    inv = fp.inverse_orientation(o)
    assert np.array_equal(fp.orient(fp.orient(grey, o), inv), grey)
    assert int(np.bitwise_count(turned[inv] ^ hashes[0])) <= 2
