"""Unconditional DCGAN for Fashion-MNIST, four epochs (3,748 steps of 64 images).

Recipe: Radford et al. (2016), Adam 2e-4, beta1 0.5, at batch 64 (theirs: 128). Weights `dcgan_epoch4.pt` beside
this file, written by the command in TRAIN (seed 0, one CPU thread; 8 CPU minutes to this checkpoint,
`dcgan_epoch4.pt.json`) on the Fashion-MNIST training split (MIT licence); the weights are MIT.
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite fashion-mnist --arch dcgan28 --epochs 0.25 1 4 10 15 20 25 30 "
         "--out 'generators/fashion_mnist/dcgan_epoch{epoch}.pt'")
SHA256 = "5f45508ad015f709bc914a166c9a9624fbc1edfa8bd2cc2db93875232a5587ef"
sample = csbench.generator("dcgan_epoch4", suites=["fashion-mnist"], description=__doc__.split("\n")[0])(
    checkpoint_sampler("dcgan28", "dcgan_epoch4.pt", SHA256, TRAIN))
