"""Smoke test of the frozen bundle (dist/dedupe-gui), run by ``make package-test`` and CI.

``make test`` does not collect this file (its name does not match ``test_*.py``): building the
bundle takes minutes. ``make package-test`` builds it when needed and runs this file
explicitly. The bundle comes from ``DEDUPE_BUNDLE`` (default ``dist/dedupe-gui``); a missing
bundle or program is a failure, never a skip.

Every program runs from the bundle with a scrubbed environment (no venv, no PYTHONPATH,
private XDG dirs), so nothing can quietly come from the development tree or touch the user's
settings and caches.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import time
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest

from dedupe_gui import APP_ID, __version__

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = Path(os.environ.get("DEDUPE_BUNDLE", ROOT / "dist" / "dedupe-gui")).resolve()
INTERNAL = BUNDLE / "_internal"


@pytest.fixture
def env(tmp_path):
    """Environment for a bundled program: isolated, offscreen, and tagged with a token so
    every process it spawns (pool workers, the resource tracker) can be found afterwards."""
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME")
    e = {k: v for k, v in os.environ.items() if k in keep}
    for name in ("config", "cache", "data", "state"):
        d = tmp_path / "xdg" / name
        d.mkdir(parents=True)
        e[f"XDG_{name.upper()}_HOME"] = str(d)
    e["HOME"] = str(tmp_path / "home")
    e["XDG_RUNTIME_DIR"] = str(tmp_path / "xdg")
    e["QT_QPA_PLATFORM"] = "offscreen"
    e["DEDUPE_SMOKE_TOKEN"] = uuid.uuid4().hex
    return e


def run(program: str, *args: str, env: dict[str, str], cwd: Path, timeout: float = 120
        ) -> subprocess.CompletedProcess[str]:
    exe = BUNDLE / program
    assert exe.is_file() and os.access(exe, os.X_OK), f"{exe} missing: run `make package`"
    return subprocess.run([str(exe), *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))


def processes_with(token: str) -> list[str]:
    """Command lines of live processes whose environment carries ``token``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if f"DEDUPE_SMOKE_TOKEN={token}".encode() in (proc / "environ").read_bytes():
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue  # gone, or not ours to read
    return found


def assert_no_leftovers(env: dict[str, str]) -> None:
    deadline = time.monotonic() + 10
    while (left := processes_with(env["DEDUPE_SMOKE_TOKEN"])) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"processes left running: {left}"


