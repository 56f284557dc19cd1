"""The Duplicates panel's sessions: the result and every decision saved to a file (at the end
of a scan, after decisions, at exit) and reopened; export to CSV and JSON.

A mixin of DuplicatesPanel, kept apart so each module has one job: this one turns the panel's
state into a ``gui.session.Session`` and back (the file format lives in gui/session.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QToolButton

from dedupe_gui.core.results import ScanResult
from dedupe_gui.gui import session as sessions


class SessionMixin:
    """Save, open and export of DuplicatesPanel (see the module docstring)."""

    def _build_session_button(self) -> QToolButton:
        """The "Session" menu button: open, save, export CSV / JSON."""
        more = QToolButton()
        more.setText("Session")
        more.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        more.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(more)
        for act in (self.act_open_session, self.act_save, self.act_export_csv,
                    self.act_export_json):
            menu.addAction(act)
        more.setMenu(menu)
        return more

    def current_session(self) -> sessions.Session | None:
        if self._result is None:
            return None
        m = self.model
        states = {}
        for k in np.flatnonzero(m.state):
            fa, fb = m.files_of(int(k))
            states[(fa.path, fb.path)] = int(m.state[k])
        gone = {m.files[i].path: what for i, what in m.gone.items()}
        return sessions.Session(self._result, list(self._roots), self.threshold, states, gone)

    def save_session(self) -> None:
        s = self.current_session()
        if s is None:
            return
        try:
            sessions.save(s, self.session_path)
        except OSError as exc:
            self._report(f"Could not save the session: {exc}")

    def load_result(self, result: ScanResult, roots: list[str]) -> None:
        """Show a finished result (from a session file, a script or a test)."""
        self._load_session(sessions.Session(result, list(roots), self.threshold))

    def _load_session(self, s: sessions.Session) -> None:
        self._result = s.result
        self._roots = list(s.roots)
        self._undo.clear()
        self._redo.clear()
        self._current = None
        self.model.clear()
        self.model.set_result(s.result.files, s.result.pairs, s.states, s.gone)
        self._start_group_counts()
        if s.threshold is not None:
            self.slider.blockSignals(True)
            self.set_threshold(s.threshold)
            self.slider.blockSignals(False)
            self._update_threshold_label()
        self.model.set_threshold(self.threshold)
        self._apply_not_duplicate_marks()
        self._update_counts()
        self._reselect(None)

    def save_session_as(self) -> None:
        s = self.current_session()
        if s is None:
            self._report("Nothing to save yet")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save session", str(Path.home()),
                                              "Sessions (*.json)")
        if path:
            sessions.save(s, Path(path))
            self._report(f"Saved {path}")

    def open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open session", str(Path.home()),
                                              "Sessions (*.json)")
        if path:
            try:
                self._load_session(sessions.load(Path(path)))
            except (OSError, ValueError, KeyError) as exc:
                QMessageBox.warning(self, "Open session", f"Cannot open {path}: {exc}")

    def export(self, kind: str, path: Path | None = None) -> int:
        s = self.current_session()
        if s is None:
            self._report("Nothing to export yet")
            return 0
        if path is None:
            name, _ = QFileDialog.getSaveFileName(
                self, f"Export {kind.upper()}", str(Path.home() / f"duplicates.{kind}"),
                f"{kind.upper()} (*.{kind})")
            if not name:
                return 0
            path = Path(name)
        fn = sessions.export_csv if kind == "csv" else sessions.export_json
        n = fn(s, self.threshold, path)
        self._report(f"Exported {n} pairs to {path}")
        return n
