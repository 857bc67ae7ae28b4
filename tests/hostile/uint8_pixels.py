"""Hostile: raw uint8 pixels 0..255 instead of floats in [0, 1]."""

import torch

import csbench


@csbench.generator("uint8_pixels", suites=["*"])
def sample(n, seed, ctx):
    return torch.randint(0, 256, (n, *ctx.shape), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))
