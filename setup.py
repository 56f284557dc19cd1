"""Build the optional C kernel of the hot-pixel worker (everything else is in pyproject.toml).

``optional=True``: on a machine without a C compiler the install still succeeds and the
worker uses its OpenCV passes instead (same results, ~3x more CPU per frame).
"""
import sys

from setuptools import Extension, setup

flags = ["/O2"] if sys.platform == "win32" else ["-O3"]
setup(ext_modules=[Extension("dedupe_gui.core._framesums", ["dedupe_gui/core/_framesums.c"],
                             extra_compile_args=flags, optional=True)])
