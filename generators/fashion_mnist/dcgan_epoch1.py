"""Unconditional DCGAN for Fashion-MNIST, one epoch (937 steps of 64 images).

Recipe: Radford et al. (2016), Adam 2e-4, beta1 0.5, at batch 64 (theirs: 128). Weights `dcgan_epoch1.pt` beside
this file, written by the command in TRAIN (seed 0, one CPU thread; 2 CPU minutes to this checkpoint,
`dcgan_epoch1.pt.json`) on the Fashion-MNIST training split (MIT licence); the weights are MIT.
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite fashion-mnist --arch dcgan28 --epochs 0.25 1 4 10 15 20 25 30 "
         "--out 'generators/fashion_mnist/dcgan_epoch{epoch}.pt'")
SHA256 = "e38235ecf2e166912ac62340129b7ce2b90bb7f59981e6613d0a2ab76aae2b63"
sample = csbench.generator("dcgan_epoch1", suites=["fashion-mnist"], description=__doc__.split("\n")[0])(
    checkpoint_sampler("dcgan28", "dcgan_epoch1.pt", SHA256, TRAIN))
