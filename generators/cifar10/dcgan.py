"""DCGAN samples for CIFAR-10, from weights that scripts/train_gan.py saves beside this file."""

import csbench
from csbench.gans import checkpoint_sampler

sample = csbench.generator("dcgan", suites=["cifar10", "cifar10-resnet56"])(checkpoint_sampler(
    "dcgan32", "dcgan.pt", None, "python scripts/train_gan.py --suite cifar10 --arch dcgan32 --epochs 25 "
    "--batch-size 128 --device cuda --out generators/cifar10/dcgan.pt"))
