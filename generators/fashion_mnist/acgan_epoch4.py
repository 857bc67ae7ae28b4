"""Class-conditional AC-GAN for Fashion-MNIST, four epochs (3,748 steps of 64 images).

Recipe: Radford et al. (2016), Adam 2e-4, beta1 0.5, at batch 64 (theirs: 128). Draws the ten classes in turn.
Weights `acgan_epoch4.pt` beside this file, written by the command in TRAIN (seed 0, one CPU thread; 8 CPU minutes
to this checkpoint, `acgan_epoch4.pt.json`) on the Fashion-MNIST training split (MIT licence); the weights are MIT.
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite fashion-mnist --arch acgan28 --epochs 0.25 1 4 10 15 20 25 30 "
         "--out 'generators/fashion_mnist/acgan_epoch{epoch}.pt'")
SHA256 = "a45db39f9c7289163530ed499625a548b20c07d0ed830521a4176865e4be5b50"
sample = csbench.generator("acgan_epoch4", suites=["fashion-mnist"], description=__doc__.split("\n")[0])(
    checkpoint_sampler("acgan28", "acgan_epoch4.pt", SHA256, TRAIN))
