"""The Qt binding must not leak references: PySide6 6.12.0 on Python 3.11 decremented
None's reference count on every void method call, and the editor (and this test suite)
died with "Fatal Python error: none_dealloc" after some thousands of calls."""

from __future__ import annotations

import gc
import sys

import pytest


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on")
def test_method_calls_keep_nones_reference_count(qapp):
    from PySide6.QtGui import QAction

    action = QAction("probe")
    gc.collect()
    before = sys.getrefcount(None)
    for _ in range(2000):
        action.setToolTip("t")
        action.setChecked(False)
    gc.collect()
    assert sys.getrefcount(None) - before > -100, "the Qt binding drops references to None"
