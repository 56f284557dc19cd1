"""Large-library mode: chosen once per scan past ``LARGE_LIBRARY`` files, tight stage-1
bounds on selected pose words (pairs: exactly the brute-force rule's, a subset of the
default rule's at the same bounds), small libraries unchanged."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmarks.candidates_scale import library_hashes
from dedupe_gui.core import fingerprint as fp
from dedupe_gui.core import matching
from dedupe_gui.core.fingerprint import FingerprintBatch, fingerprint_chunk
from dedupe_gui.core.hamming import pairs_within as tiles
from dedupe_gui.core.hashindex import CandidateSearch
from dedupe_gui.core.matching import (
    Matcher,
    PoseSearch,
    Stage1Bounds,
    pose_searches,
    stage1_bounds,
    stage1_words,
)
from dedupe_gui.core.poses import pose_pairs, pose_select, pose_words
from dedupe_gui.core.results import ScanFinished, ScanStarted
from dedupe_gui.core.scan import ScanOptions, scan
from tests.core.imagegen import crop, photo, rotate, save


@pytest.fixture(scope="module")
def small_library(tmp_path_factory):
    """Originals with near copies (resized, cropped 5%, turned 2 degrees) and far ones
    (cropped 25%: most beyond the large-library bounds), plus unrelated photos."""
    d = tmp_path_factory.mktemp("large")
    files = []
    for s in range(4):
        img = photo(500 + s, 800, 600)
        files.append(save(d / f"o{s}.jpg", img))
        files.append(save(d / f"o{s}_half.jpg", cv2.resize(img, (400, 300),
                                                             interpolation=cv2.INTER_AREA)))
        files.append(save(d / f"o{s}_crop.jpg", crop(img, 0.05)))
        files.append(save(d / f"o{s}_rot2.jpg", crop(rotate(img, 2.0), 0.08)))
        files.append(save(d / f"o{s}_crop25.jpg", crop(img, 0.25)))  # 8-14 bits, inner 20+
    for s in range(4):
        files.append(save(d / f"other{s}.jpg", photo(600 + s, 800, 600)))
    files.sort()
    return files, fingerprint_chunk(files)


def test_bounds_switch_at_the_size():
    assert stage1_bounds(matching.LARGE_LIBRARY - 1) == Stage1Bounds(
        matching.STAGE1_MAX_DISTANCE, matching.INNER_MAX_DISTANCE, large=False)
    big = stage1_bounds(matching.LARGE_LIBRARY)
    assert big.large and big.whole == matching.LARGE_STAGE1_DISTANCE
    assert big.inner == matching.LARGE_INNER_DISTANCE
    assert big.whole < matching.STAGE1_MAX_DISTANCE and big.inner <= matching.INNER_MAX_DISTANCE


def _scan(files, monkeypatch, large_from):
    monkeypatch.setattr(matching, "LARGE_LIBRARY", large_from)
    started = result = None
    for ev in scan(files, ScanOptions(use_cache=False, workers=1)):
        if isinstance(ev, ScanStarted):
            started = ev
        elif isinstance(ev, ScanFinished):
            result = ev.result
    assert started is not None and result is not None
    return started, result


def _pair_set(table, paths):
    return {(frozenset((paths[a], paths[b])), round(float(s), 3), int(d)) for a, b, s, d in
            zip(table.a.tolist(), table.b.tolist(), table.score.tolist(),
                table.distance.tolist(), strict=True)}


def test_scan_chooses_the_mode_once_and_reports_it(small_library, monkeypatch):
    files, batch = small_library
    # past the size (lowered to this library's size): large mode, reported at start and end
    started, result = _scan(files, monkeypatch, len(files))
    assert started.large_library and result.large_library
    paths = [f.path for f in result.files]
    want = Matcher(bounds=stage1_bounds(matching.LARGE_LIBRARY)).add(
        FingerprintBatch.concat([_reorder(batch, paths)]), 0)
    assert _pair_set(result.pairs, paths) == _pair_set(want, paths)
    # the tight bounds drop the far copies only: every near copy is still paired
    found = {p for p, s, _ in _pair_set(result.pairs, paths) if s >= matching.DEFAULT_THRESHOLD}
    for s in range(4):
        o = next(p for p in paths if p.endswith(f"o{s}.jpg"))
        for kind in ("half", "crop"):
            c = next(p for p in paths if p.endswith(f"o{s}_{kind}.jpg"))
            assert frozenset((o, c)) in found, kind
    # one file fewer than the size: the normal bounds, the same pairs as the default matcher
    started, small = _scan(files, monkeypatch, len(files) + 1)
    assert not started.large_library and not small.large_library
    paths = [f.path for f in small.files]
    default = Matcher().add(_reorder(batch, paths), 0)
    assert _pair_set(small.pairs, paths) == _pair_set(default, paths)
    # the tight bounds only drop pairs (scores unchanged), and they do drop some
    loose = {(p, s) for p, s, _ in _pair_set(small.pairs, paths)}
    tight = {(p, s) for p, s, _ in _pair_set(result.pairs, paths)}
    assert loose > tight
    assert result.pairs.distance.max() <= matching.LARGE_STAGE1_DISTANCE < \
        small.pairs.distance.max()


def _reorder(batch: FingerprintBatch, paths: list[str]) -> FingerprintBatch:
    """``batch`` in the scan's file order."""
    pos = {p: k for k, p in enumerate(batch.paths)}
    rows = [pos[p] for p in paths]
    return FingerprintBatch(paths, batch.width[rows], batch.height[rows], batch.hashes[rows],
                            batch.features[rows], [])


