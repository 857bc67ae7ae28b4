"""Hostile: half the samples asked for."""

import torch

import csbench


@csbench.generator("fewer_samples", suites=["*"])
def sample(n, seed, ctx):
    return torch.rand((n // 2, *ctx.shape), generator=torch.Generator().manual_seed(seed))
