"""Keep freed large blocks in the process heap (glibc), so repeated forward passes reuse them.

glibc serves allocations above its mmap threshold with fresh ``mmap`` pages and
gives them back on ``free``. A MeshNet forward on the 13.9k-vertex level allocates
temporaries of several MB each; with the default threshold (128 kB, rising only
after a large block is freed) every forward pays the page faults to map them again.
Measured on the 2-core development CPU, shipped checkpoint, MeshNet only, 1 torch
thread: batch 1 9.4 -> 8.1 ms, batch 5 35.8 -> 27.2 ms (docs/performance.md).

The price is that the process keeps its peak heap: memory freed after a peak is
reused, not returned to the system. Long-running inference processes (the nodes)
want that; a short script does not care.
"""
from __future__ import annotations

import ctypes
import ctypes.util

# mallopt parameter numbers from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# glibc's upper limit for M_MMAP_THRESHOLD on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX).
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
TRIM_THRESHOLD_BYTES = 512 * 1024 * 1024


def reuse_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process.

    Returns:
        True when both settings were accepted; False on a C library without
        ``mallopt`` (musl, macOS, Windows), where nothing changes.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
