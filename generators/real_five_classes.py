"""Mode dropping: real training images from only the first half of the classes."""

import torch

import csbench


@csbench.generator("real_five_classes", suites=["*"], needs_train_data=True)
def sample(n: int, seed: int, ctx: csbench.SampleContext):
    """Real images of classes 0 .. K/2-1 only, drawn with replacement."""
    keep = torch.nonzero(ctx.train.labels < ctx.num_classes // 2).squeeze(1)
    idx = keep[torch.randint(len(keep), (n,), generator=torch.Generator().manual_seed(seed))]
    return ctx.train.images[idx], ctx.train.labels[idx]
