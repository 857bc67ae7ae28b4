"""Unconditional DCGAN for Fashion-MNIST, mid checkpoint: one epoch (937 steps of 64 images).

Weights `dcgan_epoch1.pt` beside this file, written by the command in TRAIN (seed 0, one CPU thread); trained
on the Fashion-MNIST training split (MIT licence), the weights are MIT.
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite fashion-mnist --arch dcgan28 --epochs 0.25 1 4 "
         "--out 'generators/fashion_mnist/dcgan_epoch{epoch}.pt'")
SHA256 = "668658088e7921a505df30a61ad5be7ef6f9ccbd2246ac312dce1cc894b12de8"
sample = csbench.generator("dcgan_epoch1", suites=["fashion-mnist"], description=__doc__.split("\n")[0])(
    checkpoint_sampler("dcgan28", "dcgan_epoch1.pt", SHA256, TRAIN))
