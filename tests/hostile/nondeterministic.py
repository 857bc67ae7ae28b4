"""Hostile: ignores the seed and draws from the operating system's entropy."""

import numpy as np

import csbench


@csbench.generator("nondeterministic", suites=["*"])
def sample(n, seed, ctx):
    return np.random.default_rng().random((n, *ctx.shape), dtype=np.float32)
