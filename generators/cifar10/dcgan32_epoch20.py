"""Unconditional DCGAN for CIFAR-10 at half width, final checkpoint: 20 epochs (7,800 steps of 128).

Recipe: Radford et al. (2016), Adam 2e-4, beta1 0.5, batch 128. Trained by the command in TRAIN (seed 0, one CPU
thread; 86 CPU minutes to this checkpoint, `dcgan32_epoch20.pt.json`) on the training split of the
development copy of CIFAR-10 (CIFAR10_DEV, built by `python3 ../shared/cifar10/build_cifar10_dev.py CIFAR10_DEV`;
JPEG-degraded, train digest 4c6ff960799d...), not the official release.
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite cifar10-resnet56 --arch dcgan32 --epochs 0.5 2 5 10 15 20 "
         "--batch-size 128 --data-dir CIFAR10_DEV --unverified-data --out 'generators/cifar10/dcgan32_epoch{epoch}.pt'")
SHA256 = "c4a16816c8f5d32c74c3dfa1922e69386392c24b01bd382cf70ae587beab0d04"
sample = csbench.generator("dcgan32_epoch20", suites=["cifar10", "cifar10-resnet56"],
                           description=__doc__.split("\n")[0])(
    checkpoint_sampler("dcgan32", "dcgan32_epoch20.pt", SHA256, TRAIN))
