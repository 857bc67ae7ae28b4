"""Hostile (issue 28): good samples with labels outside the suite's classes, which `evaluate` refuses; `validate`
must refuse them too, with the same words."""

import torch

import csbench


@csbench.generator("bad_labels", suites=["*"])
def sample(n, seed, ctx):
    return torch.zeros((n, *ctx.shape)), torch.arange(n) + ctx.num_classes
