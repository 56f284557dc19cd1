"""packaging/install-desktop-entry.sh from a checkout: menu entry, AppStream data and icons
land under XDG_DATA_HOME with Exec pointing at the installed program; --uninstall removes
exactly those files."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from dedupe_gui import APP_ID

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "install-desktop-entry.sh"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def run_script(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    bindir = tmp_path / "bin dir"  # a space: Exec= must be quoted
    bindir.mkdir(exist_ok=True)
    program = bindir / "dedupe-gui"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share"),
           "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["sh", str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_installs_and_uninstalls_the_menu_entry(tmp_path):
    proc = run_script(tmp_path)
    assert proc.returncode == 0, proc.stderr
    share = tmp_path / "share"
    desktop = share / "applications" / f"{APP_ID}.desktop"
    text = desktop.read_text()
    program = tmp_path / "bin dir" / "dedupe-gui"
    assert f'Exec="{program}" %F' in text.splitlines()
    assert f"TryExec={program}" in text.splitlines()
    assert f"Icon={APP_ID}" in text.splitlines()
    assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert (share / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg").is_file()
    for s in SIZES:
        assert (share / f"icons/hicolor/{s}x{s}/apps/{APP_ID}.png").is_file(), s
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True,
                               text=True, check=False)
        assert check.returncode == 0 and not check.stdout.strip(), check.stdout

    proc = run_script(tmp_path, "--uninstall")
    assert proc.returncode == 0, proc.stderr
    left = [p for p in share.rglob("*") if p.is_file() and APP_ID in p.name]
    assert not left, left


def test_refuses_unknown_arguments(tmp_path):
    proc = run_script(tmp_path, "--bogus")
    assert proc.returncode != 0
    assert "usage" in proc.stderr
    assert not (tmp_path / "share" / "applications").exists()

