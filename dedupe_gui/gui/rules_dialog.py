"""The "Mark by rules" dialog: ordered rules, a live preview, apply with confirmation.

All decisions are ``core.rules.plan`` (which never removes the last copy of a group and never
touches a reference folder); the apply runs ``core.rules.apply`` in a thread as ONE undo step,
so a thousand trashes neither freeze the window nor need a thousand Ctrl+Z.
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dedupe_gui.core.results import FileRecord
from dedupe_gui.core.rules import NEEDS_ARG, RULE_KINDS, Plan, Rule, apply, plan

PREVIEW_GROUPS = 300  # groups listed in the preview (the counts cover all of them)
_ARG_HINT = {"prefer_folder": "folder", "avoid_folder": "folder",
             "prefer_format": "formats, e.g. heic,png"}
_DECISION_TEXT = {"keep": "keep", "reference": "keep (reference)", "remove": "remove"}


def rules_to_strings(rules: list[Rule]) -> list[str]:
    return [r.kind if r.arg is None else f"{r.kind}={r.arg}" for r in rules]


def rules_from_strings(items: list[str]) -> list[Rule]:
    out = []
    for s in items:
        kind, _, arg = s.partition("=")
        try:
            out.append(Rule(kind, arg or None))
        except ValueError:
            continue  # a rule from an older version: dropped, not fatal
    return out


class ApplyThread(QThread):
    """Runs ``rules.apply`` off the GUI thread (file operations can be slow on big sets)."""

    progressed = Signal(int, int)
    done = Signal(object)  # ApplyReport, or an Exception

    def __init__(self, plan_: Plan, actions, how: str, dest: Path | None,
                 roots: list[Path], parent=None) -> None:
        super().__init__(parent)
        self.plan, self.actions, self.how, self.dest, self.roots = plan_, actions, how, dest, roots
        self.cancel = threading.Event()

    def run(self) -> None:
        try:
            report = apply(self.plan, self.actions, self.how, self.dest,
                           keep_relative_to=self.roots or None,
                           progress=lambda n, t: self.progressed.emit(n, t), cancel=self.cancel)
            self.done.emit(report)
        except Exception as exc:  # noqa: BLE001 - shown to the user by the dialog
            self.done.emit(exc)


class RulesDialog(QDialog):
    """Binds the panel's groups at the current threshold to ``core.rules``."""

    def __init__(self, panel, parent: QWidget | None = None) -> None:
        super().__init__(parent or panel)
        self.panel = panel
        self.setWindowTitle("Mark by rules")
        self.resize(900, 700)
        self.groups: list[list[FileRecord]] = panel.rule_groups()
        self.plan: Plan | None = None
        self.report = None
        self._thread: ApplyThread | None = None

        intro = QLabel(
            f"<b>{len(self.groups)}</b> groups at similarity ≥ {panel.threshold:.1f} "
            "(pairs you already decided are left out). In each group the best file by the "
            "first rule is kept, ties go to the next rule. A group always keeps at least one "
            "file, and files in reference folders are never touched.")
        intro.setWordWrap(True)

        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Rule (tick to use; order matters)", "Value"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(self.update_preview)
        self._fill_rules(rules_from_strings(panel.prefs.rules) or None)
        row_h = self.fontMetrics().height() + 10
        self.table.verticalHeader().setDefaultSectionSize(row_h)
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height()
                                    + row_h * self.table.rowCount() + 4)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        up, down = QPushButton("Move up"), QPushButton("Move down")
        up.clicked.connect(lambda: self._move(-1))
        down.clicked.connect(lambda: self._move(1))
        self.prefer_reference = QCheckBox("When a group has a copy in a reference folder, "
                                          "remove all the others")
        self.prefer_reference.toggled.connect(self.update_preview)

        self.how = QComboBox()
        self.how.addItem("Send to the trash", "trash")
        self.how.addItem("Move to a folder", "move")
        if panel.prefs.permanent_delete:
            self.how.addItem("Delete permanently", "delete")
        self.dest = QLineEdit(panel.prefs.move_destination)
        self.dest.setPlaceholderText("Destination folder for moves")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.how.currentIndexChanged.connect(self._how_changed)

        rules_box = QGroupBox("Rules")
        rb = QVBoxLayout(rules_box)
        rb.addWidget(self.table)
        row = QHBoxLayout()
        row.addWidget(up)
        row.addWidget(down)
        row.addStretch(1)
        rb.addLayout(row)
        rb.addWidget(self.prefer_reference)
        how_row = QHBoxLayout()
        how_row.addWidget(QLabel("Files not kept:"))
        how_row.addWidget(self.how)
        how_row.addWidget(self.dest, 1)
        how_row.addWidget(browse)
        rb.addLayout(how_row)
        self._dest_widgets = (self.dest, browse)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("font-weight: bold;")
        self.preview = QTreeWidget()
        self.preview.setHeaderLabels(["File", "Decision", "Size", "Dimensions"])
        self.preview.setRootIsDecorated(True)
        self.preview.setUniformRowHeights(True)
        self.preview.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.preview.header().setStretchLastSection(False)
        for col, text in ((1, "keep (reference)"), (2, "1023.99 MB"), (3, "10000×10000")):
            self.preview.setColumnWidth(col, self.fontMetrics().horizontalAdvance(text) + 24)
        self.preview.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.progress = QProgressBar()
        self.progress.hide()

        self.buttons = QDialogButtonBox()
        self.apply_button = self.buttons.addButton("Apply…",
                                                   QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.apply_button.clicked.connect(self.confirm_and_apply)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        top = QHBoxLayout()
        top.addWidget(rules_box, 1)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.buttons)
        self._how_changed()
        self.update_preview()

    # ---- rules table ---------------------------------------------------------------------
    def _fill_rules(self, chosen: list[Rule] | None) -> None:
        chosen = chosen or [Rule("highest_resolution"), Rule("largest_file"), Rule("oldest")]
        kinds = [r.kind for r in chosen] + [k for k in RULE_KINDS if k not in
                                            {r.kind for r in chosen}]
        args = {r.kind: r.arg for r in chosen}
        on = {r.kind for r in chosen}
        self.table.blockSignals(True)
        self.table.setRowCount(len(kinds))
        for row, kind in enumerate(kinds):
            self._set_row(row, kind, kind in on, args.get(kind) or "")
        self.table.blockSignals(False)

    def _set_row(self, row: int, kind: str, on: bool, arg: str) -> None:
        name = QTableWidgetItem(RULE_KINDS[kind].replace(" {arg}", ""))
        name.setData(Qt.ItemDataRole.UserRole, kind)
        name.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                      | Qt.ItemFlag.ItemIsUserCheckable)
        name.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        value = QTableWidgetItem(arg)
        if kind in NEEDS_ARG:
            value.setToolTip(_ARG_HINT[kind])
            value.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                           | Qt.ItemFlag.ItemIsEditable)
            if not arg:
                value.setData(Qt.ItemDataRole.DisplayRole, "")
        else:
            value.setFlags(Qt.ItemFlag.NoItemFlags)
        self.table.setItem(row, 0, name)
        self.table.setItem(row, 1, value)

    def _row(self, row: int) -> tuple[str, bool, str]:
        name, value = self.table.item(row, 0), self.table.item(row, 1)
        return (name.data(Qt.ItemDataRole.UserRole), name.checkState() == Qt.CheckState.Checked,
                value.text().strip())

    def _move(self, step: int) -> None:
        row = self.table.currentRow()
        other = row + step
        if row < 0 or not 0 <= other < self.table.rowCount():
            return
        a, b = self._row(row), self._row(other)
        self.table.blockSignals(True)
        self._set_row(row, *b)
        self._set_row(other, *a)
        self.table.blockSignals(False)
        self.table.setCurrentCell(other, 0)
        self.update_preview()

    def set_rules(self, rules: list[Rule]) -> None:
        """Tick exactly ``rules``, in this order (used by tests and saved settings)."""
        self._fill_rules(rules)
        for row in range(len(rules), self.table.rowCount()):
            self.table.item(row, 0).setCheckState(Qt.CheckState.Unchecked)
        self.update_preview()

    def rules(self) -> tuple[list[Rule], list[str]]:
        """The ticked rules in order, and problems (a ticked rule missing its value)."""
        out, problems = [], []
        for row in range(self.table.rowCount()):
            kind, on, arg = self._row(row)
            if not on:
                continue
            if kind in NEEDS_ARG and not arg:
                problems.append(f"“{RULE_KINDS[kind].replace(' {arg}', '')}” needs a "
                                f"{_ARG_HINT[kind]}")
                continue
            out.append(Rule(kind, arg if kind in NEEDS_ARG else None))
        return out, problems

    # ---- preview ---------------------------------------------------------------------------
    def update_preview(self, *_args) -> None:
        rules, problems = self.rules()
        self.plan = plan(self.groups, rules, self.panel.folders.reference_dirs(),
                         prefer_reference=self.prefer_reference.isChecked())
        text = self.plan.summary()
        if problems:
            text += "  (ignored: " + "; ".join(problems) + ")"
        self.summary.setText(text)
        self.apply_button.setEnabled(self.plan.n_remove > 0)
        self.preview.clear()
        decisions = self.plan.decisions()
        items = []
        for n, g in enumerate(self.plan.groups[:PREVIEW_GROUPS]):
            group = QTreeWidgetItem([f"Group {n + 1}: keep {len(g.keep)}, remove {len(g.remove)}"])
            for rec in [*g.keep, *g.remove]:
                what = decisions.get(rec.path, "")
                child = QTreeWidgetItem([rec.path, _DECISION_TEXT.get(what, what),
                                         _size(rec.size), f"{rec.width}×{rec.height}"])
                if what == "remove":
                    child.setForeground(1, Qt.GlobalColor.darkRed)
                group.addChild(child)
            items.append(group)
        self.preview.addTopLevelItems(items)
        self.preview.expandAll()

    # ---- apply -----------------------------------------------------------------------------
    def _how_changed(self) -> None:
        move = self.how.currentData() == "move"
        for w in self._dest_widgets:
            w.setEnabled(move)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Move to folder", self.dest.text())
        if folder:
            self.dest.setText(folder)

    def confirm_and_apply(self, confirmed: bool = False) -> bool:
        """Ask (naming the count), then apply in a thread; ``confirmed`` skips the question."""
        if self.plan is None or not self.plan.n_remove:
            return False
        how = self.how.currentData()
        dest = Path(self.dest.text()) if how == "move" and self.dest.text() else None
        if how == "move" and dest is None:
            QMessageBox.warning(self, "Mark by rules", "Choose a destination folder first.")
            return False
        n = self.plan.n_remove
        verb = {"trash": "Send {n} files to the trash", "move": "Move {n} files to {d}",
                "delete": "PERMANENTLY delete {n} files (this cannot be undone)"}[how]
        question = verb.format(n=n, d=dest) + f", keeping {self.plan.n_keep}?"
        actions = self.panel.actions
        if how == "trash" and not actions.can_restore_trash:
            question += ("\n\nOn this system Undo cannot bring back files from the trash; "
                         "restore them from the system Trash if needed.")
        if not confirmed:
            answer = QMessageBox.question(self, "Mark by rules", question)
            if answer != QMessageBox.StandardButton.Yes:
                return False
        rules, _ = self.rules()
        self.panel.prefs.rules = rules_to_strings(rules)
        if dest is not None:
            self.panel.prefs.move_destination = str(dest)
        self.panel.settings.save_duplicates(self.panel.prefs)
        roots = [Path(r) for r in self.panel.scan_roots()] if self.panel.prefs.keep_relative_paths \
            else []
        self._thread = ApplyThread(self.plan, actions, how, dest, roots)
        self._thread.progressed.connect(self._progressed)
        self._thread.done.connect(self._done)
        self.progress.setRange(0, n)
        self.progress.show()
        self.apply_button.setEnabled(False)
        self._thread.start()
        return True

    def _progressed(self, done: int, total: int) -> None:
        self.progress.setValue(done)

    def _done(self, report) -> None:
        if self._thread is not None:
            self._thread.wait()
        self._thread = None
        self.progress.hide()
        if isinstance(report, Exception):
            QMessageBox.warning(self, "Mark by rules", f"Stopped: {report}")
            return
        self.report = report
        self.panel.rules_applied(report, self.how.currentData())
        msg = f"Done: {len(report.done)} files, {_size(report.bytes_freed)} freed."
        if report.refused:
            msg += f" {len(report.refused)} refused: " + "; ".join(
                r for _, r in report.refused[:3]) + (" …" if len(report.refused) > 3 else "")
        self.summary.setText(msg)

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def reject(self) -> None:
        if self._thread is not None:  # wait for the batch: it is one journalled undo step
            self._thread.cancel.set()
            self._thread.wait()
            self._thread = None
        super().reject()


def _size(n: int) -> str:
    from dedupe_gui.core.metadata import human_size

    return human_size(n)


__all__ = ["RulesDialog", "rules_from_strings", "rules_to_strings"]
