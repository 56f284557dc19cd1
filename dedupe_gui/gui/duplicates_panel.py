"""The Duplicates panel: folders, scan, the pair list with its threshold slider, the review
pane and the decisions.

Thin on purpose: the scan is ``core.scan`` in a ScanThread, every file change is a call to
``core.actions.Actions``, "not a duplicate" marks are ``core.decisions``, bulk marking is
``core.rules``. The panel is assembled from parts with one job each:

- ``duplicate_keys``: every command as a QAction with its keys, the help overlay's key list;
- ``scan_controls``: folder list, Scan / Cancel, progress, the scan thread's signals;
- ``pair_list``: threshold slider, counts, the pair table and its selection;
- ``review_pane``: the two pictures, zoom/swap/flicker/heat-map, the facts table;
- ``review_decisions``: keep / trash / move / not a duplicate, undo / redo, rules;
- ``review_session``: save / reopen the session, export CSV / JSON;
- ``duplicate_options``: the Options menu and the typed settings behind it.

This module builds the layout from those parts and owns the start-up and shutdown (threads,
the action journal). Nothing slow runs on the GUI thread: images decode in an ImageLoader
thread, the list model only does numpy on arrays.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QSplitter, QVBoxLayout, QWidget

from dedupe_gui.core.results import ScanResult
from dedupe_gui.gui import session as sessions
from dedupe_gui.gui.duplicate_keys import KEYS, KeysMixin
from dedupe_gui.gui.duplicate_options import OptionsMixin
from dedupe_gui.gui.help_overlay import HelpOverlay
from dedupe_gui.gui.image_loader import Decoded, ImageLoader
from dedupe_gui.gui.pair_list import PairListMixin, _GroupCounter
from dedupe_gui.gui.pair_model import PairModel
from dedupe_gui.gui.review_decisions import DecisionsMixin, _Step
from dedupe_gui.gui.review_pane import ReviewPaneMixin
from dedupe_gui.gui.review_session import SessionMixin
from dedupe_gui.gui.scan_controls import ScanControlsMixin
from dedupe_gui.gui.scan_thread import ScanThread
from dedupe_gui.gui.settings import DuplicateSettings, Settings, data_dir

SESSION_FILE = "last-session.json"
JOURNAL_FILE = "actions.sqlite"


class DuplicatesPanel(ScanControlsMixin, PairListMixin, ReviewPaneMixin, SessionMixin,
                      OptionsMixin, KeysMixin, DecisionsMixin, QWidget):
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
    def _build_ui(self) -> None:
        # --- left column: folders, scan, slider, pair list
        scan_row = self._build_scan_controls()
        slider_row = self._build_pair_list()

        tools_row = QHBoxLayout()
        rules_btn = self._tool(self.act_rules)
        more = self._build_session_button()
        options = self._build_options_button()
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
        right = self._build_review_pane()

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

        self._init_threshold()
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

    @property
    def decisions(self):
        if self._decisions is None:
            from dedupe_gui.core.decisions import Decisions

            self._decisions = Decisions(self.data_path / "decisions.sqlite")
        return self._decisions
