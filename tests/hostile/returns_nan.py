"""Hostile: NaN pixels."""

import torch

import csbench


@csbench.generator("returns_nan", suites=["*"])
def sample(n, seed, ctx):
    return torch.full((n, *ctx.shape), float("nan"))
