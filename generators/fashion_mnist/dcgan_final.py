"""Unconditional DCGAN for Fashion-MNIST, final checkpoint: four epochs (3748 steps of 64 images).

Weights `dcgan_epoch4.pt` beside this file, written by the command in TRAIN (seed 0, one CPU thread); trained
on the Fashion-MNIST training split (MIT licence), the weights are MIT.
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite fashion-mnist --arch dcgan28 --epochs 0.25 1 4 "
         "--out 'generators/fashion_mnist/dcgan_epoch{epoch}.pt'")
SHA256 = "2d8d5a1b941e1949168c4176bfac1e2541bea65519f1a964304ab836804932dd"
sample = csbench.generator("dcgan_epoch4", suites=["fashion-mnist"], description=__doc__.split("\n")[0])(
    checkpoint_sampler("dcgan28", "dcgan_epoch4.pt", SHA256, TRAIN))
