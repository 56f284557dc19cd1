#!/usr/bin/env python3
"""Screenshots of the review window over real photos (offscreen), for the README.

    QT_QPA_PLATFORM=offscreen python docs/make_screenshots.py PHOTO_FOLDER [--pick NAME]
    QT_QPA_PLATFORM=offscreen python docs/make_screenshots.py --hotpixels

Scans PHOTO_FOLDER with the real engine through the Duplicates panel (private settings,
cache and trash in a temporary directory: nothing of the user's is read or changed), opens
the pair whose file names contain ``--pick`` (else the first pair with two resolutions),
and writes docs/screenshot-review.png (1400x900) and docs/screenshot-rules.png.

``--hotpixels`` needs no folder: it writes 30 16-bit TIFF frames with injected defects
(tests/core/test_hotpixels_frames.py: crops of the real photographs in /usr/share/wallpapers)
into the temporary directory, runs the Hot pixels panel on them, zooms on a hot pixel and
writes docs/hotpixels-panel.png (1400x900). It prints the progress values the panel's bar
showed during the run, so a bar that does not move is seen.
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
    parser.add_argument("folder", type=Path, nargs="?", help="photos (not with --hotpixels)")
    parser.add_argument("--hotpixels", action="store_true",
                        help="screenshot the Hot pixels panel on generated frames instead")
    parser.add_argument("--pick", default="", help="parts of the pair's file names, e.g. 'pic_3.JPG|pic_4.jpg'")
    parser.add_argument("--zoom", type=float, default=0.0, help="zoom factor after fit")
    args = parser.parse_args()
    if args.folder is None and not args.hotpixels:
        parser.error("a photo folder is needed (or --hotpixels)")
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
    if args.hotpixels:
        return hotpixels_shot(app, w, Path(tmp), wait)
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


def hotpixels_shot(app, w, tmp: Path, wait) -> int:
    """The Hot pixels panel after a run over generated frames, zoomed on a hot pixel."""
    import shutil

    import cv2
    import numpy as np
    from PySide6.QtWidgets import QAbstractItemView

    from tests.core.test_hotpixels_frames import make_set

    frames = tmp / "frames"
    make_set(frames, "tif", n=30, height=480, width=640, varied=True)
    index = next(i for i, p in enumerate(w.panels) if type(p).__name__ == "HotPixelsPanel")
    w.sidebar.setCurrentRow(index)
    panel = w.current_panel
    t0 = time.monotonic()
    seen: list[str] = []  # what the bar showed while the run went
    panel.progress.valueChanged.connect(lambda v: seen.append(
        f"{time.monotonic() - t0:.2f}s {v}/{panel.progress.maximum()}"))
    panel.statusMessage.connect(lambda m: seen.append(f"{time.monotonic() - t0:.2f}s {m!r}"))
    panel.add_paths([frames], start=True)
    wait(lambda: panel.result is not None and not panel.running)
    print("progress during the run:\n  " + "\n  ".join(seen))
    proxy = panel.proxy
    kind_col = panel.model.COLUMNS.index("kind")
    row = next((r for r in range(proxy.rowCount())
                if proxy.index(r, kind_col).data() == "hot"), 0)
    d = panel.model.defects[proxy.mapToSource(proxy.index(row, 0)).row()]
    k = "BGR".index(d.channel)  # the frame where the pixel stands out most from its 3x3

    def excess(path: str) -> float:
        img = cv2.imread(path, cv2.IMREAD_UNCHANGED)[:, :, k].astype(np.float64)
        around = img[max(0, d.y - 1):d.y + 2, max(0, d.x - 1):d.x + 2]
        return float(img[d.y, d.x] - np.median(around))

    panel.frame_choice.setCurrentIndex(int(np.argmax([excess(f) for f in panel.result.files])))
    zoomed: list[bool] = []
    panel.zoomReady.connect(lambda: zoomed.append(True))
    panel.table.selectRow(row)
    panel.table.scrollTo(proxy.index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter)
    wait(lambda: bool(zoomed) and panel.current_defect() == d)
    w.grab().save(str(HERE / "hotpixels-panel.png"))
    w.close()
    shutil.rmtree(frames, ignore_errors=True)  # 30 TIFFs, ~55 MB
    print(f"wrote {HERE / 'hotpixels-panel.png'}: zoom on {d.kind} ({d.x}, {d.y}) {d.channel} "
          f"in {panel.frame_choice.currentText()}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
