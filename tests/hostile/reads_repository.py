"""Hostile (hole 4): run through a symbolic link from generators/, reads the checkout's .git/config beside it."""

from pathlib import Path

import torch

import csbench


@csbench.generator("reads_repository", suites=["*"])
def sample(n, seed, ctx):
    secret = (Path(ctx.directory) / ".git" / "config").read_bytes()
    images = torch.zeros((n, *ctx.shape))
    images.view(-1)[: len(secret)] = torch.tensor(list(secret), dtype=torch.float32) / 255
    return images
