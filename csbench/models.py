"""Teacher and student architectures, registered by name so that suites can refer to them."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {}


def architecture(name: str):
    def register(build):
        ARCHITECTURES[name] = build
        return build

    return register


def build_model(name: str, in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    return ARCHITECTURES[name](in_channels=in_channels, image_size=image_size, num_classes=num_classes)


class FeatureClassifier(nn.Module):
    """`features` gives the penultimate representation (used for teacher-space metrics)."""

    def __init__(self, features: nn.Module, classifier: nn.Module):
        super().__init__()
        self.features = features
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def _conv_bn(cin: int, cout: int, kernel: int = 3) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def _conv_bn_pool(cin: int, cout: int) -> list[nn.Module]:
    """conv-BN-ReLU-maxpool computed as conv-BN-maxpool-ReLU: the same numbers (ReLU is monotone, so it
    commutes with max), forward and backward, with ReLU on a quarter of the activations."""
    conv, bn, relu = _conv_bn(cin, cout)
    return [conv, bn, nn.MaxPool2d(2), relu]


@architecture("cnn6")
def cnn6(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """Six 3x3 conv layers (32-32, 64-64, 128-128) with batch norm and global average pooling."""
    features = nn.Sequential(
        *_conv_bn(in_channels, 32),
        *_conv_bn_pool(32, 32),
        *_conv_bn(32, 64),
        *_conv_bn_pool(64, 64),
        *_conv_bn(64, 128),
        *_conv_bn(128, 128),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )
    return FeatureClassifier(features, nn.Sequential(nn.Dropout(0.2), nn.Linear(128, num_classes)))


class AuthorsLeNet(FeatureClassifier):
    """The seed authors' student, as `lenet` in RuishanLiu/GAN-TSC-Score `compression_score.py` (and
    RuishanLiu/GAN-TSC `functions/cifar10/net.py`) builds it in TensorFlow.

    conv5x5-64 (VALID, bias, no activation), max-pool 2x2/2 (TF "SAME": `ceil_mode` takes the max over the
    values that exist, as TF's padding does), conv5x5-128 (VALID, bias, no activation), max-pool 2x2/2 (VALID),
    flatten, FC-1024, ReLU, FC (the logits). Weights Glorot-uniform, biases N(0, 0.5²), as the authors'
    initialisers. The flatten is PyTorch's (C, H, W) order where TF's is (H, W, C): the same network up to a
    fixed permutation of FC-1024's inputs, which its initialisation does not see.
    """

    def __init__(self, in_channels: int, image_size: int, num_classes: int):
        side = ((image_size - 4 + 1) // 2 - 4) // 2
        features = nn.Sequential(
            nn.Conv2d(in_channels, 64, 5),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(64, 128, 5),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(128 * side * side, 1024),
            nn.ReLU(),
        )
        super().__init__(features, nn.Linear(1024, num_classes))
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)
                nn.init.normal_(module.bias, std=0.5)


@architecture("lenet")
def lenet(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    return AuthorsLeNet(in_channels, image_size, num_classes)


def _mlpconv(cin: int, widths: tuple[int, ...], kernel: int) -> list[nn.Module]:
    """One Network-in-Network block: a spatial convolution, then 1x1 convolutions (the "micro MLP")."""
    layers = _conv_bn(cin, widths[0], kernel)
    for a, b in zip(widths, widths[1:]):
        layers += _conv_bn(a, b, 1)
    return layers


@architecture("nin")
def nin(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """Network in Network (Lin et al. 2014) as in their CIFAR-10 model, with batch norm after every convolution.

    The original ends in a 1x1 convolution to class maps and global average pooling; a linear layer after
    the pooling computes the same thing and exposes the 192-d pooled features for teacher-space metrics.
    """
    features = nn.Sequential(
        *_mlpconv(in_channels, (192, 160, 96), 5),
        nn.MaxPool2d(3, stride=2, padding=1),
        nn.Dropout(0.5),
        *_mlpconv(96, (192, 192, 192), 5),
        nn.AvgPool2d(3, stride=2, padding=1),
        nn.Dropout(0.5),
        *_mlpconv(192, (192, 192), 3),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )
    return FeatureClassifier(features, nn.Linear(192, num_classes))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with an identity (or strided 1x1) shortcut (He et al. 2016)."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
        )
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


@architecture("resnet18")
def resnet18(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """ResNet-18 in its CIFAR form: a 3x3 stem without max-pooling, four stages of two blocks (64-512)."""
    layers: list[nn.Module] = _conv_bn(in_channels, 64)
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
        cin = cout
    features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return FeatureClassifier(features, nn.Linear(512, num_classes))
