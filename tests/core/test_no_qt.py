"""The architecture's one rule: dedupe_gui.core imports no Qt, directly or indirectly."""
import pkgutil
import subprocess
import sys

import dedupe_gui.core


def test_core_modules_import_without_qt():
    names = [m.name for m in pkgutil.walk_packages(dedupe_gui.core.__path__, "dedupe_gui.core.")]
    assert names, "no core modules found"
    code = (
        "import sys\n"
        "for blocked in ('PySide6', 'PyQt5', 'PyQt6', 'shiboken6'):\n"
        "    sys.modules[blocked] = None\n"  # any import of Qt now raises ImportError
        f"for name in {names!r}:\n"
        "    __import__(name)\n"
        "print(sorted(m for m, v in sys.modules.items() if v is not None and ('Qt' in m or 'PySide' in m or 'shiboken' in m)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
