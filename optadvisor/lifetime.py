"""How optadvisor's child processes are tied to its life.

On Linux the kernel ties them: `profile` is a child subreaper (the profiled program's
orphans, double-forked daemons included, become its children) and analysis workers get a
parent-death signal. Elsewhere only the portable means are left: process groups, the run's
marker in the environment, the program's fork log and psutil's view of its tree (profile);
a watch on the parent's pid (workers). OPTADVISOR_TEST_PORTABLE=1 makes Linux use the
portable means too: TEST-ONLY, so that they run for real on the only machine kind here.
"""

from __future__ import annotations

import os
import sys


def kernel_ties() -> bool:
    """Whether the Linux-only ties (subreaper, parent-death signal) are used."""
    return sys.platform.startswith("linux") and not os.environ.get("OPTADVISOR_TEST_PORTABLE")
