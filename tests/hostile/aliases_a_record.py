"""Hostile: registers the name `real_data--paper`, whose record file is the `paper` protocol's record of
`real_data`: `evaluate-all --only real_data--paper` once overwrote it. Names may not hold `--`."""

import torch

import csbench


@csbench.generator("real_data--paper", suites=["*"])
def sample(n, seed, ctx):
    return torch.full((n, *ctx.shape), 0.5)