def test_large_mode_candidates_equal_tiles(small_library):
    """The matcher's stage-1 calls at the large bounds (8 query x 2 stored words, 4 x 1
    inner, batches appended as a scan does), through the index: the tiled search's pairs.
    Hash rows: real fingerprints' rows resampled as the benchmark does (copies, bursts)."""
    _, batch = small_library
    rows = library_hashes(8_000, seed=4, templates=batch.hashes)
    bounds = stage1_bounds(matching.LARGE_LIBRARY)
    w = stage1_words(list(range(4)))
    calls = [(rows[:, w.whole_query], rows[:, w.whole_stored], bounds.whole),
             (rows[:, w.inner_query], rows[:, w.inner_stored], bounds.inner)]
    for queries, base, radius in calls:
        search, start, total = CandidateSearch(force="index"), 0, 0
        for size in (3_000, 1_500, 1024, 1_500, 976):
            stop = start + size
            got = search(queries[start:stop], base[:stop], radius, query_start=start)
            want = tiles(queries[start:stop], base[:stop], radius, query_start=start)
            for a, b in zip(got, want, strict=True):
                assert np.array_equal(a, b)
            total += len(got[0])
            start = stop
        assert search.used_index == 5 and total > 1000  # the first: its rows alone


def test_matcher_index_and_tiles_agree_at_large_bounds(small_library):
    """Whole matcher (stage 1 + verification) at the large bounds: forced index == tiles."""
    _, batch = small_library
    bounds = stage1_bounds(matching.LARGE_LIBRARY)
    half = len(batch) // 2
    parts = [_reorder(batch, batch.paths[:half]), _reorder(batch, batch.paths[half:])]
    results = []
    for search in ("index", "tiles"):
        m = Matcher(bounds=bounds, search=search)
        results.append([m.add(parts[0], 0), m.add(parts[1], half)])
        assert m._pose_whole.search.used_index == (3 if search == "index" else 0)
        assert m._stage1.used_index == 0  # the default rule's search is not used
    assert sum(len(t) for t in results[0]) >= 8
    for ta, tb in zip(*results, strict=True):
        for k in ("a", "b", "score", "distance"):
            assert np.array_equal(getattr(ta, k), getattr(tb, k))


def test_pose_selection_is_equivariant(small_library):
    """A turned or mirrored copy selects the same words (its own words in another order)."""
    img = cv2.cvtColor(photo(700, 640, 480), cv2.COLOR_BGR2GRAY)
    turned = (img, np.rot90(img), np.rot90(img, 2), img[:, ::-1], np.rot90(img[:, ::-1]))
    rows = np.stack([fp.fingerprint_pixels(np.ascontiguousarray(x))[0] for x in turned])
    for kind in range(3):
        words = rows[:, kind * fp.N_ORIENT:(kind + 1) * fp.N_ORIENT]
        chosen = [set(w[s].tolist()) for w, s in zip(words, pose_select(words), strict=True)]
        assert all(c == chosen[0] for c in chosen[1:]), kind
        assert 1 <= len(chosen[0]) < fp.N_ORIENT
    # fewer words than orientations on real fingerprints: what makes the mode cheap
    _, batch = small_library
    for orients in (4, 8):
        words, owner = pose_words(batch.hashes, (0, 1), list(range(orients)))
        assert np.array_equal(owner, np.sort(owner))
        assert len(words) <= 0.6 * orients * 2 * len(batch)


