"""Mark by rules: ordered rules, reference folders, never the last copy, applied as one undo step."""
import os

import pytest

from dedupe_gui.core.actions import Actions
from dedupe_gui.core.results import FileRecord
from dedupe_gui.core.rules import DEFAULT_RULES, Rule, apply, plan


def R(path, size=100, mtime=10, w=100, h=100):
    return FileRecord(path, size, mtime, w, h, "")


def test_rules_in_order_and_ties():
    g = [R("/a/x.jpg", size=500, mtime=3, w=200, h=100), R("/b/x.jpg", size=900, mtime=2, w=100, h=100),
         R("/c/x.png", size=900, mtime=1, w=100, h=100)]
    assert plan([g], [Rule("highest_resolution")]).groups[0].keep == [g[0]]
    assert plan([g], [Rule("largest_file"), Rule("oldest")]).groups[0].keep == [g[2]]
    assert plan([g], [Rule("largest_file"), Rule("newest")]).groups[0].keep == [g[1]]
    assert plan([g], [Rule("prefer_folder", "/b"), Rule("highest_resolution")]).groups[0].keep == [g[1]]
    assert plan([g], [Rule("avoid_folder", "/a"), Rule("prefer_format", "png")]).groups[0].keep == [g[2]]
    assert plan([g], [Rule("prefer_format", "JPEG")]).groups[0].keep == [g[0]]  # jpg == jpeg
    assert plan([g], []).groups[0].keep == [g[0]]  # ties: shortest, then first path
    with pytest.raises(ValueError):
        Rule("prefer_folder")
    with pytest.raises(ValueError):
        Rule("nonsense")


def test_preview_counts_bytes_and_labels():
    groups = [[R("/a/1.jpg", 100), R("/b/1.jpg", 300)], [R("/a/2.jpg", 50), R("/b/2.jpg", 60), R("/c/2.jpg", 70)],
              [R("/a/single.jpg", 10)]]
    p = plan(groups, [Rule("largest_file")])
    assert (p.n_keep, p.n_remove, p.bytes_freed, p.n_groups_changed) == (3, 3, 210, 2)
    assert p.decision("/b/1.jpg") == "keep" and p.decision("/a/1.jpg") == "remove"
    assert p.decision("/a/single.jpg") == "keep"  # the last copy stays
    assert "remove 3" in p.summary()
    assert [r.label for r in DEFAULT_RULES] == ["Highest resolution", "Largest file",
                                                "Oldest (modification time)"]


def test_reference_folders_are_never_touched():
    g = [R("/ref/x.jpg", size=10, w=50, h=50), R("/a/x.jpg", size=99, w=100, h=100), R("/b/x.jpg", size=98)]
    p = plan([g], [Rule("highest_resolution"), Rule("largest_file")], reference_dirs=["/ref"])
    assert {r.path for r in p.groups[0].keep} == {"/ref/x.jpg", "/a/x.jpg"}  # the better copy too
    assert p.decision("/ref/x.jpg") == "reference" and p.decision("/b/x.jpg") == "remove"
    p = plan([g], [Rule("highest_resolution")], reference_dirs=["/ref"], prefer_reference=True)
    assert [r.path for r in p.groups[0].keep] == ["/ref/x.jpg"] and p.n_remove == 2
    all_ref = [R("/ref/1.jpg"), R("/ref/sub/1.jpg")]
    p = plan([all_ref], [Rule("largest_file")], reference_dirs=["/ref"])
    assert p.n_remove == 0 and p.n_keep == 2
    p = plan([g], [Rule("avoid_folder", "/ref")], reference_dirs=["/ref"])
    assert "/ref/x.jpg" in {r.path for r in p.groups[0].keep}


def test_a_file_kept_by_one_group_is_not_removed_by_another():
    shared = R("/a/shared.jpg", size=1000)
    p = plan([[shared, R("/b/1.jpg", 10)], [R("/c/big.jpg", 5000), shared]], [Rule("largest_file")])
    assert p.decision("/a/shared.jpg") == "keep"
    assert all(len(g.keep) >= 1 for g in p.groups) and p.n_remove == 1


@pytest.fixture
def tree(tmp_path, private_home):  # files trash into the private home
    groups = []
    for gi in range(3):
        g = []
        for folder, size in (("ref", 100), ("a", 300 + gi), ("b", 200)):
            p = tmp_path / folder / f"g{gi}.jpg"
            p.parent.mkdir(exist_ok=True)
            p.write_bytes(os.urandom(size))
            st = p.stat()
            g.append(FileRecord(str(p), st.st_size, st.st_mtime_ns, 10, 10, f"k{gi}{folder}"))
        groups.append(g)
    return tmp_path, groups


def snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*.jpg")
            if "home" not in p.parts and "journal" not in p.name}


@pytest.mark.skipif(not Actions.can_restore_trash, reason="undo of trash needs the freedesktop trash")
def test_apply_trash_is_one_undo_step_and_respects_refusals(tree):
    root, groups = tree
    before = snapshot(root)
    p = plan(groups, [Rule("largest_file")], reference_dirs=[root / "ref"])
    assert p.n_remove == 3  # b/ copies; a/ kept as the largest, ref/ as reference
    (root / "b" / "g2.jpg").write_bytes(b"changed after the scan")
    progress = []
    with Actions(root / "journal.db", reference_dirs=[root / "ref"]) as act:
        report = apply(p, act, "trash", progress=lambda d, t: progress.append((d, t)))
        assert len(report.done) == 2 and len(report.refused) == 1
        assert "changed since" in report.refused[0][1]
        assert progress[-1] == (3, 3)
        assert not (root / "b" / "g0.jpg").exists() and (root / "a" / "g0.jpg").exists()
        assert act.undo_label == "Trash 3 duplicates (rules)"
        act.undo()
        after = snapshot(root)
        assert {k: v for k, v in after.items() if k != "b/g2.jpg"} == \
               {k: v for k, v in before.items() if k != "b/g2.jpg"}


def test_apply_move_keeps_relative_paths_and_never_removes_last_copy(tree):
    root, groups = tree
    p = plan(groups, [Rule("largest_file")], reference_dirs=[root / "ref"])
    (root / "a" / "g1.jpg").unlink()  # the copy group 1 keeps vanished: its others stay
    with Actions(root / "journal.db", reference_dirs=[root / "ref"]) as act:
        report = apply(p, act, "move", dest=root / "dupes", keep_relative_to=[root, root / "b"])
        assert {r.path for r, _ in report.done} == {str(root / "b" / "g0.jpg"), str(root / "b" / "g2.jpg")}
        assert [r.path for r, _ in report.refused] == [str(root / "b" / "g1.jpg")]
        assert "last copy" in report.refused[0][1]
        assert (root / "dupes" / "g0.jpg").exists()  # relative to the deepest root, b/
        assert (root / "b" / "g1.jpg").exists()
        act.undo()
        assert (root / "b" / "g0.jpg").exists() and not (root / "dupes").exists()
    with pytest.raises(ValueError):
        apply(p, act, "move")
