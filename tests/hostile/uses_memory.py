"""Hostile (hole 9): uses 400 MiB and 1.5 s while sampling; validate's figures must show both, whatever it says."""

import time

import numpy as np
import torch

import csbench


@csbench.generator("uses_memory", suites=["*"])
def sample(n, seed, ctx):
    block = np.ones(100 << 20, dtype=np.float32)
    time.sleep(1.5)
    return torch.zeros((n, *ctx.shape)) + float(block[0]) - 1
