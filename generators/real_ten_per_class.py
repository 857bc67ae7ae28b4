"""Low intra-class diversity: ten real training images per class, repeated."""

import torch

import csbench

PER_CLASS = 10


@csbench.generator("real_ten_per_class", suites=["*"], needs_train_data=True)
def sample(n: int, seed: int, ctx: csbench.SampleContext):
    """A seeded pick of ten images per class, tiled to n samples."""
    gen = torch.Generator().manual_seed(seed)
    labels = ctx.train.labels
    pool = torch.cat([torch.nonzero(labels == c).squeeze(1)[torch.randperm(int((labels == c).sum()), generator=gen)[:PER_CLASS]]
                      for c in range(ctx.num_classes)])
    idx = pool[torch.randint(len(pool), (n,), generator=gen)]
    return ctx.train.images[idx], ctx.train.labels[idx]
