"""The decisions of the review pane: keep/trash/move, keep both, not a duplicate, undo and
redo, open/reveal, and the glue to the "mark by rules" dialog.

A mixin of DuplicatesPanel (it uses the panel's model, actions and widgets), kept apart so
each module has one job: this one turns a key press into exactly one call to
``core.actions`` / ``core.decisions`` and mirrors the outcome in the model and the undo stack.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMessageBox

from dedupe_gui.core.results import FileRecord
from dedupe_gui.gui.pair_model import PairState


@dataclass
class _Step:
    """One entry of the panel's undo stack. ``kind`` "file": an Actions step (the files in
    ``files`` were trashed/moved); "state": a pair decision without file changes."""

    kind: str
    label: str
    pairs: list[tuple[str, str]]
    state: int = 0
    files: tuple[str, ...] = ()
    what: tuple[str, ...] = ()


def _human_bytes(n: int) -> str:
    from dedupe_gui.core.metadata import human_size

    return human_size(n)


class DecisionsMixin:
    """Decision, undo and rules methods of DuplicatesPanel (see the module docstring)."""

    # ================================================================ decisions
    def _report(self, text: str) -> None:
        self.statusMessage.emit(text)

    def _confirm_trash(self, count: int) -> bool:
        """Say what cannot be undone before it happens (permanent delete, unrestorable trash)."""
        actions = self.actions
        if self.prefs.permanent_delete:
            answer = QMessageBox.warning(
                self, "Delete permanently",
                f"Permanently delete {count} file{'s' if count != 1 else ''}? "
                "This cannot be undone.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            return answer == QMessageBox.StandardButton.Yes
        if actions is not None and not actions.can_restore_trash and not self._trash_warned:
            answer = QMessageBox.question(
                self, "Send to trash",
                "On this system Undo cannot bring back files sent to the trash; you can "
                "restore them from the system Trash yourself. Continue?")
            if answer != QMessageBox.StandardButton.Yes:
                return False
            self._trash_warned = True
        return True

    def _remove(self, rec: FileRecord, keep: FileRecord, label: str) -> str | None:
        """Trash (or permanently delete) one file through Actions; the status text or None."""
        actions = self.actions
        if actions is None:
            self._report("File actions are not available in this build")
            return None
        from dedupe_gui.core.actions import ActionRefused

        try:
            if self.prefs.permanent_delete:
                actions.delete_permanently(rec, keep=keep)
                return "deleted"
            actions.trash(rec, keep=keep)
            return "trashed"
        except ActionRefused as exc:
            self._report(f"Refused: {exc}")
        except OSError as exc:
            self._report(f"Could not {label} {os.path.basename(rec.path)}: {exc}")
        return None

    def keep_side(self, keep: int) -> None:
        """Keep the picture on side ``keep`` (0 left, 1 right), trash the other one."""
        sides = self.sides()
        if sides is None or not self.model.is_open(self._current):  # type: ignore[arg-type]
            return
        victim = sides[1 - keep]
        if not self._confirm_trash(1):
            return
        done = self._remove(victim, sides[keep], "trash")
        if done is None:
            return
        i = self.model.file_index(victim.path)
        assert i is not None
        self.model.set_gone(i, done)
        if done == "trashed" and self.actions.can_restore_trash:  # else Actions keeps no undo
            self._push(_Step("file", f"{done} {os.path.basename(victim.path)}", [],
                             files=(victim.path,), what=(done,)))
        self._report(f"Kept {os.path.basename(sides[keep].path)}, "
                     f"{done} {os.path.basename(victim.path)}")
        self._after_decision()

    def move_side(self, side: int) -> None:
        """Keep the other picture, move the one on ``side`` to the chosen folder."""
        sides = self.sides()
        actions = self.actions
        if sides is None or actions is None or not self.model.is_open(self._current):  # type: ignore[arg-type]
            return
        dest = self.prefs.move_destination
        if not dest or not Path(dest).is_dir():
            dest = QFileDialog.getExistingDirectory(self, "Move to folder", dest or "")
            if not dest:
                return
            self.prefs.move_destination = dest
            self.settings.save_duplicates(self.prefs)
        rec = sides[side]
        root = None
        if self.prefs.keep_relative_paths:
            for r in self._roots:
                if rec.path.startswith(r.rstrip(os.sep) + os.sep):
                    root = Path(r)
                    break
        from dedupe_gui.core.actions import ActionRefused

        try:
            new = actions.move(rec, Path(dest), keep_relative_to=root, keep=sides[1 - side])
        except ActionRefused as exc:
            self._report(f"Refused: {exc}")
            return
        except OSError as exc:
            self._report(f"Could not move {os.path.basename(rec.path)}: {exc}")
            return
        what = f"moved to {new}"
        i = self.model.file_index(rec.path)
        assert i is not None
        self.model.set_gone(i, what)
        self._push(_Step("file", f"move {os.path.basename(rec.path)}", [], files=(rec.path,),
                         what=(what,)))
        self._report(f"Moved {os.path.basename(rec.path)} to {new}")
        self._after_decision()

    def keep_both(self) -> None:
        self._set_pair_state(PairState.KEPT_BOTH, "keep both")

    def not_duplicate(self) -> None:
        sides = self.sides()
        if sides is None:
            return
        try:
            self._mark_not_duplicate(sides[0], sides[1], True)
        except Exception as exc:  # noqa: BLE001 - the decision store is optional
            self._report(f"Could not remember the mark: {exc}")
        self._set_pair_state(PairState.NOT_DUPLICATE, "not a duplicate")

    def _mark_not_duplicate(self, a: FileRecord, b: FileRecord, on: bool) -> None:
        if on:
            self.decisions.mark(a.content_key, b.content_key)
        else:
            self.decisions.unmark(a.content_key, b.content_key)

    def _apply_not_duplicate_marks(self) -> None:
        """Pairs the user said are different (by content key, so renames keep the mark)."""
        try:
            marked = self.decisions.pair_mask(self.model.files, self.model.a, self.model.b)
        except Exception as exc:  # noqa: BLE001
            self._report(f"Could not read 'not a duplicate' marks: {exc}")
            return
        for k in np.flatnonzero(marked):
            if self.model.state[k] == PairState.OPEN:
                self.model.state[k] = PairState.NOT_DUPLICATE

    def _set_pair_state(self, state: PairState, label: str) -> None:
        paths = self._current_paths()
        if paths is None or self._current is None or not self.model.is_open(self._current):
            return
        self.model.set_state(self._current, state)
        self._push(_Step("state", label, [paths], state=int(state)))
        self._report(f"Marked: {label}")
        self._after_decision()

    def _push(self, step: _Step) -> None:
        self._undo.append(step)
        self._redo.clear()

    def _after_decision(self) -> None:
        self._update_counts()
        self._advance()
        self._update_buttons()
        self._save_timer.start()

    # ================================================================ undo / redo
    def _refresh_gone(self, paths: tuple[str, ...], what: tuple[str, ...], restored: bool) -> None:
        for p, w in zip(paths, what, strict=True):
            i = self.model.file_index(p)
            if i is not None:
                if restored and os.path.exists(p):
                    self.model.set_gone(i, None)
                elif not restored and not os.path.exists(p):
                    self.model.set_gone(i, w)

    def undo(self) -> None:
        if not self._undo:
            if self._actions is not None and self._actions.can_undo:
                label = self._actions.undo()  # an action from an earlier session
                self._recheck_gone()
                self._report(f"Undone: {label}" if label else "Nothing to undo")
            else:
                self._report("Nothing to undo")
            self._update_buttons()
            return
        step = self._undo.pop()
        if not self._replay(step, undo=True):
            self._undo.append(step)
            return
        self._redo.append(step)
        self._back_to(step)

    def redo(self) -> None:
        if not self._redo:
            self._report("Nothing to redo")
            return
        step = self._redo.pop()
        if not self._replay(step, undo=False):
            self._redo.append(step)
            return
        self._undo.append(step)
        self._update_counts()
        if self._current is not None and not self.model.is_open(self._current):
            self._advance()
        self._update_buttons()
        self._save_timer.start()

    def _replay(self, step: _Step, undo: bool) -> bool:
        """Undo (or redo) ``step`` and say so; False when the file action failed (reported;
        the caller puts the step back on its stack)."""
        verb = "undo" if undo else "redo"
        if step.kind == "file":
            try:
                label = self.actions.undo() if undo else self.actions.redo()
            except Exception as exc:  # noqa: BLE001 - reported, the stacks stay consistent
                self._report(f"Could not {verb}: {exc}")
                return False
            self._refresh_gone(step.files, step.what, restored=undo)
        else:
            label = ""
            state = PairState.OPEN if undo else PairState(step.state)
            for pa, pb in step.pairs:
                pair = self.model.find_pair(pa, pb)
                if pair is None:
                    continue
                self.model.set_state(pair, state)
                if step.state == PairState.NOT_DUPLICATE:
                    fa, fb = self.model.files_of(pair)
                    try:
                        self._mark_not_duplicate(fa, fb, not undo)
                    except Exception as exc:  # noqa: BLE001
                        self._report(f"Could not {'forget' if undo else 'store'} the mark: "
                                     f"{exc}")
        self._report(f"{'Undone' if undo else 'Redone'}: {label or step.label}")
        return True

    def _back_to(self, step: _Step) -> None:
        """After an undo, show the pair it concerned."""
        target = None
        if step.pairs:
            target = self.model.find_pair(*step.pairs[0])
        elif step.files:
            i = self.model.file_index(step.files[0])
            if i is not None:
                hits = np.flatnonzero((self.model.a == i) | (self.model.b == i))
                target = int(hits[0]) if len(hits) else None
        if target is not None:
            row = self.model.row_of(target)
            if row is not None:
                self.select_row(row)
                self._show_pair(target, force=True)
        self._update_counts()
        self._update_buttons()
        self._save_timer.start()

    def _recheck_gone(self) -> None:
        for i, _ in list(self.model.gone.items()):
            if os.path.exists(self.model.files[i].path):
                self.model.set_gone(i, None)
        self._update_counts()

    # ================================================================ open / reveal
    def open_file(self, side: int) -> None:
        sides = self.sides()
        if sides is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(sides[side].path))

    def reveal(self, side: int) -> None:
        """Show the file in the file manager (selected where the platform allows)."""
        sides = self.sides()
        if sides is None:
            return
        path = sides[side].path
        import subprocess

        if sys.platform == "darwin":
            subprocess.Popen(["open", "-R", path])  # noqa: S603,S607
        elif sys.platform == "win32":
            subprocess.Popen(["explorer", "/select,", path])  # noqa: S603,S607
        else:
            QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))

    # ================================================================ rules
    def open_rules(self):
        """The "Mark by rules" dialog over the open pairs at the current threshold."""
        if not len(self.model.a):
            self._report("Nothing to mark: scan first")
            return None
        from dedupe_gui.gui.rules_dialog import RulesDialog

        dialog = RulesDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.rules_dialog = dialog
        return dialog

    def rule_groups(self) -> list[list[FileRecord]]:
        """Groups of the still-open pairs at the threshold, without files already gone."""
        from dedupe_gui.core.grouping import group_indices
        from dedupe_gui.core.results import PairTable

        m = self.model
        pairs = m.visible_pairs()
        keep = pairs[m.open_mask()[pairs]]
        table = PairTable(m.a[keep], m.b[keep], m.score[keep], m.distance[keep])
        if not m.sorted:
            table = PairTable.build(table.a, table.b, table.score, table.distance)
        groups = group_indices(table, len(m.files), self.threshold)
        return [[m.files[i] for i in g] for g in groups]

    def scan_roots(self) -> list[str]:
        return list(self._roots)

    def rules_applied(self, report, how: str) -> None:
        """After a bulk apply (one Actions step): mark what left, one undo entry for all."""
        if not report.done:
            return
        paths, whats = [], []
        for rec, new in report.done:
            what = f"moved to {new}" if new is not None else (
                "deleted" if how == "delete" else "trashed")
            i = self.model.file_index(rec.path)
            if i is not None:
                self.model.set_gone(i, what)
            paths.append(rec.path)
            whats.append(what)
        if how == "move" or (how == "trash" and self.actions.can_restore_trash):
            self._push(_Step("file", f"bulk {how} of {len(paths)} files", [],
                             files=tuple(paths), what=tuple(whats)))
        self._report(f"Rules applied: {len(report.done)} files, "
                     f"{_human_bytes(report.bytes_freed)} freed"
                     + (f", {len(report.refused)} refused" if report.refused else ""))
        self._after_decision()

