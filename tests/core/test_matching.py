"""Matching: tiled Hamming equals brute force; copies pair above the default threshold and
unrelated or merely overlapping pictures do not."""
from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from dedupe_gui.core import matching
from dedupe_gui.core.fingerprint import FingerprintBatch, fingerprint_chunk
from dedupe_gui.core.hamming import pairs_within
from dedupe_gui.core.matching import DEFAULT_THRESHOLD, MIN_SCORE, Matcher
from tests.core.imagegen import crop, photo, rotate, save, watermark


def brute(q, b, max_dist, query_start=None):
    out = {}
    for i in range(len(q)):
        for j in range(len(b)):
            if query_start is not None and j >= query_start + i:
                continue
            d = min(int(np.bitwise_count(x ^ y)) for x in q[i] for y in b[j])
            if d <= max_dist:
                out[(i, j)] = d
    return out


@pytest.mark.parametrize("tile_elems", [1, 37, 1 << 20])
def test_tiled_hamming_equals_brute_force(tile_elems):
    rng = np.random.default_rng(7)
    base = rng.integers(0, 2**63, (120, 2), dtype=np.uint64)
    queries = base[:40, :1] ^ (rng.integers(0, 2**63, (40, 1), dtype=np.uint64)
                               & rng.integers(0, 2**63, (40, 1), dtype=np.uint64)
                               & rng.integers(0, 2**63, (40, 1), dtype=np.uint64))
    queries = np.concatenate([queries, rng.integers(0, 2**63, (40, 2), dtype=np.uint64)], 1)
    i, j, d, k, m = pairs_within(queries, base, 22, tile_elems=tile_elems)
    got = {(int(a), int(b)): int(c) for a, b, c in zip(i, j, d, strict=True)}
    assert got == brute(queries, base, 22) and len(got) > 40
    # the reported word combination does reach the reported distance
    assert all(int(np.bitwise_count(queries[a, x] ^ base[b, y])) == c
               for a, b, c, x, y in zip(i, j, d, k, m, strict=True))
    # a batch against itself: each unordered pair once, no self pairs
    i, j, d, _, _ = pairs_within(base[80:], base, 26, query_start=80, tile_elems=tile_elems)
    got = {(int(a), int(b)): int(c) for a, b, c in zip(i, j, d, strict=True)}
    assert got == brute(base[80:], base, 26, query_start=80)
    empty = pairs_within(queries[:0], base, 5)
    assert all(len(x) == 0 for x in empty)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Three originals, their copies of every kind, two overlapping views, unrelated photos."""
    d = tmp_path_factory.mktemp("lib")
    files, kinds = [], {}

    def add(name, img, quality=90, kind=None):
        files.append(save(d / name, img, quality))
        if kind:
            kinds[files[-1]] = kind

    for s in range(3):
        img = photo(100 + s, 900, 600)
        add(f"o{s}.jpg", img)
        h, w = img.shape[:2]
        add(f"o{s}_half.jpg", cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA),
            kind=(s, "resize50"))
        add(f"o{s}_q40.jpg", img, quality=40, kind=(s, "jpeg_q40"))
        add(f"o{s}.png", img, kind=(s, "png"))
        add(f"o{s}_crop15.jpg", crop(img, 0.15), kind=(s, "crop15"))
        add(f"o{s}_rot2.jpg", crop(rotate(img, 2.0 if s % 2 else -2.0), 0.08), kind=(s, "rot2"))
        add(f"o{s}_rot90.jpg", cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE), kind=(s, "rot90"))
        add(f"o{s}_bright.jpg", cv2.convertScaleAbs(img, alpha=1.15), kind=(s, "bright"))
        add(f"o{s}_wm.jpg", watermark(img), kind=(s, "watermark"))
        add(f"o{s}_blur.jpg", cv2.GaussianBlur(img, (0, 0), 1.5), kind=(s, "blur"))
        add(f"o{s}_mirror.jpg", img[:, ::-1], kind=(s, "mirror"))
    wide = photo(200, 1500, 600)
    add("view_left.jpg", wide[:, :1050])  # two views sharing ~40% of the scene
    add("view_right.jpg", wide[:, 630:])
    for s in range(6):
        add(f"other{s}.jpg", photo(300 + s, 800, 600))
    batch = fingerprint_chunk(files)
    assert not batch.skipped
    return files, kinds, batch


def pairs_at(table, paths, threshold):
    n = table.count_at(threshold)
    return {frozenset((paths[int(a)], paths[int(b)])) for a, b in zip(table.a[:n], table.b[:n], strict=True)}


@pytest.mark.parametrize("mirror", [False, True])
def test_copies_pair_and_others_do_not(library, mirror):
    files, kinds, batch = library
    table = Matcher(mirror=mirror).add(batch, 0)
    assert np.all(np.diff(table.score) <= 0) and np.all(table.score >= MIN_SCORE)
    found = pairs_at(table, files, DEFAULT_THRESHOLD)
    group = {f: k[0] for f, k in kinds.items() if mirror or k[1] != "mirror"}
    for s in range(3):
        group[files[11 * s]] = s
    truth = {frozenset(p) for p in itertools.combinations(group, 2)
             if group[p[0]] == group[p[1]]}
    missed = {kinds.get(f, ("orig",))[1] for p in truth - found for f in p if f in kinds}
    assert not truth - found, f"missed copies: {sorted(missed)}"
    extra = found - truth
    assert not extra, f"false pairs: {[sorted(p) for p in extra]}"


def test_incremental_adds_find_the_same_pairs(library):
    files, _, batch = library
    whole = Matcher().add(batch, 0)
    m = Matcher()
    parts = []
    for lo, hi in ((0, 10), (10, 25), (25, len(files))):
        sub = FingerprintBatch(batch.paths[lo:hi], batch.width[lo:hi], batch.height[lo:hi],
                               batch.hashes[lo:hi], batch.features[lo:hi], [])
        parts.append(m.add(sub, 1000 + lo))
    a = np.concatenate([p.a for p in parts]) - 1000
    b = np.concatenate([p.b for p in parts]) - 1000
    got = {(min(x, y), max(x, y)): s for x, y, s in
           zip(a.tolist(), b.tolist(), np.concatenate([p.score for p in parts]).tolist(), strict=True)}
    want = {(min(x, y), max(x, y)): s for x, y, s in
            zip(whole.a.tolist(), whole.b.tolist(), whole.score.tolist(), strict=True)}
    assert got.keys() == want.keys()
    assert all(abs(got[k] - want[k]) < 1e-3 for k in got)
    with pytest.raises(ValueError):
        m.add(batch, 5)  # not the next index


def test_thumbnails_spilled_to_a_mapped_file_give_the_same_pairs(library, tmp_path):
    """Past its RAM budget the matcher keeps the thumbnails in a memory-mapped temporary
    file (a million files' take ~12 GB): same pairs and scores, and no file left behind."""
    files, _, batch = library
    want = Matcher().add(batch, 0)
    m = Matcher(spill_dir=str(tmp_path), spill_bytes=64 << 10)  # a few files' worth
    parts = []
    for lo, hi in ((0, 5), (5, 21), (21, len(files))):  # grown (and re-mapped) twice
        sub = FingerprintBatch(batch.paths[lo:hi], batch.width[lo:hi], batch.height[lo:hi],
                               batch.hashes[lo:hi], batch.features[lo:hi], [])
        parts.append(m.add(sub, lo))
    assert m._feats.spilled and m._coarse.spilled
    assert not m._hashes.spilled  # the small arrays stay in RAM
    assert list(tmp_path.iterdir()) == []  # unlinked: gone with the process, even on a crash
    got = {(int(a), int(b)): float(sc) for p in parts
           for a, b, sc in zip(p.a, p.b, p.score, strict=True)}
    assert got == {(int(a), int(b)): float(sc)
                   for a, b, sc in zip(want.a, want.b, want.score, strict=True)}
    assert len(got) >= 30
    assert np.array_equal(m._feats.array, batch.features)
    # a folder that refuses the file (here: gone) leaves the thumbnails in RAM, same pairs
    ram = Matcher(spill_dir=str(tmp_path / "gone"), spill_bytes=64 << 10)
    again = ram.add(batch, 0)
    assert not ram._feats.spilled
    assert np.array_equal(again.score, want.score) and np.array_equal(again.a, want.a)


def test_flat_pictures_with_the_same_watermark_do_not_pair(tmp_path):
    rng = np.random.default_rng(5)
    paths = []
    for s in range(2):
        dark = (photo(400 + s, 800, 600).astype(np.float32) * 0.12 + rng.normal(0, 1, (600, 800, 3))
                ).clip(0, 255).astype(np.uint8)
        paths.append(save(tmp_path / f"dark{s}.jpg", watermark(dark)))
    table = Matcher().add(fingerprint_chunk(paths), 0)
    assert table.count_at(DEFAULT_THRESHOLD) == 0


def test_threshold_constants_are_sane():
    assert 0 < MIN_SCORE < DEFAULT_THRESHOLD < 100
    assert matching.STAGE1_MAX_DISTANCE < 32


def per_pair_verify(fa, fb, stats_a, stats_b, orient, trim):
    """The original per-pair form of ``matching.verify`` (every pair's thumbnails copied and
    converted): the oracle the grouped form must equal bit for bit."""
    p, n_t = len(fa), matching.fp.N_THUMBS
    f = fa.shape[1] // n_t
    a = fa.reshape(p, n_t, f).astype(np.float32)
    b = fb.reshape(p, n_t, f).astype(np.float32)
    (ma, na), (mb, nb) = stats_a, stats_b
    b0 = matching._oriented_first(b, orient, inverse=True)
    a0 = matching._oriented_first(a, orient, inverse=False)
    s1 = (np.einsum("pcf,pf->pc", a, b0) - f * ma * mb[:, :1]) / (na * nb[:, :1])
    s2 = (np.einsum("pf,pcf->pc", a0, b) - f * ma[:, :1] * mb) / (na[:, :1] * nb)
    s12 = np.concatenate([s1, s2], axis=1)
    k = s12.argmax(axis=1)
    rows = np.arange(p)
    if trim <= 0:
        return np.clip(s12[rows, k], 0, 1) * 100
    first = k < n_t
    ca, cb = np.where(first, k, 0), np.where(first, 0, k - n_t)
    x = np.where(first[:, None], a[rows, ca], a0)
    y = np.where(first[:, None], b0, b[rows, cb])
    x -= ma[rows, ca, None]
    x *= (np.sqrt(f) / na[rows, ca])[:, None]
    y -= mb[rows, cb, None]
    y *= (np.sqrt(f) / nb[rows, cb])[:, None]
    res = (x - y) ** 2
    drop = max(1, int(f * trim))
    cut = np.partition(res, f - drop, axis=1)[:, f - drop, None]
    keep = res <= cut
    xy = np.einsum("pf,pf->p", x * keep, y)
    xx = np.einsum("pf,pf->p", x * keep, x)
    yy = np.einsum("pf,pf->p", y * keep, y)
    score = np.clip(xy / np.sqrt(xx * yy + 1e-6), 0, 1) * 100
    return np.minimum(score, np.where(matching._one_dimensional(x, y), matching.ONE_D_CAP, 100.0))


def test_grouped_verify_equals_the_per_pair_form(library):
    """Scores are bit-identical to the per-pair computation, at half and full resolution,
    whether pairs are grouped per file (many partners) or done one by one (few)."""
    _, _, batch = library
    full = batch.features
    small = matching.coarse(full)
    n = len(full)
    rng = np.random.default_rng(3)
    qa, qb = (x.ravel() for x in np.triu_indices(n, 1))  # ~n/2 partners per file: grouped
    one_each = rng.permutation(n)  # one pair per owner: the per-pair step
    for a, b in ((qa, qb), (np.arange(n), one_each)):
        orient = rng.integers(0, matching.fp.N_ORIENT, len(a))
        for feats, trim in ((small, 0.0), (full, matching.TRIM)):
            mean, norm = matching.thumb_stats(feats)
            got = matching.verify(feats, (mean, norm), a, b, orient, trim=trim)
            want = per_pair_verify(feats[a], feats[b], (mean[a], norm[a]), (mean[b], norm[b]),
                                   orient, trim)
            assert got.shape == want.shape and np.array_equal(got, want.astype(np.float32))
            assert np.ptp(got) > 10  # real spread: copies high, strangers low
            low = np.nonzero(got < matching.ONE_D_CAP)[0]  # a step where no score is capped
            assert len(low) and np.array_equal(
                matching.verify(feats, (mean, norm), a[low], b[low], orient[low], trim=trim),
                got[low])
