"""Hostile (hole 6): leaves a detached daemon behind (its own session, outside the process group), then returns
good samples. The daemon sleeps in `python -c "...sleep(31.4159)"`, which tests/test_sandbox.py looks for."""

import os
import sys

import torch

import csbench


@csbench.generator("daemon", suites=["*"])
def sample(n, seed, ctx):
    if os.fork() == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(31.4159)"])
        finally:
            os._exit(0)
    os.wait()
    return torch.zeros((n, *ctx.shape))
