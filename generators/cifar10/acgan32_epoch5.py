"""Class-conditional AC-GAN for CIFAR-10 at half width, mid checkpoint: 5 epochs (1,950 steps of 128).

Draws the ten classes in turn; the auxiliary classifier is Odena et al.'s (2017).
Recipe: Radford et al. (2016), Adam 2e-4, beta1 0.5, batch 128. Trained by the command in TRAIN (seed 0, one CPU
thread; 21 CPU minutes to this checkpoint, `acgan32_epoch5.pt.json`) on the training split of the
development copy of CIFAR-10 (CIFAR10_DEV, built by `python3 ../shared/cifar10/build_cifar10_dev.py CIFAR10_DEV`;
JPEG-degraded, train digest 4c6ff960799d...), not the official release.
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite cifar10-resnet56 --arch acgan32 --epochs 0.5 2 5 10 15 20 "
         "--batch-size 128 --data-dir CIFAR10_DEV --unverified-data --out 'generators/cifar10/acgan32_epoch{epoch}.pt'")
SHA256 = "313952873c3d6433ab1ccc94658a0a4d1365b6d109866437a2cf6f4a5e711983"
sample = csbench.generator("acgan32_epoch5", suites=["cifar10", "cifar10-resnet56"],
                           description=__doc__.split("\n")[0])(
    checkpoint_sampler("acgan32", "acgan32_epoch5.pt", SHA256, TRAIN))
