"""Known-bad Qt binding releases stay excluded (pyproject: PySide6-Essentials != 6.12.0).

PySide6 6.12.0 drops a reference to the argument of every ``Signal(object)`` emit when it is
True or False; after enough emits the interpreter aborts ("bool_dealloc"), at exit or in the
middle of a session. Our threads emit Python objects through such signals all the time.
"""
import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    sig = Signal(object)


def test_signal_object_emits_keep_bool_reference_counts():
    e = _Emitter()
    got = []
    e.sig.connect(got.append)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(100):
        e.sig.emit(True)
        e.sig.emit(False)
    got.clear()
    assert (sys.getrefcount(True), sys.getrefcount(False)) == before
