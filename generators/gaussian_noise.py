"""Floor reference: i.i.d. Gaussian pixels around mid-grey, clipped to [0, 1]."""

import torch

import csbench


@csbench.generator("gaussian_noise", suites=["*"])
def sample(n: int, seed: int, ctx: csbench.SampleContext):
    """Each pixel N(0.5, 0.25²), clipped to [0, 1]."""
    noise = torch.randn((n, *ctx.shape), generator=torch.Generator().manual_seed(seed))
    return (0.5 + 0.25 * noise).clamp(0, 1)
