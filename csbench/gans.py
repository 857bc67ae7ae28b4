"""The GANs shipped as generators: networks, training loop, checkpoint files and seeded sampling.

One place for all of them, so that saved weights always fit the network that samples from them and the
training script (`scripts/train_gan.py`) and the generator files (`generators/*/dcgan*.py`, `acgan*.py`)
cannot drift apart. Networks: the DCGAN of Radford et al. (2016) for 32x32 RGB, and a two-layer DCGAN and
AC-GAN (Odena et al. 2017) for 28x28 grey, small enough to train on a CPU. Generators output [-1, 1].
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .cache import atomic_path, atomic_write_text, sha256_file
from .errors import GeneratorError
from .registry import Registry


def _up(cin: int, cout: int) -> list[nn.Module]:
    return [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]


def _down(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, True)]


class DCGANGenerator(nn.Module):
    """z (N, 100) -> images in [-1, 1] (N, 3, 32, 32), through 4x4x512, 8x8x256 and 16x16x128."""

    z_dim, num_classes = 100, 0

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(self.z_dim, 512, 4, bias=False), nn.BatchNorm2d(512), nn.ReLU(True),
            *_up(512, 256),
            *_up(256, 128),
            nn.ConvTranspose2d(128, 3, 4, stride=2, padding=1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z.view(len(z), self.z_dim, 1, 1))


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

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.net(x).view(len(x)), None


SMALL_WIDTH = 64  # channels of the 14x14 layer; 7x7 has twice as many


class SmallGenerator(nn.Module):
    """z (N, 64) -> 7x7x128 -> 14x14x64 -> images in [-1, 1] (N, 1, 28, 28).

    Conditional (AC-GAN) when num_classes > 0: z is multiplied by a learnt embedding of the class.
    """

    z_dim = 64

    def __init__(self, num_classes: int = 0):
        super().__init__()
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes, self.z_dim) if num_classes else None
        self.project = nn.Sequential(nn.Linear(self.z_dim, 2 * SMALL_WIDTH * 49, bias=False),
                                     nn.BatchNorm1d(2 * SMALL_WIDTH * 49), nn.ReLU(True))
        self.up = nn.Sequential(*_up(2 * SMALL_WIDTH, SMALL_WIDTH),
                                nn.ConvTranspose2d(SMALL_WIDTH, 1, 4, stride=2, padding=1), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = z * self.embed(labels)
        return self.up(self.project(z).view(len(z), 2 * SMALL_WIDTH, 7, 7))


class SmallDiscriminator(nn.Module):
    """Images (N, 1, 28, 28) -> real-vs-fake logits (N,) and, for AC-GAN, class logits (N, num_classes)."""

    def __init__(self, num_classes: int = 0):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, SMALL_WIDTH, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True),
            *_down(SMALL_WIDTH, 2 * SMALL_WIDTH),
            nn.Flatten(),
        )
        self.real = nn.Linear(2 * SMALL_WIDTH * 49, 1)
        self.classes = nn.Linear(2 * SMALL_WIDTH * 49, num_classes) if num_classes else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.features(x)
        return self.real(h).view(len(x)), self.classes(h) if self.classes is not None else None


@dataclass(frozen=True)
class Architecture:
    image_shape: tuple[int, int, int]
    generator: Callable[[], nn.Module]
    discriminator: Callable[[], nn.Module]


GAN_ARCHITECTURES: Registry[Architecture] = Registry("GAN architecture")
GAN_ARCHITECTURES.add("dcgan32", Architecture((3, 32, 32), DCGANGenerator, DCGANDiscriminator))
GAN_ARCHITECTURES.add("dcgan28", Architecture((1, 28, 28), SmallGenerator, SmallDiscriminator))
GAN_ARCHITECTURES.add("acgan28", Architecture((1, 28, 28), lambda: SmallGenerator(10), lambda: SmallDiscriminator(10)))


def init_weights(module: nn.Module) -> None:
    """The DCGAN paper's initialisation: convolutions N(0, 0.02), batch-norm scales N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def train(arch: str, images: torch.Tensor, labels: torch.Tensor, save_at: Sequence[int], batch_size: int = 64,
          lr: float = 2e-4, seed: int = 0, device: str = "cpu",
          on_step: Callable[[], None] = lambda: None) -> Iterator[tuple[int, nn.Module, dict]]:
    """Yield (step, generator in eval mode, last losses) after each step count in `save_at`.

    Adam (beta1 0.5) on the non-saturating GAN loss, one discriminator step per generator step; a
    conditional generator adds the AC-GAN class losses (cross-entropy of the discriminator's class head on
    real and generated images). Batches, latent codes and fake labels come from one CPU generator seeded
    by `seed`, so a seed fixes the run. Images are in [0, 1]; the networks see [-1, 1].
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    spec = GAN_ARCHITECTURES.get_or_fail(arch)
    g, d = spec.generator().to(device), spec.discriminator().to(device)
    g.apply(init_weights)
    d.apply(init_weights)
    opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=lr, betas=(0.5, 0.999))
    ones, zeros = torch.ones(batch_size, device=device), torch.zeros(batch_size, device=device)
    per_epoch, step = len(images) // batch_size, 0
    while step < max(save_at):
        order = torch.randperm(len(images), generator=gen)
        for i in range(per_epoch):
            idx = order[i * batch_size : (i + 1) * batch_size]
            real, real_labels = images[idx].to(device) * 2 - 1, labels[idx].to(device)
            z = torch.randn(batch_size, g.z_dim, generator=gen).to(device)
            fake_labels = torch.randint(max(g.num_classes, 1), (batch_size,), generator=gen).to(device)
            fake = g(z, fake_labels)
            (real_logit, real_cls), (fake_logit, fake_cls) = d(real), d(fake.detach())
            loss_d = (F.binary_cross_entropy_with_logits(real_logit, ones)
                      + F.binary_cross_entropy_with_logits(fake_logit, zeros))
            if g.num_classes:
                loss_d = loss_d + F.cross_entropy(real_cls, real_labels) + F.cross_entropy(fake_cls, fake_labels)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            logit, cls = d(fake)
            loss_g = F.binary_cross_entropy_with_logits(logit, ones)
            if g.num_classes:
                loss_g = loss_g + F.cross_entropy(cls, fake_labels)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            step += 1
            on_step()
            if step in save_at:
                yield step, g.eval(), {"discriminator": loss_d.item(), "generator": loss_g.item()}
                g.train()
            if step >= max(save_at):
                return


def save_checkpoint(network: nn.Module, out: Path) -> str:
    """Write the weights and `<out>.sha256` (sha256sum format) atomically; return the sha256."""
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}, buffer)
    with atomic_path(out) as tmp:
        tmp.write_bytes(buffer.getvalue())
    digest = sha256_file(out)
    atomic_write_text(out.with_name(f"{out.name}.sha256"), f"{digest}  {out.name}\n")
    return digest


@lru_cache(maxsize=2)
def load_network(arch: str, path: Path, sha256: str | None, train_command: str) -> nn.Module:
    """The generator network of a checkpoint, read as plain tensors (weights_only).

    The file must match `sha256` when it is pinned, else the `<path>.sha256` beside it where there is one.
    """
    if not path.is_file():
        raise GeneratorError(f"GAN weights {path} not found; train them with `{train_command}`, which writes "
                             f"{path.name} and {path.name}.sha256 beside this file")
    recorded = path.with_name(f"{path.name}.sha256")
    source = "the sha256 pinned in the generator file" if sha256 else f"the sha256 in {recorded.name}"
    if sha256 is None and recorded.is_file():
        sha256 = recorded.read_text().split()[0]
    if sha256 is not None and sha256_file(path) != sha256:
        raise GeneratorError(f"GAN weights {path} do not match {source}: a partial copy or other weights; "
                             "copy them again or retrain")
    network = GAN_ARCHITECTURES.get_or_fail(arch).generator()
    network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return network.eval()


@torch.inference_mode()
def sample(network: nn.Module, n: int, seed: int, device: str = "cpu",
           batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor | None]:
    """n images in [0, 1] and, for a conditional generator, the classes asked for (balanced, in turn).

    Latent codes are drawn on the CPU, so a seed gives the same codes on any device.
    """
    z = torch.randn(n, network.z_dim, generator=torch.Generator().manual_seed(seed))
    labels = torch.arange(n) % network.num_classes if network.num_classes else None
    network = network.to(device)
    images = torch.cat([
        network(z[i : i + batch_size].to(device), None if labels is None else labels[i : i + batch_size].to(device))
        .float().cpu() for i in range(0, n, batch_size)])
    return images.add_(1).div_(2).clamp_(0, 1), labels


def checkpoint_sampler(arch: str, weights: str, sha256: str | None, train_command: str):
    """The `sample(n, seed, ctx)` of a generator file whose weights lie beside it; they load at the first draw,
    so that sweeps over other suites can import the file without them."""

    def sample_checkpoint(n: int, seed: int, ctx):
        network = load_network(arch, ctx.directory / weights, sha256, train_command)
        images, labels = sample(network, n, seed, ctx.device)
        return images if labels is None else (images, labels)

    sample_checkpoint.__doc__ = f"{arch} samples from {weights}"
    return sample_checkpoint
