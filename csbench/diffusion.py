"""The diffusion model shipped as a generator: a small class-conditional U-Net, its DDPM training loss, and the
DDIM sampler, for 28x28 grey images.

Recipe: DDPM training (Ho et al. 2020: 1000 steps, linear betas 1e-4..0.02, the network predicts the noise,
mean squared error, EMA of the weights); class-conditional with the label dropped 10 % of the time so one
network also predicts unconditionally, which classifier-free guidance (Ho & Salimans 2022) needs; sampling
with deterministic DDIM (Song et al. 2021, eta = 0) over a stated number of evenly spaced steps. The U-Net is
sized for a CPU: residual blocks at 28x28, 14x14 and 7x7 with 16, 32 and 64 channels.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoints import load_pinned_weights
from .training import Recipe

NUM_CLASSES = 10
NULL_CLASS = NUM_CLASSES  # the label of "no class", for unconditional predictions
TIMESTEPS = 1000
LABEL_DROPOUT = 0.1
CHANNELS = (16, 32, 64)
EMBED = 128


def _noise_levels() -> torch.Tensor:
    """alpha-bar_t of DDPM's linear schedule, t = 0 .. TIMESTEPS - 1."""
    betas = torch.linspace(1e-4, 0.02, TIMESTEPS, dtype=torch.float64)
    return torch.cumprod(1 - betas, 0).float()


ALPHA_BAR = _noise_levels()


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, with the time-and-class embedding added between, and a skip connection."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(8, cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.embed = nn.Linear(EMBED, cout)
        self.norm2, self.conv2 = nn.GroupNorm(8, cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x))) + self.embed(emb)[:, :, None, None]
        return self.conv2(F.silu(self.norm2(h))) + self.skip(x)


class UNet(nn.Module):
    """(noisy images in [-1, 1] (N, 1, 28, 28), timesteps (N,), labels (N,) with NULL_CLASS for none) -> noise."""

    def __init__(self):
        super().__init__()
        c1, c2, c3 = CHANNELS
        self.time = nn.Sequential(nn.Linear(EMBED, EMBED), nn.SiLU(), nn.Linear(EMBED, EMBED))
        self.label = nn.Embedding(NUM_CLASSES + 1, EMBED)
        self.inp = nn.Conv2d(1, c1, 3, padding=1)
        self.block28, self.down14 = ResBlock(c1, c1), nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.block14, self.down7 = ResBlock(c2, c2), nn.Conv2d(c2, c3, 3, stride=2, padding=1)
        self.block7, self.middle = ResBlock(c3, c3), ResBlock(c3, c3)
        self.up14, self.block14_up = nn.Conv2d(c3, c2, 3, padding=1), ResBlock(2 * c2, c2)
        self.up28, self.block28_up = nn.Conv2d(c2, c1, 3, padding=1), ResBlock(2 * c1, c1)
        self.out = nn.Sequential(nn.GroupNorm(8, c1), nn.SiLU(), nn.Conv2d(c1, 1, 3, padding=1))

    def embedding(self, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        half = EMBED // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
        angles = t.float()[:, None] * freqs[None]
        return F.silu(self.time(torch.cat([angles.sin(), angles.cos()], 1)) + self.label(labels))

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        emb = self.embedding(t, labels)
        h28 = self.block28(self.inp(x), emb)
        h14 = self.block14(self.down14(h28), emb)
        h = self.middle(self.block7(self.down7(h14), emb), emb)
        h = self.block14_up(torch.cat([self.up14(F.interpolate(h, scale_factor=2.0)), h14], 1), emb)
        h = self.block28_up(torch.cat([self.up28(F.interpolate(h, scale_factor=2.0)), h28], 1), emb)
        return self.out(h)


def ddpm_loss(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Ho et al.'s simple loss: noise a batch to uniform timesteps and regress the noise; labels dropped
    LABEL_DROPOUT of the time."""
    x0 = images * 2 - 1
    t = torch.randint(TIMESTEPS, (len(x0),), generator=gen)
    noise = torch.randn(x0.shape, generator=gen)
    drop = torch.rand(len(x0), generator=gen) < LABEL_DROPOUT
    a = ALPHA_BAR[t].view(-1, 1, 1, 1)
    noisy = a.sqrt() * x0 + (1 - a).sqrt() * noise
    return F.mse_loss(model(noisy, t, torch.where(drop, NULL_CLASS, labels)), noise)


RECIPE = Recipe(UNet, ddpm_loss, lr=5e-4, batch_size=128, ema_decay=0.999, warmup_steps=200)


@torch.inference_mode()
def ddim(model: nn.Module, noise: torch.Tensor, labels: torch.Tensor, steps: int, guidance: float) -> torch.Tensor:
    """Deterministic DDIM from `noise` at t = TIMESTEPS - ... down to images in [-1, 1], over `steps` evenly spaced
    timesteps; guidance w > 0 mixes in the unconditional prediction, eps = (1 + w) eps(c) - w eps(none), with
    both predictions from one batched call."""
    times = list(range(0, TIMESTEPS, TIMESTEPS // steps))[:steps]
    x = noise
    null = torch.full_like(labels, NULL_CLASS)
    for i in reversed(range(len(times))):
        t = torch.full((len(x),), times[i], dtype=torch.long, device=x.device)
        if guidance:
            cond, uncond = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([labels, null])).chunk(2)
            eps = (1 + guidance) * cond - guidance * uncond
        else:
            eps = model(x, t, labels)
        a = ALPHA_BAR[times[i]].item()
        a_prev = ALPHA_BAR[times[i - 1]].item() if i > 0 else 1.0
        x0 = ((x - math.sqrt(1 - a) * eps) / math.sqrt(a)).clamp(-1, 1)
        eps = (x - math.sqrt(a) * x0) / math.sqrt(1 - a)
        x = math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev) * eps
    return x


def sample(model: nn.Module, n: int, seed: int, steps: int, guidance: float, device: str = "cpu",
           batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """n images in [0, 1] and their classes (balanced, in turn). The starting noise is drawn on the CPU for all n
    at once, so a seed gives the same images on any device and at any batch size."""
    noise = torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))
    labels = torch.arange(n) % NUM_CLASSES
    model = model.to(device).eval()
    images = torch.cat([ddim(model, noise[i : i + batch_size].to(device), labels[i : i + batch_size].to(device),
                             steps, guidance).float().cpu() for i in range(0, n, batch_size)])
    return images.add_(1).div_(2).clamp_(0, 1), labels


@lru_cache(maxsize=2)
def load_network(path: Path, sha256: str | None, train_command: str) -> nn.Module:
    return load_pinned_weights(UNet(), path, sha256, train_command, "diffusion weights")


def checkpoint_sampler(weights: str, sha256: str | None, train_command: str, steps: int, guidance: float):
    """The `sample(n, seed, ctx)` of a generator file whose weights lie beside it; they load at the first draw."""

    def sample_checkpoint(n: int, seed: int, ctx):
        return sample(load_network(ctx.directory / weights, sha256, train_command), n, seed, steps, guidance,
                      ctx.device)

    sample_checkpoint.__doc__ = f"DDIM ({steps} steps, guidance {guidance:g}) samples from {weights}"
    return sample_checkpoint
