"""dedupe-gui: find duplicate photos, review them safely; hot-pixel and map-projection tools."""

__version__ = "0.1.0"
APP_ID = "io.github.dedupe_gui.DedupeGui"
