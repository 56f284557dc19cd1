"""The Duplicates panel's actions and keys: every command is a QAction with its shortcuts (so a
key and its button are one thing), the tool-button factory, and the help overlay's key list.

A mixin of DuplicatesPanel, kept apart so each module has one job: this one names the
commands; the slots live in the mixins that do the work.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QSizePolicy, QToolButton

KEYS: list[tuple[str, str]] = [
    ("A", "keep left, trash right"),
    ("D", "keep right, trash left"),
    ("S", "keep both"),
    ("N", "not a duplicate (remembered by content)"),
    ("M / Shift+M", "move right / left to the chosen folder"),
    ("J or ↓  /  K or ↑", "next / previous pair"),
    ("X", "swap sides"),
    ("F (hold)", "flicker: show the other picture in place"),
    ("H", "difference heat-map on the right"),
    ("0 / 1 / + / −", "fit / 100% / zoom in / zoom out (wheel and drag too)"),
    ("O / Shift+O", "open left / right in the system viewer"),
    ("R / Shift+R", "reveal left / right in its folder"),
    ("Ctrl+Z / Ctrl+Shift+Z, Ctrl+Y", "undo / redo"),
    ("Ctrl+B", "mark by rules…"),
    ("F1 or ?", "this help"),
]


class KeysMixin:
    """The actions (keys + buttons) of DuplicatesPanel (see the module docstring)."""

    def _action(self, text: str, keys: list[str] | str | None, slot, tip: str = "") -> QAction:
        act = QAction(text, self)
        if keys:
            seqs = [QKeySequence(k) for k in ([keys] if isinstance(keys, str) else keys)]
            act.setShortcuts(seqs)
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shown = " / ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in seqs)
            act.setToolTip(f"{tip or text} ({shown})")
        elif tip:
            act.setToolTip(tip)
        act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        a = self._action
        self.act_keep_left = a("Keep left", "A", lambda: self.keep_side(0),
                               "Keep the left picture, send the right one to the trash")
        self.act_keep_right = a("Keep right", "D", lambda: self.keep_side(1),
                                "Keep the right picture, send the left one to the trash")
        self.act_keep_both = a("Keep both", "S", self.keep_both, "Keep both pictures")
        self.act_not_dup = a("Not a duplicate", "N", self.not_duplicate,
                             "Not a duplicate: never show this pair again (survives renames)")
        self.act_move_right = a("Move right…", "M", lambda: self.move_side(1),
                                "Keep the left picture, move the right one to a folder")
        self.act_move_left = a("Move left…", "Shift+M", lambda: self.move_side(0),
                               "Keep the right picture, move the left one to a folder")
        self.act_next = a("Next", "J", lambda: self.step(1), "Next pair")
        self.act_prev = a("Previous", "K", lambda: self.step(-1), "Previous pair")
        self.act_swap = a("Swap", "X", self.swap, "Swap the two sides")
        self.act_heat = a("Heat-map", "H", self.toggle_heatmap,
                          "Show where the two pictures differ, on the right")
        self.act_heat.setCheckable(True)
        self.act_fit = a("Fit", "0", lambda: self.compare.fit(), "Fit both pictures")
        self.act_100 = a("100%", "1", lambda: self.compare.actual_size(),
                         "One pixel of the left original per screen pixel")
        self.act_zoom_in = a("Zoom in", ["+", "="], lambda: self.compare.zoom_by(1.25))
        self.act_zoom_out = a("Zoom out", "-", lambda: self.compare.zoom_by(0.8))
        self.act_open_left = a("Open", "O", lambda: self.open_file(0),
                               "Open the left picture in the system viewer")
        self.act_open_right = a("Open right", "Shift+O", lambda: self.open_file(1))
        self.act_reveal_left = a("Reveal", "R", lambda: self.reveal(0),
                                 "Show the left picture's folder")
        self.act_reveal_right = a("Reveal right", "Shift+R", lambda: self.reveal(1))
        self.act_undo = a("Undo", ["Ctrl+Z"], self.undo)
        self.act_redo = a("Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], self.redo)
        self.act_rules = a("Mark by rules…", "Ctrl+B", self.open_rules,
                           "Choose which copy to keep in every group, by rules")
        self.act_help = a("Keys", ["F1", "?"], lambda: self.help.toggle(), "Keyboard help")
        self.act_save = a("Save session…", None, self.save_session_as,
                          "Save the results and decisions to a file")
        self.act_open_session = a("Open session…", None, self.open_session_dialog)
        self.act_export_csv = a("Export CSV…", None, lambda: self.export("csv"))
        self.act_export_json = a("Export JSON…", None, lambda: self.export("json"))

    def _tool(self, action: QAction, text: str | None = None) -> QToolButton:
        btn = QToolButton()
        if text:
            action.setIconText(text)  # the button's label; menus keep the action's text
        btn.setDefaultAction(action)
        btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        btn.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        return btn
