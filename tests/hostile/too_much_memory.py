"""Hostile: keeps reserving 256 MiB blocks until something stops it."""

import torch

import csbench


@csbench.generator("too_much_memory", suites=["*"])
def sample(n, seed, ctx):
    blocks = []
    while True:
        blocks.append(torch.empty(64 << 20))
