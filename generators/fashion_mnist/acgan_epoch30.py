"""Class-conditional AC-GAN for Fashion-MNIST, final checkpoint: 30 epochs (28,110 steps of 64 images).

Recipe: Radford et al. (2016), Adam 2e-4, beta1 0.5, at batch 64 (theirs: 128). Draws the ten classes in turn.
Weights `acgan_epoch30.pt` beside this file, written by the command in TRAIN (seed 0, one CPU thread; 58 CPU minutes
to this checkpoint, `acgan_epoch30.pt.json`) on the Fashion-MNIST training split (MIT licence); the weights are MIT.
Training stopped here; the teacher-space FID was still falling slowly (`benchmarks/results/fid-by-epoch-fashion-
mnist-acgan28.md`).
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite fashion-mnist --arch acgan28 --epochs 0.25 1 4 10 15 20 25 30 "
         "--out 'generators/fashion_mnist/acgan_epoch{epoch}.pt'")
SHA256 = "5c8d27eca3596848a174493f718dc6ee50a94658f48eed813e758c3365dba376"
sample = csbench.generator("acgan_epoch30", suites=["fashion-mnist"], description=__doc__.split("\n")[0])(
    checkpoint_sampler("acgan28", "acgan_epoch30.pt", SHA256, TRAIN))
