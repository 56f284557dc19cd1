"""The Duplicates panel's review pane: the two pictures side by side, zoom/fit/swap, flicker
(hold F), the difference heat-map, the facts table and the decision buttons' enabled state.

A mixin of DuplicatesPanel, kept apart so each module has one job: this one shows the current
pair. Pictures decode in the ImageLoader thread (prefetching the next pair); QPixmaps are
made here, on the GUI thread, once per decoded image.
"""
from __future__ import annotations

import os

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from dedupe_gui.core.results import FileRecord
from dedupe_gui.gui.image_compare import CompareView
from dedupe_gui.gui.image_loader import NOW, SOON, Decoded
from dedupe_gui.gui.metadata_table import MetadataTable

PIXMAP_CACHE = 8  # decoded pictures kept for the review pane


class ReviewPaneMixin:
    """The review pane of DuplicatesPanel (see the module docstring)."""

    def _build_review_pane(self) -> QWidget:
        """The two synchronized views, their tools, the decision buttons and the facts table."""
        self.compare = CompareView()
        self.compare.zoomChanged.connect(self._zoom_changed)
        self.compare.installEventFilter(self)
        self.score_label = QLabel()
        self.score_label.setStyleSheet("font-weight: bold;")
        self.zoom_label = QLabel()
        self.trash_note = QLabel()
        self.trash_note.setStyleSheet("color: #c77700;")
        self.trash_note.hide()
        view_row = QHBoxLayout()
        view_row.setSpacing(4)
        view_row.addWidget(self.score_label)
        view_row.addSpacing(12)
        for act in (self.act_fit, self.act_100, self.act_swap, self.act_heat):
            view_row.addWidget(self._tool(act))
        self.flicker_button = flicker = QToolButton()
        flicker.setText("Flicker (hold F)")
        flicker.setToolTip("Hold F (or this button) to see the other picture in place")
        flicker.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        flicker.setEnabled(False)
        flicker.pressed.connect(lambda: self.compare.set_flicker(True))
        flicker.released.connect(lambda: self.compare.set_flicker(False))
        view_row.addWidget(flicker)
        view_row.addWidget(self.zoom_label)
        view_row.addStretch(1)
        for act in (self.act_open_left, self.act_reveal_left):
            view_row.addWidget(self._tool(act))

        decide_row = QHBoxLayout()
        decide_row.setSpacing(4)
        self.decision_buttons = [
            self._tool(self.act_keep_left, "◀ Keep left  (A)"),
            self._tool(self.act_keep_right, "Keep right ▶  (D)"),
            self._tool(self.act_keep_both, "Keep both  (S)"),
            self._tool(self.act_not_dup, "Not a duplicate  (N)"),
            self._tool(self.act_move_right, "Move right…  (M)"),
        ]
        for btn in self.decision_buttons:
            decide_row.addWidget(btn)
        decide_row.addStretch(1)
        for act, text in ((self.act_undo, "Undo"), (self.act_redo, "Redo")):
            decide_row.addWidget(self._tool(act, text))

        self.meta_table = MetadataTable()
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(4, 8, 8, 8)
        rv.setSpacing(6)
        rv.addLayout(view_row)
        rv.addWidget(self.compare, 1)
        rv.addWidget(self.trash_note)
        rv.addLayout(decide_row)
        rv.addWidget(self.meta_table)
        return right

    def sides(self) -> tuple[FileRecord, FileRecord] | None:
        """(left, right) file records as displayed (after swap)."""
        if self._current is None:
            return None
        fa, fb = self.model.files_of(self._current)
        return (fb, fa) if self.swapped else (fa, fb)

    def _show_pair(self, pair: int, force: bool = False) -> None:
        if pair != self._current:
            self.swapped = False
            self.compare.set_show_heatmap(self.act_heat.isChecked())
        if pair == self._current and not force and self.compare.panes[0].pixmap is not None:
            self._update_buttons()
            return
        self._current = pair
        self.compare.set_heatmap(None)
        sides = self.sides()
        assert sides is not None
        self.score_label.setText(f"Score {float(self.model.score[pair]):.1f}")
        for side, rec in enumerate(sides):
            self._show_side(side, rec)
        self._refresh_meta()
        if self.act_heat.isChecked():
            self._request_heatmap()
        self._prefetch()
        self._update_buttons()

    def _show_side(self, side: int, rec: FileRecord) -> None:
        gone = self.model.gone.get(self.model.file_index(rec.path) or -1)
        dec = self._pixmaps.get(rec.path)
        caption = f"{os.path.basename(rec.path)} — {rec.width}×{rec.height}"
        if gone:
            caption += f"  [{gone}]"
        if dec is None:
            self.compare.set_image(side, None, QSize(rec.width, rec.height), caption, "Loading…")
            self.loader.request(rec.path, NOW, self._screen_size(rec))
            return
        self._pixmaps.move_to_end(rec.path)
        if dec.image.isNull():
            self.compare.set_image(side, None, QSize(), caption,
                                   f"Cannot show this file: {dec.error}")
            return
        pix = getattr(dec, "_pixmap", None)
        if pix is None:
            pix = QPixmap.fromImage(dec.image)  # GUI thread only
            object.__setattr__(dec, "_pixmap", pix)
        screen = getattr(dec, "_screen", None)
        if screen is None and dec.screen is not None and not dec.screen.isNull():
            screen = QPixmap.fromImage(dec.screen)
            object.__setattr__(dec, "_screen", screen)
        self.compare.set_image(side, pix, dec.original, caption, screen=screen)

    def _screen_size(self, rec: FileRecord, pair: int | None = None) -> QSize | None:
        """The size ``rec`` gets in the fitted view of ``pair`` (default: the current one),
        so the loader can pre-scale it off the GUI thread."""
        pair = self._current if pair is None else pair
        if pair is None:
            return None
        fa, fb = self.model.files_of(pair)
        originals = (QSize(fa.width, fa.height), QSize(fb.width, fb.height))
        sizes = self.compare.fit_size(originals, self.compare.panes[0].size())
        return sizes[0] if rec.path == fa.path else sizes[1]

    def _refresh_meta(self) -> None:
        sides = self.sides()
        if sides is None:
            return
        metas = [self._pixmaps[r.path].meta if r.path in self._pixmaps else None for r in sides]
        self.meta_table.show_meta(metas[0], metas[1])

    def _prefetch(self) -> None:
        row = self.current_row()
        if row is None:
            return
        nxt = self.model.next_open_row(row)
        if nxt is not None:
            pair = self.model.pair_at(nxt)
            for rec in self.model.files_of(pair):
                if rec.path not in self._pixmaps:
                    self.loader.request(rec.path, SOON, self._screen_size(rec, pair))

    def _on_loaded(self, dec: Decoded) -> None:
        self._pixmaps[dec.path] = dec
        while len(self._pixmaps) > PIXMAP_CACHE:
            self._pixmaps.popitem(last=False)
        sides = self.sides()
        if sides is not None:
            for side, rec in enumerate(sides):
                if rec.path == dec.path:
                    self._show_side(side, rec)
            self._refresh_meta()

    def _request_heatmap(self) -> None:
        sides = self.sides()
        if sides is None:
            return
        key = (sides[0].path, sides[1].path)
        if key in self._heat_cache:
            self.compare.set_heatmap(self._heat_cache[key])  # type: ignore[arg-type]
        else:
            self.loader.request_heatmap(*key)

    def _on_heatmap(self, path_a: str, path_b: str, image) -> None:
        self._heat_cache[(path_a, path_b)] = image
        while len(self._heat_cache) > 8:
            self._heat_cache.pop(next(iter(self._heat_cache)))
        sides = self.sides()
        if sides is not None and (sides[0].path, sides[1].path) == (path_a, path_b):
            self.compare.set_heatmap(image)

    def _zoom_changed(self, percent: float) -> None:
        has = self.compare.panes[0].pixmap is not None or self.compare.panes[1].pixmap is not None
        self.zoom_label.setText(f"{percent:.0f}%" if has else "")

    def swap(self) -> None:
        if self._current is None:
            return
        self.swapped = not self.swapped
        for side, rec in enumerate(self.sides() or ()):
            self._show_side(side, rec)
        self._refresh_meta()
        if self.act_heat.isChecked():
            self._request_heatmap()

    def toggle_heatmap(self) -> None:
        on = self.act_heat.isChecked()
        self.compare.set_show_heatmap(on)
        if on:
            self._request_heatmap()

    def _update_buttons(self) -> None:
        has = self._current is not None
        open_ = has and self.model.is_open(self._current)  # type: ignore[arg-type]
        for act in (self.act_keep_left, self.act_keep_right, self.act_keep_both,
                    self.act_not_dup, self.act_move_left, self.act_move_right):
            act.setEnabled(bool(open_))
        for act in (self.act_swap, self.act_open_left, self.act_open_right,
                    self.act_reveal_left, self.act_reveal_right, self.act_heat, self.act_fit,
                    self.act_100):
            act.setEnabled(has)
        self.flicker_button.setEnabled(has)
        self.act_undo.setEnabled(bool(self._undo) or bool(
            self._actions is not None and self._actions.can_undo))
        self.act_redo.setEnabled(bool(self._redo))
        if self._undo:
            self.act_undo.setToolTip(f"Undo {self._undo[-1].label} (Ctrl+Z)")
        if self._redo:
            self.act_redo.setToolTip(f"Redo {self._redo[-1].label} (Ctrl+Shift+Z)")
        actions = self._actions
        if actions is not None and not actions.can_restore_trash:
            self.trash_note.setText("Note: on this system Undo cannot bring back files sent "
                                    "to the trash (restore them from the system Trash).")
            self.trash_note.show()

    # ================================================================ flicker key
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        et = event.type()
        if et in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and \
                event.key() == Qt.Key.Key_F and not event.modifiers():  # type: ignore[attr-defined]
            if not event.isAutoRepeat():  # type: ignore[attr-defined]
                self.compare.set_flicker(et == QEvent.Type.KeyPress)
            return True
        return super().eventFilter(obj, event)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_F and not event.isAutoRepeat():
            self.compare.set_flicker(True)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_F and not event.isAutoRepeat():
            self.compare.set_flicker(False)
        else:
            super().keyReleaseEvent(event)
