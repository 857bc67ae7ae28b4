"""Unconditional DCGAN for CIFAR-10 at half width, mid checkpoint: 5 epochs (1,950 steps of 128).

Recipe: Radford et al. (2016), Adam 2e-4, beta1 0.5, batch 128. Trained by the command in TRAIN (seed 0, one CPU
thread; 21 CPU minutes to this checkpoint, `dcgan32_epoch5.pt.json`) on the training split of the
development copy of CIFAR-10 (CIFAR10_DEV, built by `python3 ../shared/cifar10/build_cifar10_dev.py CIFAR10_DEV`;
JPEG-degraded, train digest 4c6ff960799d...), not the official release.
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite cifar10-resnet56 --arch dcgan32 --epochs 0.5 2 5 10 15 20 "
         "--batch-size 128 --data-dir CIFAR10_DEV --unverified-data --out 'generators/cifar10/dcgan32_epoch{epoch}.pt'")
SHA256 = "37e6602a724bbbc56c85362bff984277b0cc8764c7b78efcc8dbfd3f4b4079bf"
sample = csbench.generator("dcgan32_epoch5", suites=["cifar10", "cifar10-resnet56"],
                           description=__doc__.split("\n")[0])(
    checkpoint_sampler("dcgan32", "dcgan32_epoch5.pt", SHA256, TRAIN))
