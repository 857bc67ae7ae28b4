"""Blurred samples: real training images under a Gaussian blur, losing edges and texture."""

import torch
from torchvision.transforms.functional import gaussian_blur

import csbench

SIGMA = 1.5


@csbench.generator("real_blurred", suites=["*"], needs_train_data=True)
def sample(n: int, seed: int, ctx: csbench.SampleContext):
    """Real images drawn with replacement, blurred with a 7x7 Gaussian kernel of sigma 1.5."""
    idx = torch.randint(len(ctx.train), (n,), generator=torch.Generator().manual_seed(seed))
    return gaussian_blur(ctx.train.images[idx], kernel_size=7, sigma=SIGMA), ctx.train.labels[idx]
