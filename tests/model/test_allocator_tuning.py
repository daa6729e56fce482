import platform
import subprocess
import sys

import pytest

# Like a forward pass: several 8 MB temporaries alive at once, then all freed; 20
# rounds after a warm-up one; prints the minor page faults of those 20 rounds.
FAULT_PROBE = """
import resource, sys
import numpy as np
from p2m_model.allocator_tuning import reuse_freed_memory
if sys.argv[1] == "tuned":
    assert reuse_freed_memory()
def round_trip():
    buffers = [np.empty(1 << 20) for _ in range(6)]
    for buffer in buffers:
        buffer.fill(1.0)
    del buffers
round_trip()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    round_trip()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str) -> int:
    result = subprocess.run([sys.executable, "-c", FAULT_PROBE, mode], capture_output=True,
                            text=True, check=True, timeout=60)
    return int(result.stdout.strip())


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="mallopt thresholds are a glibc feature")
def test_freed_large_blocks_are_reused_without_page_faults():
    # 8 MB is 2,048 pages. Untuned, glibc gives the freed heap top back to the system
    # (it exceeds the trim threshold) and every round faults the pages in again.
    assert page_faults("default") > 20 * 2048
    assert page_faults("tuned") < 200