def make_photos(folder: Path) -> tuple[Path, Path]:
    """Four unrelated pictures plus a half-size re-encoded copy of the first: one known pair."""
    folder.mkdir()
    rng = np.random.default_rng(2024)
    for i in range(4):
        coarse = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
        img = cv2.resize(coarse, (640, 480), interpolation=cv2.INTER_CUBIC)
        cv2.circle(img, (int(rng.integers(100, 540)), 240), 60, (255, 255, 255), -1)
        assert cv2.imwrite(str(folder / f"photo{i}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
    original = folder / "photo0.jpg"
    small = cv2.resize(cv2.imread(str(original)), (320, 240), interpolation=cv2.INTER_AREA)
    copy = folder / "photo0_small.jpg"
    assert cv2.imwrite(str(copy), small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return original, copy


def test_bundle_holds_both_programs_the_icons_and_the_needed_qt_plugins():
    for program in ("dedupe", "dedupe-gui"):
        assert (BUNDLE / program).is_file(), f"{BUNDLE / program} missing: run `make package`"
    icons = sorted(p.name for p in (INTERNAL / "dedupe_gui/resources/icons").glob("*.png"))
    shipped = sorted(p.name for p in (ROOT / "dedupe_gui/resources/icons").glob("*.png"))
    assert icons == shipped and icons
    platforms = INTERNAL / "PySide6/Qt/plugins/platforms"
    for plugin in ("libqoffscreen.so", "libqxcb.so"):
        assert (platforms / plugin).is_file(), plugin
    # the trimming held (see packaging/dedupe-gui.spec)
    for absent in ("PySide6/Qt/translations", "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
                   "tkinter", "dask", "_pytest", "scipy/optimize"):
        assert not (INTERNAL / absent).exists(), f"{absent} should not be bundled"


def test_dedupe_version(env, tmp_path):
    proc = run("dedupe", "--version", env=env, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"dedupe {__version__}"


def test_dedupe_scan_uses_the_process_pool_and_finds_the_resized_copy(env, tmp_path):
    original, copy = make_photos(tmp_path / "photos")
    out = tmp_path / "result.json"
    proc = run("dedupe", "scan", str(tmp_path / "photos"), "--workers", "2", "--json", str(out),
               "--cache", str(tmp_path / "cache.sqlite"), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["files"] == 5
    assert doc["skipped"] == [], doc["skipped"]
    # fingerprints are computed only in pool workers: a pool that failed to start frozen
    # (freeze_support) finds nothing
    pairs = {frozenset((p["a"], p["b"])) for p in doc["pairs"]}
    assert pairs == {frozenset((str(original), str(copy)))}, doc["pairs"]
    assert (tmp_path / "cache.sqlite").stat().st_size > 0
    assert_no_leftovers(env)



def test_dedupe_scan_cluster_option_explains_the_missing_extra(env, tmp_path):
    """Dask is left out of the bundle: --cluster must say how to get it, not crash."""
    make_photos(tmp_path / "photos")
    proc = run("dedupe", "scan", str(tmp_path / "photos"), "--cluster", "tcp://127.0.0.1:9",
               env=env, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "dedupe-gui[cluster]" in proc.stderr, proc.stderr


def test_dedupe_hotpixels_finds_a_stuck_pixel_with_the_pool(env, tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(5)
    for i in range(12):
        coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        img = cv2.resize(coarse, (160, 120), interpolation=cv2.INTER_CUBIC)
        img[40, 70] = (255, 255, 255)  # stuck in every frame
        assert cv2.imwrite(str(frames / f"frame{i:02d}.png"), img)
    out = tmp_path / "defects.json"
    proc = run("dedupe", "hotpixels", str(frames), "--workers", "2", "--json", str(out),
               env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    assert doc["frames"] == 12
    assert {(d["x"], d["y"]) for d in doc["defects"]} == {(70, 40)}, doc["defects"]
    assert_no_leftovers(env)


def test_dedupe_reproject_writes_a_map(env, tmp_path):
    world = np.zeros((128, 256, 3), np.uint8)
    world[:, :128] = (200, 120, 40)
    world[40:90, 150:220] = (40, 160, 60)
    assert cv2.imwrite(str(tmp_path / "world.png"), world)
    proc = run("dedupe", "reproject", str(tmp_path / "world.png"), str(tmp_path / "ortho.png"),
               "--to", "orthographic", "--size", "96", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = cv2.imread(str(tmp_path / "ortho.png"), cv2.IMREAD_UNCHANGED)
    assert result is not None and result.shape[1] == 96
    assert result[..., :3].any()

def test_gui_starts_offscreen_and_quits_on_request(env, tmp_path):
    proc = run("dedupe-gui", "--quit-after", "1", env=env, cwd=tmp_path, timeout=90)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert_no_leftovers(env)


def test_gui_scans_a_folder_given_on_the_command_line_and_quits(env, tmp_path):
    """The windowed program's own pool workers (spawned frozen children) work too."""
    make_photos(tmp_path / "photos")
    proc = run("dedupe-gui", str(tmp_path / "photos"), "--quit-after", "8", env=env,
               cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert_no_leftovers(env)


def test_xcb_platform_plugin_loads(env, tmp_path):
    """With no X server the xcb plugin can only fail to connect; reaching that point proves
    the plugin and its libraries load (a missing library fails earlier, differently)."""
    env = {**env, "QT_QPA_PLATFORM": "xcb", "DISPLAY": ":7391"}
    proc = run("dedupe-gui", "--quit-after", "1", env=env, cwd=tmp_path, timeout=60)
    assert proc.returncode != 0
    assert "could not connect to display" in proc.stderr, proc.stderr


def test_bundle_adds_itself_to_the_application_menu(env, tmp_path):
    script = BUNDLE / "install-desktop-entry.sh"
    proc = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    share = Path(env["XDG_DATA_HOME"])
    desktop = (share / "applications" / f"{APP_ID}.desktop").read_text().splitlines()
    assert f'Exec="{BUNDLE / "dedupe-gui"}" %F' in desktop
    for size in (16, 48, 256, 512):
        assert (share / f"icons/hicolor/{size}x{size}/apps/{APP_ID}.png").is_file()
    assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
