"""Tempera: sketch-guided neural inpainting."""

import os
import sys

__version__ = "0.1.0"

# NumPy asks the kernel to back every large array with transparent huge pages. Each fill of
# a 24 MP photo makes fresh 72 MB arrays, and zeroing their 2 MB pages on first touch took
# up to a second of kernel time on some fills (measured: `auto`'s 200 x 150 hole in a 24 MP
# photo at 0.8-1.9 s with them, 0.79-0.86 s without; docs/RESULTS.md). Ordinary pages cost
# the same zeroing in small steps. A NUMPY_MADVISE_HUGEPAGE the user set is left as it is.
_HUGE_PAGES = "NUMPY_MADVISE_HUGEPAGE"
if _HUGE_PAGES not in os.environ:
    os.environ[_HUGE_PAGES] = "0"  # read by NumPy when it is imported
    if "numpy" in sys.modules:  # imported already (a test runner, a notebook): tell it now
        try:
            from numpy._core.multiarray import _set_madvise_hugepage
        except ImportError:  # NumPy 1.x
            try:
                from numpy.core.multiarray import _set_madvise_hugepage
            except ImportError:
                _set_madvise_hugepage = None
        if _set_madvise_hugepage is not None:
            _set_madvise_hugepage(False)
