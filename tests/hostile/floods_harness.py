"""Hostile (hole 7): prints 64 MiB, then makes its samples file a sparse 560 MiB with a header that claims the
requested shape (it replaces numpy.save, which the sandbox's worker calls after sample() returns)."""

import os
import sys

import numpy as np
import torch

import csbench


def sparse_save(file, array, allow_pickle=False):
    np.lib.format.write_array_header_1_0(file, np.lib.format.header_data_from_array_1_0(array))
    file.flush()
    os.ftruncate(file.fileno(), 560 << 20)


@csbench.generator("floods_harness", suites=["*"])
def sample(n, seed, ctx):
    line = "x" * 1023 + "\n"
    for _ in range(64 << 10):
        sys.stdout.write(line)
    sys.stdout.flush()
    np.save = sparse_save
    return torch.zeros((n, *ctx.shape))
