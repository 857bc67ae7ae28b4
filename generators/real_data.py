"""Reference generator: draws real training images, so its Compression Score is about 1.0."""

import torch

import csbench


@csbench.generator("real_data", suites=["*"], needs_train_data=True)
def sample(n: int, seed: int, ctx: csbench.SampleContext):
    """Real training images, drawn without replacement (with replacement beyond the split's size)."""
    gen = torch.Generator().manual_seed(seed)
    size = len(ctx.train)
    idx = torch.randperm(size, generator=gen)[:n] if n <= size else torch.randint(size, (n,), generator=gen)
    return ctx.train.images[idx], ctx.train.labels[idx]
