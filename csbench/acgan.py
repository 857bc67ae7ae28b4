"""The seed authors' CIFAR-10 AC-GANs: the generator network of gitlimlab/ACGAN-PyTorch and the authors' sampling.

Network (`_netG` for CIFAR-10 in RuishanLiu/GAN-TSC `functions/cifar10/net_GAN_pytorch.py`): fc1 Linear(110, 384)
reshaped to 384x1x1, then transposed convolutions 384->192 (k4, s1, p0: 1->4), 192->96, 96->48 (k4, s2, p1: 4->8->16),
each with batch norm and ReLU, and 48->3 (k4, s2, p1: 16->32) with tanh. Parameter names are the original module's
(fc1, tconv2.0 = convolution, tconv2.1 = batch norm, ..., tconv5.0), so the published state dicts load as they are.
Assumed, as in DCGAN-style code and not checked against the real files (they could not be fetched here): the
transposed convolutions have no bias; a file whose state dict has their biases loads with them instead.

Sampling (`functions/cifar10/generate_fake_pytorch.py`): 110-d N(0, 1) noise whose first 10 entries are replaced by
the one-hot of a class drawn uniformly; pixels 127.5 * (tanh + 1). The authors draw one image at a time with the
network in training mode, so each batch norm normalises an image by its own statistics (per channel over its
pixels, biased variance). A batch here normalises each image on its own (instance norm with the batch norm's
affine weights), which gives the same images as one at a time, and the same images at any batch size.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .errors import GeneratorError

NOISE, CLASSES, BATCH = 110, 10, 500


def _up(cin: int, cout: int, stride: int, padding: int, bias: bool, last: bool = False) -> nn.Sequential:
    conv = nn.ConvTranspose2d(cin, cout, 4, stride, padding, bias=bias)
    return nn.Sequential(conv, nn.Tanh()) if last else nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU(True))


class ACGANGenerator(nn.Module):
    """gitlimlab/ACGAN-PyTorch's CIFAR-10 `_netG`, with each image normalised by its own statistics."""

    def __init__(self, bias: bool = False):
        super().__init__()
        self.fc1 = nn.Linear(NOISE, 384)
        self.tconv2 = _up(384, 192, 1, 0, bias)
        self.tconv3 = _up(192, 96, 2, 1, bias)
        self.tconv4 = _up(96, 48, 2, 1, bias)
        self.tconv5 = _up(48, 3, 2, 1, bias, last=True)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        x = self.fc1(noise).view(-1, 384, 1, 1)
        for block in (self.tconv2, self.tconv3, self.tconv4):
            conv, bn, relu = block
            x = relu(F.instance_norm(conv(x), weight=bn.weight, bias=bn.bias, eps=bn.eps))
        return self.tconv5(x)


def noise_and_labels(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The authors' inputs: N(0, 1) noise with the class one-hot in its first 10 entries."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, CLASSES, (n,), generator=gen)
    noise = torch.randn(n, NOISE, generator=gen)
    noise[:, :CLASSES] = F.one_hot(labels, CLASSES).float()
    return noise, labels


def load_generator(path) -> ACGANGenerator:
    """The published state dict, loaded without unpickling code (`weights_only`)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model = ACGANGenerator(bias="tconv2.0.bias" in state)
        model.load_state_dict(state)
    except Exception as exc:
        raise GeneratorError(f"AC-GAN weights {path.name} cannot be loaded: {' '.join(str(exc).split())}") from None
    return model.eval()


def sampler(weight_file: str) -> Callable:
    """`sample(n, seed, ctx)` for the AC-GAN whose weights the generator declares as `weight_file`."""

    def sample(n: int, seed: int, ctx):
        model = load_generator(ctx.weights[weight_file]).to(ctx.device)
        noise, labels = noise_and_labels(n, seed)
        with torch.inference_mode():
            images = torch.cat([model(chunk.to(ctx.device)).cpu() for chunk in noise.split(BATCH)])
        return (images.float() * 127.5 + 127.5) / 255, labels

    return sample
