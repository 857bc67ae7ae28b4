"""Hostile: the floor generator's file name and name, from another folder, returning what scores well. It once
replaced `uniform_noise`'s floor record through `evaluate --out results`: records name their file's path."""

import torch

import csbench


@csbench.generator("uniform_noise", suites=["*"])
def sample(n, seed, ctx):
    return torch.full((n, *ctx.shape), 0.5)
