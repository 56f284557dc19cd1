#!/usr/bin/env python3
"""Screenshots of the review window over real photos (offscreen), for the README.

    QT_QPA_PLATFORM=offscreen python docs/make_screenshots.py PHOTO_FOLDER [--pick NAME]

Scans PHOTO_FOLDER with the real engine through the Duplicates panel (private settings,
cache and trash in a temporary directory: nothing of the user's is read or changed), opens
the pair whose file names contain ``--pick`` (else the first pair with two resolutions),
and writes docs/screenshot-review.png (1400x900) and docs/screenshot-rules.png.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--pick", default="", help="parts of the pair's file names, e.g. 'pic_3.JPG|pic_4.jpg'")
    parser.add_argument("--zoom", type=float, default=0.0, help="zoom factor after fit")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="dedupe-shots-")
    for var in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        os.environ[var] = os.path.join(tmp, var.lower())
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(HERE.parent))
    from PySide6.QtCore import QSettings

    from dedupe_gui.gui.app import make_application

    app = make_application(["shots"])
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
    from dedupe_gui.gui.main_window import MainWindow

    def wait(cond, timeout=600.0):
        end = time.monotonic() + timeout
        while not cond():
            app.processEvents()
            time.sleep(0.01)
            if time.monotonic() > end:
                raise TimeoutError
        for _ in range(20):
            app.processEvents()
            time.sleep(0.01)

    w = MainWindow()
    w.resize(1400, 900)
    w.show()
    panel = w.current_panel
    panel.add_paths([args.folder.resolve()], start=True)
    wait(lambda: panel._result is not None)
    m = panel.model
    row = None
    for r in range(m.rowCount()):
        fa, fb = m.files_of(m.pair_at(r))
        names = os.path.basename(fa.path) + " " + os.path.basename(fb.path)
        if args.pick and all(part in names for part in args.pick.split("|")):
            row = r
            break
        if not args.pick and fa.width != fb.width and row is None:
            row = r
    panel.select_row(row or 0)
    from PySide6.QtWidgets import QAbstractItemView  # the picked row mid-list, not cut at the edge

    panel.table.scrollTo(m.index(row or 0, 0), QAbstractItemView.ScrollHint.PositionAtCenter)
    wait(lambda: all(p.pixmap is not None for p in panel.compare.panes)
         and panel.meta_table.item(0, 1) is not None)
    if args.zoom:
        panel.compare.zoom_by(args.zoom)
    wait(lambda: True)
    w.grab().save(str(HERE / "screenshot-review.png"))
    dialog = panel.open_rules()
    dialog.resize(900, 700)
    wait(lambda: True)
    dialog.grab().save(str(HERE / "screenshot-rules.png"))
    dialog.reject()
    w.close()
    print(f"wrote {HERE / 'screenshot-review.png'} and {HERE / 'screenshot-rules.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
