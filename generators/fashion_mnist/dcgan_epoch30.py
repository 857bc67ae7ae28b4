"""Unconditional DCGAN for Fashion-MNIST, final checkpoint: 30 epochs (28,110 steps of 64 images).

Recipe: Radford et al. (2016), Adam 2e-4, beta1 0.5, at batch 64 (theirs: 128). Weights `dcgan_epoch30.pt` beside
this file, written by the command in TRAIN (seed 0, one CPU thread; 58 CPU minutes to this checkpoint,
`dcgan_epoch30.pt.json`) on the Fashion-MNIST training split (MIT licence); the weights are MIT. Training stopped
here; the teacher-space FID was still falling slowly (`benchmarks/results/fid-by-epoch-fashion-mnist-dcgan28.md`).
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite fashion-mnist --arch dcgan28 --epochs 0.25 1 4 10 15 20 25 30 "
         "--out 'generators/fashion_mnist/dcgan_epoch{epoch}.pt'")
SHA256 = "d532422ff3f70faf6bac87eefb74df1d7cf9c99ef1698a61b565ba532734e22f"
sample = csbench.generator("dcgan_epoch30", suites=["fashion-mnist"], description=__doc__.split("\n")[0])(
    checkpoint_sampler("dcgan28", "dcgan_epoch30.pt", SHA256, TRAIN))
