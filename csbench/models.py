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


def _conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


@architecture("cnn6")
def cnn6(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """Six 3x3 conv layers (32-32, 64-64, 128-128) with batch norm and global average pooling."""
    features = nn.Sequential(
        *_conv_bn(in_channels, 32),
        *_conv_bn(32, 32),
        nn.MaxPool2d(2),
        *_conv_bn(32, 64),
        *_conv_bn(64, 64),
        nn.MaxPool2d(2),
        *_conv_bn(64, 128),
        *_conv_bn(128, 128),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )
    return FeatureClassifier(features, nn.Sequential(nn.Dropout(0.2), nn.Linear(128, num_classes)))


@architecture("lenet")
def lenet(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """The seed authors' LeNet-style student: conv5x5-64, pool, conv5x5-128, pool, FC-1024, FC-10.

    ReLU follows each convolution; the two fully connected layers are linear, as in their code.
    """
    side = image_size // 4
    features = nn.Sequential(
        nn.Conv2d(in_channels, 64, 5, padding=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 5, padding=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128 * side * side, 1024),
    )
    return FeatureClassifier(features, nn.Linear(1024, num_classes))
