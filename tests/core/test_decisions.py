"""'Not a duplicate' marks: by content key, order-independent, persistent, vectorised."""
import numpy as np
import pytest

from dedupe_gui.core.decisions import Decisions
from dedupe_gui.core.files import content_key
from dedupe_gui.core.results import FileRecord, PairTable


def test_marks_are_unordered_and_persist(tmp_path):
    db = tmp_path / "d.sqlite"
    d = Decisions(db)
    d.mark("k2", "k1")
    assert d.is_marked("k1", "k2") and d.is_marked("k2", "k1")
    assert not d.is_marked("k1", "k3") and not d.is_marked("", "k1")
    d.mark("k1", "k2")  # twice is once
    assert d.marked_pairs() == {("k1", "k2")} and len(d) == 1
    d.close()
    d = Decisions(db)  # a new session
    assert d.is_marked("k2", "k1")
    d.unmark("k2", "k1")
    assert not d.is_marked("k1", "k2") and len(d) == 0
    with pytest.raises(ValueError):
        d.mark("", "k1")


def test_mark_survives_rename(tmp_path):
    """The mark is on content: renaming or moving a file keeps it."""
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    a.write_bytes(b"A" * 200_000)
    b.write_bytes(b"B" * 150_000)
    d = Decisions(tmp_path / "d.sqlite")
    d.mark(content_key(a, a.stat().st_size), content_key(b, b.stat().st_size))
    (tmp_path / "sub").mkdir()
    moved = tmp_path / "sub" / "renamed.jpg"
    a.rename(moved)
    assert d.is_marked(content_key(b), content_key(moved))


def test_pair_mask_is_vectorised_over_a_pair_table(tmp_path):
    files = [FileRecord(f"/p/{i}.jpg", 1, 1, 1, 1, f"key{i % 5}") for i in range(10)]
    files.append(FileRecord("/p/unkeyed.jpg", 1, 1, 1, 1, ""))
    rng = np.random.default_rng(1)
    a = rng.integers(0, len(files), 5000)
    b = rng.integers(0, len(files), 5000)
    table = PairTable.build(a, b, rng.random(5000) * 100, np.zeros(5000))
    d = Decisions(tmp_path / "d.sqlite")
    assert not d.pair_mask(files, table.a, table.b).any()
    d.mark_many([("key1", "key3"), ("key4", "key0")])
    mask = d.pair_mask(files, table.a, table.b)
    expected = np.array([{files[i].content_key, files[j].content_key} in ({"key1", "key3"}, {"key0", "key4"})
                         for i, j in zip(table.a, table.b, strict=True)])
    assert mask.dtype == bool and mask.sum() > 0
    assert np.array_equal(mask, expected)
    kept = PairTable(table.a[~mask], table.b[~mask], table.score[~mask], table.distance[~mask])
    assert len(kept) == 5000 - expected.sum()
