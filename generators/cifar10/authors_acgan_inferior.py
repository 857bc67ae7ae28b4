"""The seed authors' weaker CIFAR-10 AC-GAN (RuishanLiu/GAN-TSC models/cifar10/netG_pytorch_inferior.pth)."""

import csbench
from csbench.acgan import sampler

WEIGHTS = ("https://github.com/RuishanLiu/GAN-TSC/raw/00647b244224dc2203bfbf197481d2a94d61b3a3/models/cifar10/"
           "netG_pytorch_inferior.pth", "git-blob:b8264b3ec090e50d583b0d294c674be6a812dec9")

sample = csbench.generator(
    "authors-acgan-inferior", suites=["cifar10", "cifar10-resnet56"], weights={"netG_pytorch_inferior.pth": WEIGHTS},
    description="the seed authors' inferior AC-GAN (GAN-TSC netG_pytorch_inferior.pth), sampled as theirs",
)(sampler("netG_pytorch_inferior.pth"))
