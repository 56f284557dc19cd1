"""The review panel over a real result (real JPEGs, real Actions journal, private trash):
keyboard decisions, undo/redo, not-a-duplicate, move, rules, sessions, export, settings."""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from dedupe_gui.core.files import content_key
from dedupe_gui.core.results import FileRecord, PairTable, ScanResult
from dedupe_gui.core.rules import Rule
from dedupe_gui.gui.duplicates_panel import DuplicatesPanel
from dedupe_gui.gui.pair_model import PairState
from tests.gui.images import make_library


def record(path: Path) -> FileRecord:
    import cv2

    st = path.stat()
    h, w = cv2.imread(str(path), cv2.IMREAD_REDUCED_GRAYSCALE_8).shape[:2]
    return FileRecord(str(path), st.st_size, st.st_mtime_ns, w * 8, h * 8, content_key(path))


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "lib"
    files, pairs = make_library(root, 5, 4, size=(640, 480))
    return root, files, pairs


@pytest.fixture
def panel(qtbot, library):
    root, files, pairs = library
    recs = [record(p) for p in files]
    index = {r.path: i for i, r in enumerate(recs)}
    a = [index[str(x)] for x, _ in pairs]
    b = [index[str(y)] for _, y in pairs]
    table = PairTable.build(a, b, [99.0, 97.0, 93.0, 88.0], [1, 2, 3, 5])
    p = DuplicatesPanel()
    qtbot.addWidget(p)
    p.resize(1300, 800)
    p.show()
    p.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is p)
    p.folders.add_paths([root])
    p.set_threshold(85.0)
    p.load_result(ScanResult(recs, table, [], 1.0), [str(root)])
    qtbot.waitUntil(lambda: p.compare.panes[0].pixmap is not None
                    and p.compare.panes[1].pixmap is not None)
    yield p
    p.close()


def trash_files(tmp_path: Path) -> list[str]:
    files = tmp_path / "data" / "Trash" / "files"
    return sorted(os.listdir(files)) if files.exists() else []


