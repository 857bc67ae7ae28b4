"""Class-conditional AC-GAN for CIFAR-10 at half width, final checkpoint: 20 epochs (7,800 steps of 128).

Draws the ten classes in turn; the auxiliary classifier is Odena et al.'s (2017).
Recipe: Radford et al. (2016), Adam 2e-4, beta1 0.5, batch 128. Trained by the command in TRAIN (seed 0, one CPU
thread; 89 CPU minutes to this checkpoint, `acgan32_epoch20.pt.json`) on the training split of the
development copy of CIFAR-10 (CIFAR10_DEV, built by `python3 ../shared/cifar10/build_cifar10_dev.py CIFAR10_DEV`;
JPEG-degraded, train digest 4c6ff960799d...), not the official release.
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite cifar10-resnet56 --arch acgan32 --epochs 0.5 2 5 10 15 20 "
         "--batch-size 128 --data-dir CIFAR10_DEV --unverified-data --out 'generators/cifar10/acgan32_epoch{epoch}.pt'")
SHA256 = "3a5aedca1150b896259d2624791b650a2d363700a98a34a3c5daace62e3b797e"
sample = csbench.generator("acgan32_epoch20", suites=["cifar10", "cifar10-resnet56"],
                           description=__doc__.split("\n")[0])(
    checkpoint_sampler("acgan32", "acgan32_epoch20.pt", SHA256, TRAIN))
