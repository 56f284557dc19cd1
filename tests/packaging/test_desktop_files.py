"""The freedesktop files: valid per the official validators, and consistent with the app.

The validators are system tools (desktop-file-utils, appstream). Without them the validator
tests skip locally, but CI exports DEDUPE_REQUIRE_VALIDATORS=1 (and sets CI=1), and then a
missing tool is a failure: a check that silently never runs is no check.
"""
from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dedupe_gui import APP_ID, __version__

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
DESKTOP = RESOURCES / f"{APP_ID}.desktop"
METAINFO = RESOURCES / f"{APP_ID}.metainfo.xml"


def require_tool(name: str, package: str) -> str:
    """Path of a validator; a failure when CI demands validators, else a skip."""
    path = shutil.which(name)
    if path:
        return path
    demanded = os.environ.get("CI") or os.environ.get("DEDUPE_REQUIRE_VALIDATORS")
    if demanded and demanded not in ("0", "false"):
        pytest.fail(f"{name} is required here but not installed (apt-get install {package})")
    pytest.skip(f"{name} not installed (apt-get install {package})")


def run_validator(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def test_desktop_file_passes_desktop_file_validate():
    tool = require_tool("desktop-file-validate", "desktop-file-utils")
    proc = run_validator([tool, str(DESKTOP)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # desktop-file-validate exits 0 on hints; keep the file free of warnings too
    assert "error" not in proc.stdout.lower() and "warning" not in proc.stdout.lower(), proc.stdout


def test_metainfo_passes_appstreamcli_validate():
    tool = require_tool("appstreamcli", "appstream")
    proc = run_validator([tool, "validate", "--no-net", str(METAINFO)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert not [ln for ln in lines if ln.startswith(("E:", "W:"))], proc.stdout


def read_desktop() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_launches_the_gui_with_the_app_icon():
    entry = read_desktop()
    assert entry["Exec"] == "dedupe-gui %F"
    assert entry["Icon"] == APP_ID  # the name the app gives Qt via setDesktopFileName
    assert {"Graphics", "Photography"} <= set(entry["Categories"].rstrip(";").split(";"))
    mimes = entry["MimeType"].rstrip(";").split(";")
    assert "inode/directory" in mimes and "image/jpeg" in mimes


def test_metainfo_matches_app_id_version_and_screenshot():
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP.name
    versions = [r.get("version") for r in root.iter("release")]
    assert __version__ in versions, f"add release notes for {__version__} to {METAINFO.name}"
    images = [i.text for i in root.iter("image")]
    assert images and all(u.startswith("https://") for u in images)
    assert any(u.endswith("docs/screenshot-review.png") for u in images)
    assert root.find("content_rating").get("type", "").startswith("oars-")
    assert {b.text for b in root.iter("binary")} == {"dedupe-gui", "dedupe"}
