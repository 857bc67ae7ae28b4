"""Unconditional DCGAN for Fashion-MNIST, early checkpoint: a quarter epoch (234 steps of 64 images).

Weights `dcgan_epoch0.25.pt` beside this file, written by the command in TRAIN (seed 0, one CPU thread);
trained on the Fashion-MNIST training split (MIT licence), the weights are MIT.
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite fashion-mnist --arch dcgan28 --epochs 0.25 1 4 "
         "--out 'generators/fashion_mnist/dcgan_epoch{epoch}.pt'")
SHA256 = "aefc025de1d24f84c43b0015437b3fcba9f0f3a46d6df918ddbc5e3ca8c28b8d"
sample = csbench.generator("dcgan_epoch0.25", suites=["fashion-mnist"], description=__doc__.split("\n")[0])(
    checkpoint_sampler("dcgan28", "dcgan_epoch0.25.pt", SHA256, TRAIN))
