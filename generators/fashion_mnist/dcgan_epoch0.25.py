"""Unconditional DCGAN for Fashion-MNIST, a quarter epoch (234 steps of 64 images).

Recipe: Radford et al. (2016), Adam 2e-4, beta1 0.5, at batch 64 (theirs: 128). Weights `dcgan_epoch0.25.pt` beside
this file, written by the command in TRAIN (seed 0, one CPU thread; 36 CPU seconds to this checkpoint,
`dcgan_epoch0.25.pt.json`) on the Fashion-MNIST training split (MIT licence); the weights are MIT.
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite fashion-mnist --arch dcgan28 --epochs 0.25 1 4 10 15 20 25 30 "
         "--out 'generators/fashion_mnist/dcgan_epoch{epoch}.pt'")
SHA256 = "3415fd8e9e2c7679859f31817ede594b1491a55d3fda25949fc57184968f4e13"
sample = csbench.generator("dcgan_epoch0.25", suites=["fashion-mnist"], description=__doc__.split("\n")[0])(
    checkpoint_sampler("dcgan28", "dcgan_epoch0.25.pt", SHA256, TRAIN))
