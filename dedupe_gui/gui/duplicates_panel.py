"""The Duplicates panel: folders, scan, the pair list with its threshold slider, the review
pane and the decisions.

Thin on purpose: the scan is ``core.scan`` in a ScanThread, every file change is a call to
``core.actions.Actions``, "not a duplicate" marks are ``core.decisions``, bulk marking is
``core.rules``; this module wires them to widgets and keys. Nothing slow runs here: images
decode in an ImageLoader thread, the list model only does numpy on arrays.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QObject,
    QSize,
    Qt,
    QThread,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dedupe_gui.core.group_counts import prefix_group_counts
from dedupe_gui.core.grouping import component_labels
from dedupe_gui.core.results import FileRecord, ScanResult
from dedupe_gui.gui import session as sessions
from dedupe_gui.gui.folder_list import FolderList
from dedupe_gui.gui.help_overlay import HelpOverlay
from dedupe_gui.gui.image_compare import CompareView
from dedupe_gui.gui.image_loader import NOW, SOON, Decoded, ImageLoader
from dedupe_gui.gui.metadata_table import MetadataTable
from dedupe_gui.gui.pair_model import PairModel
from dedupe_gui.gui.progress_strip import ProgressStrip
from dedupe_gui.gui.review_decisions import DecisionsMixin, _Step  # noqa: F401
from dedupe_gui.gui.scan_thread import ScanThread, renice_workers
from dedupe_gui.gui.settings import DuplicateSettings, Settings, data_dir

SLIDER_STEPS = 2  # slider units per score point (0.5 steps)
PIXMAP_CACHE = 8
GROUP_COUNT_SYNC = 20_000  # pairs: below this the prefix group counts are computed inline
SESSION_FILE = "last-session.json"
JOURNAL_FILE = "actions.sqlite"

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


class _GroupCounter(QThread):
    """Computes the prefix group counts of a big result in the background."""

    done = Signal(int, object)

    def __init__(self, generation: int, n_files: int, a: np.ndarray, b: np.ndarray) -> None:
        super().__init__()
        self.generation, self.n_files, self.a, self.b = generation, n_files, a, b

    def run(self) -> None:
        try:
            self.done.emit(self.generation, prefix_group_counts(self.n_files, self.a, self.b))
        except Exception:  # noqa: BLE001 - the counts then come from the slower fallback
            pass


class _PairTable(QTableView):
    """The pair list; letters are shortcuts here, not a keyboard search."""

    def keyboardSearch(self, search: str) -> None:  # noqa: N802
        pass


class DuplicatesPanel(DecisionsMixin, QWidget):
    statusMessage = Signal(str)

    def __init__(self, parent=None, data_path: Path | None = None) -> None:
        super().__init__(parent)
        self.settings = Settings()
        self.prefs: DuplicateSettings = self.settings.load_duplicates()
        self.data_path = Path(data_path) if data_path else data_dir()
        self.session_path = self.data_path / SESSION_FILE
        self._scan_id = 0
        self._thread: ScanThread | None = None
        self._old_threads: list[ScanThread] = []
        self._roots: list[str] = []
        self._result: ScanResult | None = None
        self._current: int | None = None  # pair index on screen
        self.swapped = False
        self._pixmaps: OrderedDict[str, Decoded] = OrderedDict()
        self._heat_cache: dict[tuple[str, str], object] = {}
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._trash_warned = False
        self._actions = None
        self._decisions = None
        self._group_counts: np.ndarray | None = None
        self._group_gen = 0
        self._group_threads: list[_GroupCounter] = []
        self._reniced: set[int] = set()

        self.model = PairModel(self)
        self.loader = ImageLoader()
        self.loader.loaded.connect(self._on_loaded)
        self.loader.heatmap_ready.connect(self._on_heatmap)
        self.loader.start()

        self._build_actions()
        self._build_ui()
        self.folders.set_entries(self.prefs.folders)
        self.folders.set_exclude_patterns(self.prefs.excludes)
        self.folders.changed.connect(self._save_prefs)
        self.help = HelpOverlay(self, KEYS)

        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(1500)
        self._save_timer.timeout.connect(self.save_session)
        QTimer.singleShot(0, self._startup)
        # The engine's modules load now, not on the GUI thread when Scan is pressed (cv2,
        # scipy and friends take ~0.1 s to import).
        import dedupe_gui.core.scan  # noqa: F401

    # ================================================================ construction
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

    def _build_ui(self) -> None:
        # --- left column: folders, scan, slider, pair list
        self.folders = FolderList()
        self.scan_button = QPushButton("Scan")
        self.scan_button.setDefault(True)
        self.scan_button.clicked.connect(lambda: self.start_scan())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_scan)
        self.progress_bar = ProgressStrip()  # always in the layout: showing it re-lays out
        self.progress_bar.set_range(0, 1)
        for w in (self.scan_button, self.cancel_button):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scan_row = QHBoxLayout()
        scan_row.addWidget(self.scan_button, 1)
        scan_row.addWidget(self.cancel_button)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        from dedupe_gui.core.matching import DEFAULT_THRESHOLD, MIN_SCORE

        self.slider.setRange(int(MIN_SCORE * SLIDER_STEPS), 100 * SLIDER_STEPS)
        self.slider.setPageStep(2 * SLIDER_STEPS)
        self.slider.setToolTip("Similarity threshold: only pairs at least this similar are "
                               "listed (no rescan needed)")
        self.threshold_label = QLabel()
        self.threshold_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("≥ 100.0") + 8)
        self.counts_label = QLabel("No results yet")
        self.counts_label.setWordWrap(True)
        slider_row = QHBoxLayout()
        slider_row.addWidget(QLabel("Similarity"))
        slider_row.addWidget(self.slider, 1)
        slider_row.addWidget(self.threshold_label)

        self.table = _PairTable()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        self.table.setColumnWidth(0, self.fontMetrics().horizontalAdvance("Score") + 24)
        self.table.setColumnWidth(5, self.fontMetrics().horizontalAdvance("kept both") + 16)
        for col in (3, 4):  # sizes: in the facts table below the pictures; a right-click shows
            self.table.setColumnHidden(col, True)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for col, name in ((3, "Left size"), (4, "Right size")):
            act = QAction(f"Show {name.lower()}", header)
            act.setCheckable(True)
            act.toggled.connect(lambda on, c=col: self.table.setColumnHidden(c, not on))
            header.addAction(act)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.installEventFilter(self)

        tools_row = QHBoxLayout()
        rules_btn = self._tool(self.act_rules)
        more = QToolButton()
        more.setText("Session")
        more.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        more.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(more)
        for act in (self.act_open_session, self.act_save, self.act_export_csv,
                    self.act_export_json):
            menu.addAction(act)
        more.setMenu(menu)
        options = QToolButton()
        options.setText("Options")
        options.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        options.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        omenu = QMenu(options)
        self.act_permanent = omenu.addAction("Delete permanently instead of using the trash")
        self.act_permanent.setCheckable(True)
        self.act_permanent.setChecked(self.prefs.permanent_delete)
        self.act_permanent.toggled.connect(self.set_permanent_delete)
        self.act_keep_rel = omenu.addAction("Keep the folder structure when moving")
        self.act_keep_rel.setCheckable(True)
        self.act_keep_rel.setChecked(self.prefs.keep_relative_paths)
        self.act_keep_rel.toggled.connect(lambda on: self._set_pref("keep_relative_paths", on))
        self.act_hidden = omenu.addAction("Include hidden files and folders")
        self.act_hidden.setCheckable(True)
        self.act_hidden.setChecked(self.prefs.include_hidden)
        self.act_hidden.toggled.connect(lambda on: self._set_pref("include_hidden", on))
        omenu.addAction("Folder for moves…", self.choose_move_destination)
        omenu.addSeparator()
        self.act_cluster = omenu.addAction("Scan on a Dask cluster…", self.choose_cluster_address)
        self._update_cluster_action()
        options.setMenu(omenu)
        tools_row.addWidget(rules_btn)
        tools_row.addWidget(more)
        tools_row.addWidget(options)
        tools_row.addStretch(1)
        tools_row.addWidget(self._tool(self.act_prev, "↑ Previous"))
        tools_row.addWidget(self._tool(self.act_next, "Next ↓"))
        tools_row.addWidget(self._tool(self.act_help, "?"))

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(8, 8, 4, 8)
        lv.setSpacing(6)
        self.folders.setMaximumHeight(190)
        lv.addWidget(self.folders)
        lv.addLayout(scan_row)
        lv.addWidget(self.progress_bar)
        lv.addSpacing(4)
        lv.addLayout(slider_row)
        lv.addWidget(self.counts_label)
        lv.addWidget(self.table, 5)
        lv.addLayout(tools_row)

        # --- right column: the review pane
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
        flicker = QToolButton()
        flicker.setText("Flicker (hold F)")
        flicker.setToolTip("Hold F (or this button) to see the other picture in place")
        flicker.setFocusPolicy(Qt.FocusPolicy.NoFocus)
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

        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([480, 900])
        self.splitter = split
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(split)

        threshold = self.prefs.threshold if self.prefs.threshold is not None else DEFAULT_THRESHOLD
        self.slider.setValue(round(threshold * SLIDER_STEPS))
        self.model.threshold = self.threshold
        self.slider.valueChanged.connect(self._slider_moved)
        self._update_threshold_label()
        self.compare.clear("Drop folders on the window or use “Add folder…”, then Scan")
        self._update_buttons()

    # ================================================================ start-up / shutdown
    def _startup(self) -> None:
        try:
            actions = self.actions  # opening the journal repairs interrupted actions
        except Exception as exc:  # noqa: BLE001 - reported, the review still works
            actions = None
            self.statusMessage.emit(f"The action journal cannot be opened: {exc}")
        if actions is not None and actions.recovered:  # not modal: nothing waits on the user
            self.statusMessage.emit("Journal: " + " ".join(actions.recovered))
        try:
            self.decisions  # noqa: B018 - open (and create) the marks database now
        except Exception as exc:  # noqa: BLE001
            self.statusMessage.emit(f"The 'not a duplicate' marks cannot be opened: {exc}")
        if self._result is None and self.session_path.exists():
            try:
                self._load_session(sessions.load(self.session_path))
                self.statusMessage.emit("Reopened the last session")
            except Exception as exc:  # noqa: BLE001 - a broken session must not stop the app
                self.statusMessage.emit(f"Could not reopen the last session: {exc}")

    def shutdown(self) -> None:
        """Stop threads and save; the main window calls this when it closes."""
        self.save_session()
        self._save_prefs()
        self.settings.sync()
        for thread in [self._thread, *self._old_threads]:
            if thread is not None:
                thread.cancel()
        for thread in [self._thread, *self._old_threads]:
            if thread is not None:
                thread.wait()
        self._thread = None
        self._old_threads.clear()
        for thread in list(self._group_threads):
            thread.wait()
        # A cancelled scan's pool lets its workers finish their chunk in the background;
        # at exit, wait for them (briefly) so no orphan outlives the window.
        import multiprocessing

        for child in multiprocessing.active_children():
            if child.pid in self._reniced:
                child.join(timeout=5)
        if self.loader.isRunning():
            self.loader.stop()
        if self._actions is not None:  # releases the journal lock for the next instance
            self._actions.close()
            self._actions = None
        if self._decisions is not None:
            self._decisions.close()
            self._decisions = None

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

    # ================================================================ core objects
    @property
    def actions(self):
        """The journalled file operations (core.actions), made on first use."""
        if self._actions is None:
            from dedupe_gui.core.actions import Actions

            self._actions = Actions(self.data_path / JOURNAL_FILE,
                                    reference_dirs=tuple(self.folders.reference_dirs()),
                                    permanent_delete=self.prefs.permanent_delete)
        return self._actions

    def _refresh_actions_config(self) -> None:
        if self._actions is not None:
            self._actions.reference_dirs = list(self.folders.reference_dirs())
            self._actions.permanent_delete = self.prefs.permanent_delete

    @property
    def decisions(self):
        if self._decisions is None:
            from dedupe_gui.core.decisions import Decisions

            self._decisions = Decisions(self.data_path / "decisions.sqlite")
        return self._decisions

    # ================================================================ folders, settings
    def add_paths(self, paths: list[Path], start: bool = False) -> None:
        """Folders/files dropped on the window or given on the command line."""
        added = self.folders.add_paths(paths)
        self.statusMessage.emit(f"Added {added} folder(s)" if added else "Already in the list")
        if start:
            self.start_scan()

    def _save_prefs(self) -> None:
        self.prefs.folders = self.folders.entries()
        self.prefs.excludes = self.folders.exclude_patterns()
        self.prefs.threshold = self.threshold
        self.settings.save_duplicates(self.prefs)
        self._refresh_actions_config()

    def _set_pref(self, name: str, value) -> None:
        setattr(self.prefs, name, value)
        self.settings.save_duplicates(self.prefs)

    def set_permanent_delete(self, on: bool, confirmed: bool = False) -> bool:
        """Switch permanent delete; switching it on asks first (``confirmed`` skips that)."""
        if on and not self.prefs.permanent_delete and not confirmed:
            answer = QMessageBox.warning(
                self, "Delete permanently",
                "Files you remove will be deleted for good instead of going to the trash; "
                "Undo cannot bring them back. Switch on?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                self.act_permanent.blockSignals(True)
                self.act_permanent.setChecked(False)
                self.act_permanent.blockSignals(False)
                return False
        self._set_pref("permanent_delete", on)
        self.act_permanent.blockSignals(True)
        self.act_permanent.setChecked(on)
        self.act_permanent.blockSignals(False)
        self._refresh_actions_config()
        self._report("Permanent delete is ON: removed files skip the trash" if on
                     else "Removed files go to the trash")
        return True

    def choose_move_destination(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for moves",
                                                  self.prefs.move_destination)
        if folder:
            self._set_pref("move_destination", folder)

    def choose_cluster_address(self) -> None:
        address, ok = QInputDialog.getText(
            self, "Scan on a Dask cluster",
            "Address of the Dask scheduler, e.g. tcp://192.168.1.20:8786\n"
            "(leave empty to scan on this computer). The cluster's workers read the pictures\n"
            "themselves: the folders must be on storage they mount at the same path.",
            text=self.prefs.cluster_address)
        if ok:
            self.set_cluster_address(address)

    def set_cluster_address(self, address: str) -> None:
        """Where the next scans fingerprint: a Dask scheduler address, or "" = this computer."""
        address = address.strip()
        self._set_pref("cluster_address", address)
        self._update_cluster_action()
        self._report(f"Scans run on the Dask cluster at {address}" if address
                     else "Scans run on this computer")

    def _update_cluster_action(self) -> None:
        address = self.prefs.cluster_address
        self.act_cluster.setText(f"Scan on a Dask cluster… ({address})" if address
                                 else "Scan on a Dask cluster…")

    def _where(self) -> str:
        """" on the cluster at …" while the running scan uses one (for the status line)."""
        thread = self._thread
        address = thread.cluster_address if thread is not None else ""
        return f" on the cluster at {address}" if address else ""

    # ================================================================ scanning
    def start_scan(self, roots: list[Path] | None = None) -> int:
        """Start a scan of the listed folders; returns its id (0 = nothing to scan)."""
        from dedupe_gui.core.scan import ScanOptions

        roots = roots or self.folders.roots()
        if not roots:
            self.statusMessage.emit("Add a folder first (drop it on the window or use Add)")
            return 0
        self._save_prefs()
        self.cancel_scan()
        self._scan_id += 1
        self._roots = [str(r) for r in roots]
        self._result = None
        self._current = None
        self._undo.clear()
        self._redo.clear()
        self.model.begin_streaming()
        self.compare.clear("Pairs appear here while the scan runs")
        if self.meta_table.item(0, 0) is not None:
            self.meta_table.show_meta(None, None)
        options = ScanOptions(excludes=tuple(self.prefs.excludes),
                              include_hidden=self.prefs.include_hidden)
        thread = ScanThread(self._scan_id, roots, options,
                            cluster_address=self.prefs.cluster_address)
        thread.started_scan.connect(self._on_started)
        thread.pairs_found.connect(self._on_pairs)
        thread.progress.connect(self._on_progress)
        thread.files_skipped.connect(self._on_skipped)
        thread.finished_scan.connect(self._on_finished)
        thread.failed.connect(self._on_failed)
        thread.finished.connect(self._thread_done)
        self._thread = thread
        self._skipped = 0
        self.scan_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress_bar.set_range(0, 0)
        self.statusMessage.emit(
            f"Connecting to the Dask cluster at {thread.cluster_address}…"
            if thread.cluster_address else "Scanning…")
        thread.start()
        return self._scan_id

    def cancel_scan(self) -> None:
        if self._thread is not None and self._thread.isRunning():
            self._thread.cancel()
            self._old_threads.append(self._thread)
            self.statusMessage.emit("Cancelling… (pairs found so far are kept)")
            self._keep_partial = self._thread.scan_id
        self._thread = None
        self.scan_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    @property
    def scanning(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def _thread_done(self) -> None:
        for t in [t for t in self._old_threads if t.isFinished()]:
            self._old_threads.remove(t)
            t.deleteLater()
        if self._thread is not None and self._thread.isFinished():
            self._thread.deleteLater()
            self._thread = None

    def _live(self, scan_id: int) -> bool:
        """Results of the running scan, or of the one just cancelled (its partial result)."""
        return scan_id == self._scan_id and (
            self._thread is not None or getattr(self, "_keep_partial", 0) == scan_id)

    def _on_started(self, scan_id: int, total: int) -> None:
        if self._live(scan_id):
            self.progress_bar.set_range(0, max(1, total))
            self.statusMessage.emit(f"Scanning {total} files{self._where()}…")

    def _on_pairs(self, scan_id: int, pairs) -> None:
        if not self._live(scan_id):
            return
        self.model.append_pairs(pairs)
        self._update_counts()
        if self._current is None and self.model.rowCount():
            # Not opened automatically while scanning: decoding and painting two photos
            # competes with the scan for the CPU; the first pair opens when it ends.
            self.compare.clear(f"{self.model.rowCount()} pairs so far: select one to review "
                               "it now, or wait for the scan to finish")

    def _on_progress(self, scan_id: int, progress) -> None:
        renice_workers(self._reniced)
        if self._live(scan_id) and self._thread is not None:
            self.progress_bar.set_range(0, max(1, progress.total))
            self.progress_bar.set_value(progress.done)
            extra = f", {self._skipped} skipped" if self._skipped else ""
            self.statusMessage.emit(progress.describe() + extra + self._where())

    def _on_skipped(self, scan_id: int, items) -> None:
        if self._live(scan_id):
            self._skipped += len(items)

    def _on_finished(self, scan_id: int, result: ScanResult) -> None:
        if not self._live(scan_id):
            return
        current = self._current_paths()
        self._result = result
        self.model.set_result(result.files, result.pairs)
        self._start_group_counts()
        self._apply_not_duplicate_marks()
        if self.prefs.threshold is None and result.threshold:
            self.slider.setValue(round(result.threshold * SLIDER_STEPS))
        where = self._where()
        self._finish_scan_ui()
        what = "Cancelled" if result.cancelled else "Done"
        self.statusMessage.emit(
            f"{what}: {len(result.files)} pictures, {len(result.pairs)} candidate pairs, "
            f"{len(result.skipped)} skipped, {result.seconds:.1f} s{where}")
        self._reselect(current)
        self._update_counts()
        self._save_timer.start()  # soon, in its own event-loop turn (keeps each gap short)

    def _on_failed(self, scan_id: int, message: str) -> None:
        if scan_id == self._scan_id:
            self._finish_scan_ui()
            self.statusMessage.emit(message)
            if not self.model.rowCount():
                self.compare.clear(message)

    def _finish_scan_ui(self) -> None:
        if self._thread is not None:
            self._old_threads.append(self._thread)
            self._thread = None
        self._keep_partial = 0
        self.progress_bar.set_range(0, 1)
        self.progress_bar.set_value(0)
        self.scan_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    # ================================================================ slider, counts
    @property
    def threshold(self) -> float:
        return self.slider.value() / SLIDER_STEPS

    def set_threshold(self, value: float) -> None:
        self.slider.setValue(round(value * SLIDER_STEPS))

    def _slider_moved(self) -> None:
        current = self._current_paths()
        self.model.set_threshold(self.threshold)
        self._update_threshold_label()
        self._update_counts()
        self._reselect(current, keep_scroll=True)
        self.prefs.threshold = self.threshold

    def _update_threshold_label(self) -> None:
        self.threshold_label.setText(f"≥ {self.threshold:.1f}")

    def group_count(self) -> int:
        """Groups among the visible pairs: a lookup once the prefix counts are known."""
        pairs = self.model.visible_pairs()
        if not len(pairs):
            return 0
        if self.model.sorted and self._group_counts is not None:
            return int(self._group_counts[len(pairs)])
        if self.model.sorted:
            a, b = self.model.a[: len(pairs)], self.model.b[: len(pairs)]
        else:
            a, b = self.model.a[pairs], self.model.b[pairs]
        labels = component_labels(len(self.model.files), a, b)
        return int(np.unique(labels[a]).shape[0])

    def _start_group_counts(self) -> None:
        """Groups for every threshold, computed once per result (off the GUI thread when
        the result is big: ~0.2 s at 100k pairs)."""
        self._group_gen += 1
        self._group_counts = None
        m = self.model
        if len(m.a) < GROUP_COUNT_SYNC:
            self._group_counts = prefix_group_counts(len(m.files), m.a, m.b)
            return
        thread = _GroupCounter(self._group_gen, len(m.files), m.a, m.b)
        thread.done.connect(self._group_counts_done)
        thread.finished.connect(lambda t=thread: self._group_threads.remove(t) or t.deleteLater())
        self._group_threads.append(thread)
        thread.start()

    def _group_counts_done(self, generation: int, counts) -> None:
        if generation == self._group_gen:
            self._group_counts = counts
            self._update_counts()

    def _update_counts(self) -> None:
        n = self.model.rowCount()
        if not n and not len(self.model.a):
            self.counts_label.setText("Scanning…" if self.scanning else "No pairs")
            return
        pairs = self.model.visible_pairs()
        to_review = int(np.count_nonzero(self.model.open_mask()[pairs])) if n else 0
        self.counts_label.setText(
            f"<b>{n}</b> pairs in <b>{self.group_count()}</b> groups · {to_review} to review")
        self.counts_label.setToolTip(f"{len(self.model.a)} candidate pairs in all; the slider "
                                     "shows those at least this similar")

    # ================================================================ selection, review
    def _current_paths(self) -> tuple[str, str] | None:
        if self._current is None or self._current >= len(self.model.a):
            return None
        fa, fb = self.model.files_of(self._current)
        return fa.path, fb.path

    def _reselect(self, paths: tuple[str, str] | None, keep_scroll: bool = False) -> None:
        row = None
        if paths is not None:
            pair = self.model.find_pair(*paths)
            row = None if pair is None else self.model.row_of(pair)
        if row is None:
            if self.model.rowCount():
                first = self.model.next_open_row(-1)
                self.select_row(first if first is not None else 0)
            else:
                self._current = None
                self.table.selectionModel().clearCurrentIndex()
                self.compare.clear("No pairs at this threshold")
                self.meta_table.show_meta(None, None)
                self._update_buttons()
            return
        self._current = self.model.pair_at(row)
        self.select_row(row, scroll=not keep_scroll)

    def select_row(self, row: int, scroll: bool = True) -> None:
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        if scroll:
            self.table.scrollTo(index)
        self._show_pair(self.model.pair_at(row))

    def _row_changed(self, current, previous) -> None:
        if current.isValid():
            self._show_pair(self.model.pair_at(current.row()))

    def current_row(self) -> int | None:
        idx = self.table.currentIndex()
        return idx.row() if idx.isValid() else None

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

    def step(self, direction: int) -> None:
        row = self.current_row()
        n = self.model.rowCount()
        if not n:
            return
        target = 0 if row is None else min(max(row + direction, 0), n - 1)
        self.select_row(target)

    def _advance(self) -> None:
        """After a decision: the next pair that still needs one (else stay)."""
        row = self.current_row()
        if row is None:
            return
        nxt = self.model.next_open_row(row)
        if nxt is None:
            nxt = self.model.next_open_row(row, -1)
        if nxt is not None:
            self.select_row(nxt)
        else:
            self._show_pair(self._current, force=True) if self._current is not None else None
            self.statusMessage.emit("All pairs at this threshold are decided")

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
        self.act_undo.setEnabled(bool(self._undo) or bool(
            self._actions is not None and self._actions.can_undo))
        self.act_redo.setEnabled(bool(self._redo))
        self.act_undo.setText("Undo" if not self._undo else "Undo")
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

    # ================================================================ sessions
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
