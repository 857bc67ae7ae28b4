"""Hostile (issue 28): clears its parent-death signal, leaves its session and becomes a sleeping process, after
starting a daemon that does the same, so that both would outlive the harness. Both sleep in
`python -c "...sleep(27.1828)"`, which tests/test_sandbox.py looks for."""

import ctypes
import os
import sys

import csbench

PR_SET_PDEATHSIG = 1


def detach_and_sleep():
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0)
    try:
        os.setsid()
    except OSError:  # already a session's leader
        pass
    os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(27.1828)"])


@csbench.generator("outlives_harness", suites=["*"])
def sample(n, seed, ctx):
    if os.fork() == 0:
        detach_and_sleep()
    detach_and_sleep()
