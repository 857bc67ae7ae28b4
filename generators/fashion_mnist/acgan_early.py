"""Class-conditional AC-GAN for Fashion-MNIST, early checkpoint: a quarter epoch (234 steps of 64 images).

Draws the ten classes in turn. Weights `acgan_epoch0.25.pt` beside this file, written by the command in TRAIN
(seed 0, one CPU thread); trained on the Fashion-MNIST training split (MIT licence), the weights are MIT.
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite fashion-mnist --arch acgan28 --epochs 0.25 1 4 "
         "--out 'generators/fashion_mnist/acgan_epoch{epoch}.pt'")
SHA256 = "2e2c0ccf49531f1e0559f2925ab6ccde8c51d0837bcaf169357114d1ec18ee49"
sample = csbench.generator("acgan_epoch0.25", suites=["fashion-mnist"], description=__doc__.split("\n")[0])(
    checkpoint_sampler("acgan28", "acgan_epoch0.25.pt", SHA256, TRAIN))
