"""The thin Qt layer: widgets, models and the worker thread; no algorithms live here."""
