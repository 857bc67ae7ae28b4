"""Hostile (hole 9): each draw sleeps for 60% of the time limit that tests/test_validate.py gives validate, so
each child on its own stays under the limit."""

import time

import torch

import csbench


@csbench.generator("sleeps_under_timeout", suites=["*"])
def sample(n, seed, ctx):
    time.sleep(9)
    return torch.zeros((n, *ctx.shape))
