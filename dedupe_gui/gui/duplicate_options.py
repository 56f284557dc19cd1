"""The Duplicates panel's options: the Options menu and the typed settings behind it (folders,
threshold, delete mode, moves, hidden files, the Dask cluster address).

A mixin of DuplicatesPanel, kept apart so each module has one job: this one keeps
``self.prefs`` (a DuplicateSettings) in step with the widgets and QSettings, and passes what
the file actions need on to ``core.actions``.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QMessageBox, QToolButton


class OptionsMixin:
    """Options menu and preferences of DuplicatesPanel (see the module docstring)."""

    def _build_options_button(self) -> QToolButton:
        """The "Options" menu button: delete mode, moves, hidden files, the Dask cluster."""
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
        return options

    def _save_prefs(self) -> None:
        self.prefs.folders = self.folders.entries()
        self.prefs.excludes = self.folders.exclude_patterns()
        self.prefs.threshold = self.threshold
        self.settings.save_duplicates(self.prefs)
        self._refresh_actions_config()

    def _set_pref(self, name: str, value) -> None:
        setattr(self.prefs, name, value)
        self.settings.save_duplicates(self.prefs)

    def _refresh_actions_config(self) -> None:
        if self._actions is not None:
            self._actions.reference_dirs = list(self.folders.reference_dirs())
            self._actions.permanent_delete = self.prefs.permanent_delete

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
