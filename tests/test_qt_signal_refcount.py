"""Emitting a Qt signal from Python must not leak or steal references.

PySide6 6.12.0 returns ``True`` from ``Signal.emit()`` without a new reference; on CPython
before 3.12, where ``True`` is an ordinary object, each emit steals one reference and the app
aborts with "Fatal Python error: bool_dealloc" after about a thousand brush moves.
"""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    changed = Signal(int)


def test_emitting_a_signal_steals_no_reference_to_true(qapp) -> None:
    emitter = _Emitter()
    received: list[int] = []
    emitter.changed.connect(received.append)
    before = sys.getrefcount(True)
    for value in range(200):
        emitter.changed.emit(value)
    assert sys.getrefcount(True) >= before, "each emit stole a reference to True"
    assert received == list(range(200))
