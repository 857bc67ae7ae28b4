"""The seed authors' CIFAR-10 AC-GAN (RuishanLiu/GAN-TSC models/cifar10/netG_pytorch.pth), downloaded by its pin."""

import csbench
from csbench.acgan import sampler

WEIGHTS = ("https://github.com/RuishanLiu/GAN-TSC/raw/00647b244224dc2203bfbf197481d2a94d61b3a3/models/cifar10/"
           "netG_pytorch.pth", "git-blob:d67c6a9ecde13aa63a0c1f084e2213edf5cdf63f")

sample = csbench.generator(
    "authors-acgan", suites=["cifar10", "cifar10-resnet56"], weights={"netG_pytorch.pth": WEIGHTS},
    description="the seed authors' AC-GAN (GAN-TSC netG_pytorch.pth), sampled as their generate_fake_pytorch.py",
)(sampler("netG_pytorch.pth"))
