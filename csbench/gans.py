"""The GANs shipped as generators: networks, training loop, checkpoint files and seeded sampling.

One place for all of them, so that saved weights always fit the network that samples from them and the
training script (`scripts/train_gan.py`) and the generator files (`generators/*/dcgan*.py`, `acgan*.py`)
cannot drift apart. Networks: the DCGAN of Radford et al. (2016) at half width and its AC-GAN (Odena et al. 2017)
for 32x32 RGB, and a two-layer DCGAN and AC-GAN for 28x28 grey, small enough to train on a CPU. Generators output
[-1, 1]. Training resumes from a state file, so that runs of hours can stop and continue with the same result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoints import load_pinned_weights, load_training_state, save_training_state
from .registry import Registry
from .timing import Timings


def _up(cin: int, cout: int) -> list[nn.Module]:
    return [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]


def _down(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, True)]


class DCGANGenerator(nn.Module):
    """z (N, 100) -> images in [-1, 1] (N, 3, 32, 32), through 4x4x8w, 8x8x4w and 16x16x2w (w = `width`).

    Radford et al. use w = 64; csbench trains w = 32, a quarter of the cost, on CPUs. Conditional (AC-GAN) when
    num_classes > 0: z is multiplied by a learnt embedding of the class, as in the small generator below.
    """

    z_dim = 100

    def __init__(self, width: int = 64, num_classes: int = 0):
        super().__init__()
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes, self.z_dim) if num_classes else None
        self.net = nn.Sequential(
            nn.ConvTranspose2d(self.z_dim, 8 * width, 4, bias=False), nn.BatchNorm2d(8 * width), nn.ReLU(True),
            *_up(8 * width, 4 * width),
            *_up(4 * width, 2 * width),
            nn.ConvTranspose2d(2 * width, 3, 4, stride=2, padding=1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = z * self.embed(labels)
        return self.net(z.view(len(z), self.z_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """Images in [-1, 1] (N, 3, 32, 32) -> real-vs-fake logits (N,) and, for AC-GAN, class logits from the same
    4x4x8w features; no batch norm on the input layer."""

    def __init__(self, width: int = 64, num_classes: int = 0):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True),
            *_down(2 * width, 4 * width),
            *_down(4 * width, 8 * width),
        )
        self.real = nn.Conv2d(8 * width, 1, 4)
        self.classes = nn.Linear(8 * width * 16, num_classes) if num_classes else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.features(x)
        return self.real(h).view(len(x)), self.classes(h.flatten(1)) if self.classes is not None else None


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
HALF_WIDTH = 32  # Radford et al.'s DCGAN at half its channels, for CIFAR-10 on CPUs
GAN_ARCHITECTURES.add("dcgan32", Architecture((3, 32, 32), lambda: DCGANGenerator(HALF_WIDTH),
                                              lambda: DCGANDiscriminator(HALF_WIDTH)))
GAN_ARCHITECTURES.add("acgan32", Architecture((3, 32, 32), lambda: DCGANGenerator(HALF_WIDTH, 10),
                                              lambda: DCGANDiscriminator(HALF_WIDTH, 10)))
GAN_ARCHITECTURES.add("dcgan28", Architecture((1, 28, 28), SmallGenerator, SmallDiscriminator))
GAN_ARCHITECTURES.add("acgan28", Architecture((1, 28, 28), lambda: SmallGenerator(10), lambda: SmallDiscriminator(10)))


def init_weights(module: nn.Module) -> None:
    """The DCGAN paper's initialisation: convolutions N(0, 0.02), batch-norm scales N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


@dataclass(frozen=True)
class TrainingRun:
    """Everything that fixes a training's result, checked again when it resumes."""

    arch: str
    images: int
    batch_size: int
    lr: float
    seed: int
    data_digest: str = ""

    def fields(self) -> dict:
        return {"arch": self.arch, "images": self.images, "batch_size": self.batch_size, "lr": self.lr,
                "seed": self.seed, "data_digest": self.data_digest}


def train(run: TrainingRun, images: torch.Tensor, labels: torch.Tensor, save_at: Sequence[int], device: str = "cpu",
          on_step: Callable[[int], None] = lambda step: None, state: Path | None = None,
          state_every: int = 200) -> Iterator[tuple[int, nn.Module, dict]]:
    """Yield (step, generator in eval mode, last losses) after each step count in `save_at`.

    Adam (beta1 0.5) on the non-saturating GAN loss, one discriminator step per generator step; a
    conditional generator adds the AC-GAN class losses (cross-entropy of the discriminator's class head on
    real and generated images). Batches, latent codes and fake labels come from one CPU generator seeded
    by the run's seed, so a seed fixes the run. Images are in [0, 1]; the networks see [-1, 1].

    With `state`, the networks, optimisers, random generator and place in the epoch are saved there every
    `state_every` steps and at each save point, and a run finding the file continues from it: the weights
    at each step are those of an uninterrupted run. `timings` in the losses dict count wall and CPU seconds
    (`training`, `training_cpu`) over all sessions of the run.
    """
    torch.manual_seed(run.seed)
    gen = torch.Generator().manual_seed(run.seed)
    spec = GAN_ARCHITECTURES.get_or_fail(run.arch)
    g, d = spec.generator().to(device), spec.discriminator().to(device)
    g.apply(init_weights)
    d.apply(init_weights)
    opt_g = torch.optim.Adam(g.parameters(), lr=run.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=run.lr, betas=(0.5, 0.999))
    batch_size, per_epoch = run.batch_size, len(images) // run.batch_size
    step, order, position, spent = 0, None, per_epoch, Timings(training=0.0, training_cpu=0.0)
    saved = load_training_state(state, run.fields()) if state is not None else None
    if saved is not None:
        for module, key in ((g, "g"), (d, "d"), (opt_g, "opt_g"), (opt_d, "opt_d")):
            module.load_state_dict(saved[key])
        gen.set_state(saved["rng"])
        step, order, position = int(saved["step"]), saved["order"], int(saved["position"])
        spent = Timings(**saved["timings"])
    cpu_before, cpu_started = spent["training_cpu"], time.process_time()

    def save_state() -> None:
        save_training_state(state, run.fields(), {
            "step": step, "order": order, "position": position, "rng": gen.get_state(), "g": g.state_dict(),
            "d": d.state_dict(), "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "timings": dict(spent)})

    ones, zeros = torch.ones(batch_size, device=device), torch.zeros(batch_size, device=device)
    while step < max(save_at):
        with spent.measure("training"):
            if position == per_epoch:
                order, position = torch.randperm(len(images), generator=gen), 0
            idx = order[position * batch_size : (position + 1) * batch_size]
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
            position, step = position + 1, step + 1
        spent["training_cpu"] = cpu_before + time.process_time() - cpu_started
        on_step(step)
        if state is not None and (step % state_every == 0 or step in save_at):
            save_state()
        if step in save_at:
            yield step, g.eval(), {"discriminator": loss_d.item(), "generator": loss_g.item(),
                                   "timings": dict(spent)}
            g.train()


@lru_cache(maxsize=2)
def load_network(arch: str, path: Path, sha256: str | None, train_command: str) -> nn.Module:
    """The generator network of a checkpoint, pin-checked and read as plain tensors (checkpoints.py)."""
    return load_pinned_weights(GAN_ARCHITECTURES.get_or_fail(arch).generator(), path, sha256, train_command,
                               "GAN weights")


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
