"""The wheel (what `pip install` / `pipx install .` get) carries the runtime icons and both
entry points. Built from a copy of the source tree so the shared checkout stays clean."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_contains_icons_and_entry_points(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "dedupe_gui", src / "dedupe_gui",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path / "wheel"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = out.glob("dedupe_gui-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    icons = sorted(ROOT.joinpath("dedupe_gui/resources/icons").glob("*.png"))
    assert icons
    missing = [p.name for p in icons if f"dedupe_gui/resources/icons/{p.name}" not in names]
    assert not missing, f"icons missing from the wheel: {missing}"
    assert "dedupe = dedupe_gui.cli:main" in entry_points
    assert "dedupe-gui = dedupe_gui.__main__:main" in entry_points
