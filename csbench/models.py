"""Teacher and student architectures, registered by name so that suites can refer to them."""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Callable

import torch
from torch import nn

from .registry import Registry

ARCHITECTURES: Registry[Callable[..., nn.Module]] = Registry("architecture")
architecture = ARCHITECTURES.register


def build_model(name: str, in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    return ARCHITECTURES.get_or_fail(name)(in_channels=in_channels, image_size=image_size, num_classes=num_classes)


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


class PixelMeanInput(nn.Module):
    """Images in [0, 1] as the authors' networks see them: raw 0–255 values minus the per-pixel training mean
    (computed in float64 and fed as float32, as `np.float32(x) - mean` reaches a TF float32 placeholder).

    The mean is a property of the data, not of the weights: it is not in the state dict, and the suite sets it
    from the training split when it loads the teacher (a forward pass without it fails)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", None, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mean is None:
            raise RuntimeError("the per-pixel training mean of this network's input was never set")
        return (x.double() * 255 - self.mean).float()


class FlattenHWC(nn.Module):
    """TF's flatten: channels vary fastest, so a dense layer's weights from TF apply unpermuted."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).flatten(1)


NIN_CONVS = ("conv1", "cccp1", "cccp2", "conv2", "cccp3", "cccp4", "conv3", "cccp5")


class AuthorsNIN(FeatureClassifier):
    """The seed authors' CIFAR-10 teacher, `nin` in RuishanLiu/GAN-TSC `functions/cifar10/net.py`, in PyTorch.

    Three blocks of a spatial convolution and 1x1 convolutions (each with ReLU; TF "SAME" padding, stride 1),
    a max-pool then an average pool (3x3, stride 2, TF "SAME"), each followed by dropout 0.5, then ip1 + ReLU
    (the features) and ip2 (the logits). On an even input TF's "SAME" pool pads 0 rows/columns at the top/left
    and 1 at the bottom/right, ignoring the padding (-inf for max, excluded from the average's divisor):
    exactly what `ceil_mode=True` without padding computes. `channels` = input channels then each
    convolution's outputs, `kernels` = each convolution's size: both come from the published file.
    """

    def __init__(self, channels: tuple[int, ...], kernels: tuple[int, ...], hidden: int, num_classes: int,
                 image_size: int = 32):
        layers: dict[str, nn.Module] = {"input": PixelMeanInput()}
        for name, cin, cout, k in zip(NIN_CONVS, channels, channels[1:], kernels):
            layers[name] = nn.Conv2d(cin, cout, k, padding=k // 2)
            layers[f"{name}_relu"] = nn.ReLU()
            if name == "cccp2":
                layers |= {"pool1": nn.MaxPool2d(3, 2, ceil_mode=True), "drop1": nn.Dropout(0.5)}
            if name == "cccp4":
                layers |= {"pool2": nn.AvgPool2d(3, 2, ceil_mode=True), "drop2": nn.Dropout(0.5)}
        side = -(-image_size // 4)
        layers |= {"flatten": FlattenHWC(), "ip1": nn.Linear(side * side * channels[-1], hidden), "ip1_relu": nn.ReLU()}
        super().__init__(nn.Sequential(OrderedDict(layers)), nn.Linear(hidden, num_classes))

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> "AuthorsNIN":
        """The network whose layer sizes are those of `state` (keys as this module names them)."""
        convs = [state[f"features.{name}.weight"].shape for name in NIN_CONVS]
        hidden, flat = state["features.ip1.weight"].shape
        side = math.isqrt(flat // convs[-1][0])
        return cls((convs[0][1], *(c[0] for c in convs)), tuple(c[2] for c in convs), hidden,
                   state["classifier.weight"].shape[0], image_size=4 * side)


CIFAR_MEAN, CIFAR_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class Normalize(nn.Module):
    """(x - mean) / std per channel, constants outside the state dict (the published file has none)."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class ShortcutA(nn.Module):
    """He et al.'s option A: subsample by 2 and zero-pad the new channels equally on both sides, no weights."""

    def __init__(self, extra: int):
        super().__init__()
        self.extra = extra

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.extra // 2, self.extra // 2))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm around an identity or option-A shortcut (parameter names as in
    Idelbayev's checkpoints: conv1, bn1, conv2, bn2)."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = ShortcutA(cout - cin) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class CifarResNetFeatures(nn.Module):
    """He et al.'s CIFAR ResNet up to the pooled 64-d features: a 3x3 stem (16), three stages of `n` blocks
    (16, 32, 64 channels; stride 2 into the last two), global average pooling."""

    def __init__(self, in_channels: int, n: int):
        super().__init__()
        self.normalize = Normalize(CIFAR_MEAN, CIFAR_STD)
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        widths = [(16, 16, 1), (16, 32, 2), (32, 64, 2)]
        for i, (cin, cout, stride) in enumerate(widths, 1):
            blocks = [BasicBlock(cin, cout, stride)] + [BasicBlock(cout, cout, 1) for _ in range(n - 1)]
            setattr(self, f"layer{i}", nn.Sequential(*blocks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(self.normalize(x))))
        out = self.layer3(self.layer2(self.layer1(out)))
        return out.mean(dim=(2, 3))


@architecture("resnet56")
def resnet56(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """ResNet-56 for CIFAR-10 as Idelbayev trained it (akamaster/pytorch_resnet_cifar10): 9 blocks per stage;
    inputs in [0, 1], normalised inside with the ImageNet channel statistics his training used."""
    return FeatureClassifier(CifarResNetFeatures(in_channels, 9), nn.Linear(64, num_classes))
