"""Hostile: 32x32 images whatever the suite asks for."""

import torch

import csbench


@csbench.generator("wrong_shape", suites=["*"])
def sample(n, seed, ctx):
    return torch.rand((n, 1, 32, 32), generator=torch.Generator().manual_seed(seed))
