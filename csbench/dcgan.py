"""DCGAN (Radford et al. 2016) for 32x32 RGB images.

One definition shared by the generator file `generators/cifar10/dcgan.py` and its training script
`scripts/train_dcgan_cifar10.py`, so that saved weights always fit the network that samples from them.
"""

from __future__ import annotations

import torch
from torch import nn

Z_DIM = 100


def _up(cin: int, cout: int) -> list[nn.Module]:
    return [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]


def _down(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, True)]


class DCGANGenerator(nn.Module):
    """z (N, 100) -> images in [-1, 1] (N, 3, 32, 32), through 4x4x512, 8x8x256 and 16x16x128."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(Z_DIM, 512, 4, bias=False), nn.BatchNorm2d(512), nn.ReLU(True),
            *_up(512, 256),
            *_up(256, 128),
            nn.ConvTranspose2d(128, 3, 4, stride=2, padding=1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(len(z), Z_DIM, 1, 1))


class DCGANDiscriminator(nn.Module):
    """Images in [-1, 1] (N, 3, 32, 32) -> real-vs-fake logits (N,); no batch norm on the input layer."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 128, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True),
            *_down(128, 256),
            *_down(256, 512),
            nn.Conv2d(512, 1, 4),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(len(x))


def init_weights(module: nn.Module) -> None:
    """The DCGAN paper's initialisation: convolutions N(0, 0.02), batch-norm scales N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
