"""Class-conditional AC-GAN for Fashion-MNIST, mid checkpoint: one epoch (937 steps of 64 images).

Draws the ten classes in turn. Weights `acgan_epoch1.pt` beside this file, written by the command in TRAIN
(seed 0, one CPU thread); trained on the Fashion-MNIST training split (MIT licence), the weights are MIT.
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite fashion-mnist --arch acgan28 --epochs 0.25 1 4 "
         "--out 'generators/fashion_mnist/acgan_epoch{epoch}.pt'")
SHA256 = "e1bed67cd1fc2b52e057c71b56db3e6448959439a700ecdb88bb2239febbfbaa"
sample = csbench.generator("acgan_epoch1", suites=["fashion-mnist"], description=__doc__.split("\n")[0])(
    checkpoint_sampler("acgan28", "acgan_epoch1.pt", SHA256, TRAIN))
