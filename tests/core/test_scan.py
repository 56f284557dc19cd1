"""The scan pipeline end to end, on generated pictures, real process pools and real SQLite.

Worker functions used as test doubles are defined at module level here so spawned pool
processes can import them (they wrap the real worker; the pool and the crash are real).
"""
from __future__ import annotations

import os
import signal
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

from dedupe_gui.core.cache import FingerprintCache
from dedupe_gui.core.fingerprint import FINGERPRINT_VERSION
from dedupe_gui.core.progress import Progress
from dedupe_gui.core.results import FileSkipped, PairsFound, ScanFinished, ScanStarted
from dedupe_gui.core.scan import ScanOptions, fingerprint_files, scan, scan_result

# -- generated pictures ---------------------------------------------------------------------


def photo(seed: int, w: int = 480, h: int = 360) -> np.ndarray:
    """A photo-like picture: smooth colour fields, shapes, texture; distinct per seed."""
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.random((5, 7, 3)).astype(np.float32), (w, h),
                     interpolation=cv2.INTER_CUBIC)
    img = np.clip(img * 255, 0, 255).astype(np.uint8)
    for _ in range(12):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        if rng.random() < 0.5:
            cv2.circle(img, centre, int(rng.integers(10, h // 3)), colour, -1)
        else:
            cv2.rectangle(img, centre, (int(rng.integers(0, w)), int(rng.integers(0, h))),
                          colour, -1)
    img = cv2.GaussianBlur(img, (0, 0), 2)
    noise = rng.normal(0, 6, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def write(path: Path, img: np.ndarray, quality: int = 92) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if path.suffix.lower() in (".jpg", ".jpeg") \
        else []
    assert cv2.imwrite(str(path), img, params)
    return path


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims a huge size (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = zlib.compress(b"\0" * 100)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + struct.pack(">I", len(idat)) + b"IDAT"
            + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat)) + b"\0\0\0\0IEND\xaeB`\x82")


def make_library(root: Path, n_originals: int = 6) -> dict:
    """Originals with near-duplicate copies (resized + recompressed, PNG) and junk files.

    Returns {"pairs": set of frozenset(path, path) that must be found, "junk": [paths]}."""
    pairs: set[frozenset[str]] = set()
    for i in range(n_originals):
        img = photo(1000 + i)
        orig = write(root / "photos" / f"IMG_{i:04d}.jpg", img)
        if i % 2 == 0:
            small = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2),
                               interpolation=cv2.INTER_AREA)
            copy = write(root / "export" / f"small {i}.jpg", small, quality=60)
        else:
            copy = write(root / "export" / f"copy {i}.png", img)
        pairs.add(frozenset((str(orig), str(copy))))
    junk = root / "junk"
    junk.mkdir()
    good = (root / "photos" / "IMG_0000.jpg").read_bytes()
    files = {
        "empty.jpg": b"",
        "truncated.jpg": good[: len(good) // 3],
        "random.jpg": np.random.default_rng(5).integers(0, 256, 5000, np.uint8).tobytes(),
        "notes.png": b"this is not an image\n" * 20,
        "bomb.png": png_header_claiming(60000, 60000),
    }
    for name, data in files.items():
        (junk / name).write_bytes(data)
    return {"pairs": pairs, "junk": sorted(str(junk / n) for n in files)}


def found_pairs(result) -> set[frozenset[str]]:
    paths = [f.path for f in result.files]
    k = result.pairs.count_at(result.threshold)
    return {frozenset((paths[a], paths[b])) for a, b in
            zip(result.pairs.a[:k].tolist(), result.pairs.b[:k].tolist(), strict=True)}


class CountingExecutor(ThreadPoolExecutor):
    """A real thread pool that counts the chunks submitted (to see what the cache saved)."""

    def __init__(self) -> None:
        super().__init__(2)
        self.submitted: list[list[str]] = []

    def submit(self, fn, /, *args, **kwargs):
        self.submitted.append(list(args[0]))
        return super().submit(fn, *args, **kwargs)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("library")
    return root, make_library(root)


# -- workers that misbehave (module level: importable by spawned processes) -----------------


def killing_worker(paths: list[str]):
    """Takes its own process down with SIGKILL on a file named 'kill-me'."""
    if any("kill-me" in os.path.basename(p) for p in paths):
        os.kill(os.getpid(), signal.SIGKILL)
    return fingerprint_files(paths)


def vanishing_worker(paths: list[str]):
    """Deletes files named 'vanish*' just before fingerprinting: gone between walk and decode."""
    for p in paths:
        if os.path.basename(p).startswith("vanish"):
            os.unlink(p)
    return fingerprint_files(paths)


# -- tests ----------------------------------------------------------------------------------


def test_scan_finds_the_copies_and_skips_junk_with_reasons(library, tmp_path):
    root, truth = library
    events = list(scan([root], ScanOptions(workers=2, chunk_size=4,
                                           cache_path=tmp_path / "c.sqlite")))
    assert isinstance(events[0], ScanStarted) and isinstance(events[-1], ScanFinished)
    assert sum(isinstance(e, ScanFinished) for e in events) == 1
    result = events[-1].result
    assert events[0].total == 12 + 5
    assert not result.cancelled
    assert found_pairs(result) == truth["pairs"]
    skipped = dict(result.skipped)
    assert sorted(skipped) == truth["junk"]
    assert all(reason.strip() for reason in skipped.values())
    assert "60000" in skipped[str(root / "junk" / "bomb.png")]
    assert "empty" in skipped[str(root / "junk" / "empty.jpg")]
    # The stream told the same story as the result.
    streamed = {frozenset((p.a.path, p.b.path)) for e in events if isinstance(e, PairsFound)
                for p in e.pairs if p.score >= result.threshold}
    assert streamed == truth["pairs"]
    assert sorted(e.path for e in events if isinstance(e, FileSkipped)) == truth["junk"]
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress and progress[-1].done == progress[-1].total == 17
    assert len(progress) <= 10 * result.seconds + 3
    # File records: absolute paths, sizes, displayed dimensions, content keys.
    by_path = {f.path: f for f in result.files}
    rec = by_path[str(root / "photos" / "IMG_0001.jpg")]
    assert (rec.width, rec.height) == (480, 360)
    assert rec.size == os.path.getsize(rec.path) and rec.content_key.startswith(f"{rec.size}:")


def test_rescan_comes_from_the_cache_and_renames_keep_fingerprints(library, tmp_path):
    root, truth = library
    work = tmp_path / "lib"
    import shutil

    shutil.copytree(root, work)
    cache = tmp_path / "c.sqlite"
    opts = ScanOptions(cache_path=cache, chunk_size=4)
    first = scan_result([work], opts, executor=CountingExecutor())
    assert len(first.files) == 12

    ex = CountingExecutor()
    again = scan_result([work], opts, executor=ex)
    assert ex.submitted == []  # all fingerprints and all junk verdicts from the cache
    assert found_pairs(again) == found_pairs(first)
    assert sorted(again.skipped) == sorted(first.skipped)

    # Rename one file, move another into a new folder, rewrite a third.
    (work / "photos" / "IMG_0001.jpg").rename(work / "photos" / "renamed.jpg")
    (work / "moved").mkdir()
    (work / "export" / "small 2.jpg").rename(work / "moved" / "small 2.jpg")
    write(work / "photos" / "IMG_0003.jpg", photo(77))
    ex = CountingExecutor()
    third = scan_result([work], opts, executor=ex)
    assert [Path(p).name for chunk in ex.submitted for p in chunk] == ["IMG_0003.jpg"]
    got = found_pairs(third)
    assert frozenset((str(work / "photos" / "renamed.jpg"),
                      str(work / "export" / "copy 1.png"))) in got
    assert frozenset((str(work / "photos" / "IMG_0002.jpg"),
                      str(work / "moved" / "small 2.jpg"))) in got
    assert not any(str(work / "photos" / "IMG_0003.jpg") in p for p in got)
    assert len(got) == len(truth["pairs"]) - 1


def test_fingerprint_version_change_invalidates_the_cache(library, tmp_path):
    root, _ = library
    cache = tmp_path / "c.sqlite"
    with FingerprintCache(cache, FINGERPRINT_VERSION + 1) as c:
        from dedupe_gui.core.files import walk

        c.store((e, f"{e.size}:x", b"stale") for e in walk([root]).files)
    ex = CountingExecutor()
    result = scan_result([root], ScanOptions(cache_path=cache), executor=ex)
    assert sum(len(c) for c in ex.submitted) == 17
    assert len(result.files) == 12


def test_no_cache_writes_nothing(library, tmp_path, monkeypatch):
    root, truth = library
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    result = scan_result([root], ScanOptions(use_cache=False), executor=CountingExecutor())
    assert found_pairs(result) == truth["pairs"]
    assert not (tmp_path / "xdg").exists()


def test_default_cache_lives_in_the_user_cache_dir(library, tmp_path, monkeypatch):
    root, _ = library
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    scan_result([root], ScanOptions(), executor=CountingExecutor())
    db = tmp_path / "xdg" / "dedupe-gui" / "fingerprints.sqlite"
    with FingerprintCache(db, FINGERPRINT_VERSION) as c:
        assert len(c) == 12


def test_cancel_keeps_partial_results(tmp_path):
    root = tmp_path / "many"
    for i in range(40):
        write(root / f"p{i:03d}.jpg", photo(i, 320, 240))
    cancel = threading.Event()
    seen = 0
    result = None

    def paced(paths):  # Progress comes at most every 0.1 s: the scan must outlast that
        time.sleep(0.03)
        return fingerprint_files(paths)

    for event in scan([root], ScanOptions(use_cache=False, chunk_size=2, max_in_flight=2),
                      executor=ThreadPoolExecutor(1), cancel=cancel, worker=paced):
        if isinstance(event, Progress):
            seen = event.done
            if seen >= 4:
                cancel.set()
        if isinstance(event, ScanFinished):
            result = event.result
    assert result is not None and result.cancelled
    assert 4 <= len(result.files) < 40
    assert len({f.path for f in result.files}) == len(result.files)


def test_a_worker_killed_mid_scan_costs_only_its_file(library, tmp_path):
    root, truth = library
    work = tmp_path / "lib"
    import shutil

    shutil.copytree(root / "photos", work / "photos")
    shutil.copytree(root / "export", work / "export")
    write(work / "photos" / "kill-me.jpg", photo(4242))
    events = list(scan([work], ScanOptions(workers=2, chunk_size=3, use_cache=False),
                       worker=killing_worker))
    result = events[-1].result
    assert not result.cancelled
    skipped = dict(result.skipped)
    culprit = str(work / "photos" / "kill-me.jpg")
    assert list(skipped) == [culprit]
    assert "crash" in skipped[culprit]
    assert len(result.files) == 12  # every innocent file of the broken chunks was retried
    expected = {frozenset(p.replace(str(root), str(work)) for p in pair)
                for pair in truth["pairs"]}
    assert found_pairs(result) == expected


def test_files_vanishing_between_walk_and_decode_are_skipped(tmp_path):
    root = tmp_path / "lib"
    write(root / "a.jpg", photo(1))
    write(root / "b.png", photo(1))
    write(root / "vanish.jpg", photo(2))
    result = scan_result([root], ScanOptions(use_cache=False), executor=ThreadPoolExecutor(2),
                         worker=vanishing_worker)
    skipped = dict(result.skipped)
    assert list(skipped) == [str(root / "vanish.jpg")]
    assert skipped[str(root / "vanish.jpg")]
    assert found_pairs(result) == {frozenset((str(root / "a.jpg"), str(root / "b.png")))}


def test_unreadable_file_is_skipped_for_an_unprivileged_user(tmp_path):
    import tempfile

    from tests.core.test_files import run_as_nobody

    d = Path(tempfile.mkdtemp(prefix="dedupe-scan-"))
    try:
        os.chmod(d, 0o755)
        locked = write(d / "locked.jpg", photo(3))
        os.chmod(locked, 0o000)
        batch, keys = run_as_nobody(fingerprint_files, [str(locked)])
        assert len(batch) == 0 and keys == []
        ((path, reason),) = batch.skipped
        assert path == str(locked) and "ermission" in reason
        if os.geteuid() == 0:  # root reads through chmod 000: the scan fingerprints it
            result = scan_result([d], ScanOptions(use_cache=False),
                                 executor=ThreadPoolExecutor(1))
            assert [f.path for f in result.files] == [str(locked)]
    finally:
        import shutil

        shutil.rmtree(d)


def test_any_executor_and_empty_input(tmp_path):
    events = list(scan([tmp_path], ScanOptions(use_cache=False),
                       executor=ThreadPoolExecutor(1)))
    assert isinstance(events[0], ScanStarted) and events[0].total == 0
    result = events[-1].result
    assert result.files == [] and len(result.pairs) == 0 and not result.cancelled
