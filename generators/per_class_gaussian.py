"""A simple density model: one full-covariance Gaussian per class, fitted on the training split.

It reproduces each class's mean image and pixel correlations, so it carries class structure, but
its samples are noisy and blur the modes inside a class.
"""

import torch

import csbench

RIDGE = 1e-3  # keeps each class covariance positive definite


def fit(images: torch.Tensor, labels: torch.Tensor, num_classes: int):
    flat = images.flatten(1)
    means, factors = [], []
    for c in range(num_classes):
        x = flat[labels == c]
        means.append(x.mean(0).double())
        cov = torch.cov(x.T).double() + RIDGE * torch.eye(x.shape[1], dtype=torch.float64)
        factors.append(torch.linalg.cholesky(cov))
    return torch.stack(means), torch.stack(factors)


@csbench.generator("per_class_gaussian", suites=["*"], needs_train_data=True)
def sample(n: int, seed: int, ctx: csbench.SampleContext):
    """Balanced classes; each sample mean_c + L_c z, clipped to [0, 1]."""
    means, factors = fit(ctx.train.images, ctx.train.labels, ctx.num_classes)
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % ctx.num_classes
    z = torch.randn(n, means.shape[1], generator=gen, dtype=torch.float64)
    flat = torch.empty_like(z)
    for c in range(ctx.num_classes):
        rows = labels == c
        flat[rows] = means[c] + z[rows] @ factors[c].T
    return flat.clamp(0, 1).float().view(n, *ctx.shape), labels