def test_keys_decide_undo_and_redo(panel, qtbot, tmp_path):
    assert panel.model.rowCount() == 4
    left, right = panel.sides()
    assert panel.meta_table.marked("Dimensions") == "a"  # the original is bigger
    QTest.keyClick(panel.table, Qt.Key.Key_A)  # keep left, trash right
    assert os.path.exists(left.path) and not os.path.exists(right.path)
    assert trash_files(tmp_path) == [os.path.basename(right.path)]
    assert panel.current_row() == 1  # moved on to the next open pair
    QTest.keyClick(panel.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert os.path.exists(right.path) and trash_files(tmp_path) == []
    assert panel.model.is_open(0) and panel.current_row() == 0
    QTest.keyClick(panel.table, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert not os.path.exists(right.path)
    # keep right on the next pair: the left one goes
    left2, right2 = panel.sides()
    QTest.keyClick(panel.table, Qt.Key.Key_D)
    assert not os.path.exists(left2.path) and os.path.exists(right2.path)
    # keep both and not-a-duplicate change no file and are undoable too
    before = sorted(p.name for p in Path(left.path).parent.parent.rglob("*.jpg"))
    QTest.keyClick(panel.table, Qt.Key.Key_S)
    QTest.keyClick(panel.table, Qt.Key.Key_N)
    assert sorted(p.name for p in Path(left.path).parent.parent.rglob("*.jpg")) == before
    states = sorted(int(s) for s in panel.model.state)
    assert states == [0, 0, PairState.KEPT_BOTH, PairState.NOT_DUPLICATE]
    assert panel.decisions.is_marked(*(f.content_key for f in panel.model.files_of(3)))
    QTest.keyClick(panel.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not panel.decisions.is_marked(*(f.content_key for f in panel.model.files_of(3)))
    assert "to review" in panel.counts_label.text()
    # redo of a not-a-duplicate mark stores the mark again
    QTest.keyClick(panel.table, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert panel.decisions.is_marked(*(f.content_key for f in panel.model.files_of(3)))
    assert int(panel.model.state[3]) == PairState.NOT_DUPLICATE


def test_reference_folder_is_refused_and_nothing_changes(panel, qtbot, library):
    root, _, _ = library
    panel.folders.set_reference(str(root / "b"), True)
    panel.folders.add_paths([root / "b"])
    panel.folders.set_reference(str(root / "b"), True)
    panel._save_prefs()
    messages = []
    panel.statusMessage.connect(messages.append)
    left, right = panel.sides()
    QTest.keyClick(panel.table, Qt.Key.Key_A)  # would trash the copy in b/
    assert os.path.exists(right.path)
    assert any("reference" in m for m in messages)
    assert panel.model.is_open(0)


def test_move_other_keeps_relative_path_and_undo_brings_it_back(panel, qtbot, tmp_path):
    dest = tmp_path / "moved"
    dest.mkdir()
    panel.prefs.move_destination = str(dest)
    left, right = panel.sides()
    QTest.keyClick(panel.table, Qt.Key.Key_M)
    rel = Path(right.path).relative_to(tmp_path / "lib")
    assert (dest / rel).exists() and not os.path.exists(right.path)
    assert "moved to" in panel.model.status_text(0)
    panel.undo()
    assert os.path.exists(right.path) and not (dest / rel).exists()


def test_swap_flicker_heatmap_zoom_keys(panel, qtbot):
    left, right = panel.sides()
    QTest.keyClick(panel.table, Qt.Key.Key_X)
    assert panel.sides() == (right, left)
    shown_left = panel.compare.panes[0].pixmap
    QTest.keyPress(panel.table, Qt.Key.Key_F)
    assert panel.compare.flicker and panel.compare.shown_pixmap(0) is panel.compare.panes[1].pixmap
    QTest.keyRelease(panel.table, Qt.Key.Key_F)
    assert not panel.compare.flicker and panel.compare.shown_pixmap(0) is shown_left
    QTest.keyClick(panel.table, Qt.Key.Key_H)
    qtbot.waitUntil(lambda: panel.compare.heatmap is not None)
    assert panel.compare.shown_pixmap(1) is panel.compare.heatmap
    QTest.keyClick(panel.table, Qt.Key.Key_1)
    assert panel.compare.zoom_percent() == pytest.approx(100.0)
    QTest.keyClick(panel.table, Qt.Key.Key_0)
    assert panel.compare.fitted
    QTest.keyClick(panel.table, Qt.Key.Key_J)
    assert panel.current_row() == 1
    QTest.keyClick(panel.table, Qt.Key.Key_K)
    assert panel.current_row() == 0
    QTest.keyClick(panel.table, Qt.Key.Key_F1)
    assert panel.help.isVisible() and "keep left" in panel.help.label.text()


def test_open_and_reveal_hand_local_urls_to_the_desktop(panel, qtbot):
    class Catcher(QObject):
        def __init__(self):
            super().__init__()
            self.urls = []

        @Slot(QUrl)
        def handle(self, url):
            self.urls.append(url.toLocalFile())

    catcher = Catcher()
    QDesktopServices.setUrlHandler("file", catcher, "handle")
    try:
        left, right = panel.sides()
        QTest.keyClick(panel.table, Qt.Key.Key_O)
        QTest.keyClick(panel.table, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert catcher.urls == [left.path, os.path.dirname(right.path)]


def test_slider_changes_visible_pairs_and_counts(panel, qtbot):
    panel.set_threshold(95.0)
    assert panel.model.rowCount() == 2
    assert "<b>2</b> pairs in <b>2</b> groups" in panel.counts_label.text()
    panel.set_threshold(50.0)
    assert panel.model.rowCount() == 4


def test_rules_dialog_previews_and_applies_as_one_undo_step(panel, qtbot, library):
    root, _, pairs = library
    dialog = panel.open_rules()
    dialog.set_rules([Rule("highest_resolution"), Rule("largest_file")])
    assert dialog.plan.n_remove == 4 and dialog.plan.n_keep == 4
    assert "freeing" in dialog.summary.text()
    assert dialog.preview.topLevelItemCount() == 4
    assert dialog.confirm_and_apply(confirmed=True)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10000)
    for orig, copy in pairs:
        assert orig.exists() and not copy.exists()  # the larger originals are kept
    assert all(not panel.model.is_open(k) for k in range(4))
    panel.undo()  # one step restores all four
    for orig, copy in pairs:
        assert orig.exists() and copy.exists()
    dialog.reject()


def test_session_survives_close_and_exports(panel, qtbot, tmp_path):
    QTest.keyClick(panel.table, Qt.Key.Key_S)  # keep both on pair 0
    left, right = panel.model.files_of(1)
    panel.select_row(1)
    QTest.keyClick(panel.table, Qt.Key.Key_A)
    panel.close()  # saves the session
    again = DuplicatesPanel()
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.model.rowCount() == 4)
    assert again.model.state[0] == PairState.KEPT_BOTH
    i = again.model.file_index(right.path if not panel.swapped else left.path)
    assert again.model.gone.get(i) == "trashed"
    n = again.export("csv", tmp_path / "out.csv")
    rows = list(csv.DictReader(open(tmp_path / "out.csv", encoding="utf-8")))
    assert n == 4 and rows[0]["decision"] == "kept both"
    assert again.export("json", tmp_path / "out.json") == 4
    data = json.loads((tmp_path / "out.json").read_text())
    assert {r["right_status"] for r in data["pairs"]} >= {"trashed"}
    again.close()


def test_settings_remember_folders_references_and_excludes(qtbot, tmp_path):
    p = DuplicatesPanel()
    qtbot.addWidget(p)
    p.add_paths([tmp_path / "x", tmp_path / "y"])
    p.folders.set_reference(str(tmp_path / "y"), True)
    p.folders.set_exclude_patterns(["*.gif", "*/cache/*"])
    p.set_threshold(91.5)
    p.close()
    q = DuplicatesPanel()
    qtbot.addWidget(q)
    assert [e.path for e in q.folders.entries()] == [str(tmp_path / "x"), str(tmp_path / "y")]
    assert q.folders.reference_dirs() == [tmp_path / "y"]
    assert q.folders.exclude_patterns() == ["*.gif", "*/cache/*"]
    assert q.threshold == 91.5
    assert q.settings.version == 1
    q.close()


def test_model_never_filters_rows_in_python(panel):
    # the visible rows are the sorted prefix: row k is pair k
    assert np.all(panel.model.visible_pairs() == np.arange(panel.model.rowCount()))


def reactivate(panel, qtbot) -> None:
    """After a dialog, the panel's window is active again (as when the user clicks it)."""
    panel.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is panel)
    panel.table.setFocus()


def answer_box(qtbot, button, seen: list[str]) -> None:
    """Answer the next message box with ``button`` (as a user would), recording its text."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    def poll():
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.button(button).click()
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(20, poll)


def test_permanent_delete_needs_the_setting_and_a_confirmation_naming_the_count(panel, qtbot,
                                                                                tmp_path):
    from PySide6.QtWidgets import QMessageBox

    seen: list[str] = []
    answer_box(qtbot, QMessageBox.StandardButton.Yes, seen)
    assert panel.set_permanent_delete(True)
    assert panel.prefs.permanent_delete and panel.actions.permanent_delete
    reactivate(panel, qtbot)
    left, right = panel.sides()
    answer_box(qtbot, QMessageBox.StandardButton.Cancel, seen)
    QTest.keyClick(panel.table, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: len(seen) == 2)
    assert "Permanently delete 1 file?" in seen[1]
    assert os.path.exists(right.path)  # cancelled: nothing happened
    reactivate(panel, qtbot)
    answer_box(qtbot, QMessageBox.StandardButton.Yes, seen)
    QTest.keyClick(panel.table, Qt.Key.Key_A)
    assert not os.path.exists(right.path) and trash_files(tmp_path) == []  # gone, not trashed
    assert panel.model.gone[panel.model.file_index(right.path)] == "deleted"
    assert not panel._undo  # nothing claims to be undoable


def test_where_trash_cannot_be_restored_the_user_is_told_before(panel, qtbot, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    panel.actions.can_restore_trash = False  # as on macOS and Windows
    panel._update_buttons()
    assert panel.trash_note.isVisible() and "cannot bring back" in panel.trash_note.text()
    seen: list[str] = []
    answer_box(qtbot, QMessageBox.StandardButton.No, seen)
    left, right = panel.sides()
    QTest.keyClick(panel.table, Qt.Key.Key_A)
    assert seen and "cannot bring back" in seen[0]
    assert os.path.exists(right.path)
    reactivate(panel, qtbot)
    answer_box(qtbot, QMessageBox.StandardButton.Yes, seen)
    QTest.keyClick(panel.table, Qt.Key.Key_A)
    assert not os.path.exists(right.path) and trash_files(tmp_path) == [Path(right.path).name]


def test_the_end_of_a_scan_says_when_the_large_library_mode_was_used(library):
    from dedupe_gui.gui.scan_controls import finished_message

    root, files, _ = library
    recs = [record(p) for p in files]
    normal = ScanResult(recs, PairTable.build([0], [1], [95.0], [2]), [], 2.0)
    large = ScanResult(recs, normal.pairs, [], 2.0, large_library=True)
    assert finished_message(normal) == f"Done: {len(recs)} pictures, 1 candidate pairs, " \
                                       "0 skipped, 2.0 s"
    assert finished_message(large).startswith(finished_message(normal))
    assert "large library" in finished_message(large)
