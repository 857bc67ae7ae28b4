"""Mixup of training images (Zhang et al. 2018): convex combinations of two random real images.

Pairs from different classes blend two classes' structure, so the teacher's labels on them are
soft; the set is diverse but less discriminable than real data.
"""

import numpy as np
import torch

import csbench

ALPHA = 0.4  # Beta(alpha, alpha) mixing weights, the value Zhang et al. used on ImageNet


@csbench.generator("mixup", suites=["*"], needs_train_data=True)
def sample(n: int, seed: int, ctx: csbench.SampleContext):
    """lam * x_i + (1 - lam) * x_j with lam ~ Beta(0.4, 0.4), i and j uniform over the split."""
    rng = np.random.default_rng(seed)
    size = len(ctx.train)
    i, j = torch.from_numpy(rng.integers(size, size=n)), torch.from_numpy(rng.integers(size, size=n))
    lam = torch.from_numpy(rng.beta(ALPHA, ALPHA, size=n)).float().view(n, *[1] * len(ctx.shape))
    return lam * ctx.train.images[i] + (1 - lam) * ctx.train.images[j]
