"""Floor reference: i.i.d. uniform pixels carry no class structure the teacher learned from data."""

import torch

import csbench


@csbench.generator("uniform_noise", suites=["*"])
def sample(n: int, seed: int, ctx: csbench.SampleContext):
    """Each pixel uniform in [0, 1]."""
    return torch.rand((n, *ctx.shape), generator=torch.Generator().manual_seed(seed))