def _brute_pose_pairs(rows, crops, query_words, stored_words, radius):
    """Reference: every pair of files with selected words within radius (all word pairs
    compared), then the default rule's best combination within radius."""
    w, own = pose_words(rows, crops, list(range(4)))
    a, b = np.nonzero(np.bitwise_count(w[:, None] ^ w[None, :]) <= radius)
    keep = own[a] > own[b]
    i, j = own[a][keep], own[b][keep]
    d = np.bitwise_count(rows[i][:, query_words, None] ^ rows[j][:, None, stored_words])
    ok = d.reshape(len(i), -1).min(axis=1) <= radius
    return set(zip(i[ok].tolist(), j[ok].tolist(), strict=True))


def test_pose_search_in_query_slices_is_exact(small_library, monkeypatch):
    """New words searched in slices (a late batch of a huge library) give the same pairs,
    also when a slice boundary splits one file's words."""
    _, batch = small_library
    rows = library_hashes(2_000, seed=6, templates=batch.hashes)
    orients = list(range(4))
    w = stage1_words(orients)
    want = _brute_pose_pairs(rows, (0, 1), w.whole_query, w.whole_stored, 8)
    monkeypatch.setattr(matching, "POSE_QUERY_SLICE", 37)  # odd: splits files' words
    search, got = pose_searches(orients, "index")[0], set()
    for start, size in ((0, 900), (900, 1_100)):
        i, j, _, _ = search.add(rows[start:start + size], rows[:start + size], start, 8)
        got |= set(zip((i + start).tolist(), j.tolist(), strict=True))
    assert len(want) > 200 and got == want


def test_pose_search_exact_in_batches_and_at_once(small_library):
    """The matcher's incremental pose search (batches, index or tiles) and the all-at-once
    self-join (``pose_pairs``, the benchmark's) give the brute-force pairs; they are a
    subset of the default rule's (tiles over all orientations) at the same bound."""
    _, batch = small_library
    rows = library_hashes(3_000, seed=5, templates=batch.hashes)
    n = len(rows)
    orients = list(range(4))
    w = stage1_words(orients)
    for crops, qw, bw in (((0, 1), w.whole_query, w.whole_stored),
                          ((2,), w.inner_query, w.inner_stored)):
        want = _brute_pose_pairs(rows, crops, qw, bw, 8)
        assert len(want) > 300
        keys = pose_pairs(rows, crops, orients, 8, qw, bw)
        assert set(zip((keys // n).tolist(), (keys % n).tolist(), strict=True)) == want
        default = tiles(rows[:, qw], rows[:, bw], 8, query_start=0)
        assert want < set(zip(default[0].tolist(), default[1].tolist(), strict=True))
        for force in ("index", "tiles"):
            search, start, got = PoseSearch(crops, orients, qw, bw, force), 0, set()
            for size in (1_200, 700, 1_100):
                i, j, d, k = search.add(rows[start:start + size], rows[:start + size], start, 8)
                ref = np.bitwise_count(rows[i + start][:, qw, None] ^ rows[j][:, None, bw])
                assert np.array_equal(d, ref.reshape(len(i), -1).min(axis=1))
                assert np.array_equal(k, ref.reshape(len(i), -1).argmin(axis=1) // len(bw))
                got |= set(zip((i + start).tolist(), j.tolist(), strict=True))
                start += size
            assert got == want, force
            # 2 searches of the earlier words, 3 self-joins of a batch's own words
            assert search.search.used_index == (5 if force == "index" else 0)


def test_large_scan_gathers_files_before_matching_and_finds_the_same_pairs(small_library,
                                                                         monkeypatch):
    """In large-library mode the scan matches gathered files (index searches cost per call);
    gathering in several calls must give the pairs of one call over everything."""
    from dedupe_gui.core import scan as scan_module

    files, batch = small_library
    calls = []
    real_add = Matcher.add

    def counting_add(self, b, first):
        calls.append((first, len(b.paths)))
        return real_add(self, b, first)

    monkeypatch.setattr(Matcher, "add", counting_add)
    monkeypatch.setattr(scan_module, "LARGE_MATCH_MIN", 5)  # small enough for several calls
    monkeypatch.setattr(scan_module, "LARGE_MATCH_CALLS", 10**6)
    started, result = _scan(files, monkeypatch, len(files))
    assert result.large_library and len(calls) >= 2
    assert all(n >= 5 for _, n in calls[:-1])  # each call but the last gathered >= 5 files
    assert [f for f, _ in calls] == sorted(f for f, _ in calls)
    assert sum(n for _, n in calls) == len(result.files)
    paths = [f.path for f in result.files]
    want = real_add(Matcher(bounds=stage1_bounds(matching.LARGE_LIBRARY)),
                    FingerprintBatch.concat([_reorder(batch, paths)]), 0)
    assert _pair_set(result.pairs, paths) == _pair_set(want, paths)
