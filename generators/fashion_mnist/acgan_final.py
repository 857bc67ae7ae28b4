"""Class-conditional AC-GAN for Fashion-MNIST, final checkpoint: four epochs (3748 steps of 64 images).

Draws the ten classes in turn. Weights `acgan_epoch4.pt` beside this file, written by the command in TRAIN
(seed 0, one CPU thread); trained on the Fashion-MNIST training split (MIT licence), the weights are MIT.
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite fashion-mnist --arch acgan28 --epochs 0.25 1 4 "
         "--out 'generators/fashion_mnist/acgan_epoch{epoch}.pt'")
SHA256 = "bfe1e386502cc45067dbf6f512463b3642a5aa00ec670aa5cc6093ee5dd8ee3d"
sample = csbench.generator("acgan_epoch4", suites=["fashion-mnist"], description=__doc__.split("\n")[0])(
    checkpoint_sampler("acgan28", "acgan_epoch4.pt", SHA256, TRAIN))
