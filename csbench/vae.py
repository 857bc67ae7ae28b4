"""The conditional variational autoencoder shipped as a generator: network, loss and seeded sampling, for 28x28
grey images.

Recipe: the VAE of Kingma & Welling (2014), an encoder q(z|x) and a decoder p(x|z) trained on the evidence
lower bound with the reparameterisation trick and a Bernoulli likelihood on the pixels, made conditional as
Sohn et al. (2015) do: encoder and decoder both see the one-hot class, so a sample asks the decoder for a
class at z ~ N(0, I). Sampled images are the decoder's pixel means. Multilayer perceptrons as in both papers,
small enough to train in minutes on one CPU thread.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoints import load_pinned_weights
from .training import Recipe

NUM_CLASSES = 10
PIXELS = 28 * 28
HIDDEN = 512
Z_DIM = 32


class ConditionalVAE(nn.Module):
    """Encoder (image, class) -> (mean, log-variance) of z; decoder (z, class) -> pixel logits (N, 1, 28, 28)."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(PIXELS + NUM_CLASSES, HIDDEN), nn.ReLU(),
                                     nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 2 * Z_DIM))
        self.decoder = nn.Sequential(nn.Linear(Z_DIM + NUM_CLASSES, HIDDEN), nn.ReLU(),
                                     nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, PIXELS))

    def encode(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        onehot = F.one_hot(labels, NUM_CLASSES).float()
        return self.encoder(torch.cat([images.flatten(1), onehot], 1)).chunk(2, dim=1)

    def decode(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        onehot = F.one_hot(labels, NUM_CLASSES).float()
        return self.decoder(torch.cat([z, onehot], 1)).view(len(z), 1, 28, 28)


def elbo_loss(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Negative ELBO per image: Bernoulli reconstruction (cross-entropy summed over pixels) plus
    KL(q(z|x,c) || N(0, I))."""
    mean, log_var = model.encode(images, labels)
    z = mean + (0.5 * log_var).exp() * torch.randn(mean.shape, generator=gen)
    reconstruction = F.binary_cross_entropy_with_logits(model.decode(z, labels), images, reduction="sum")
    kl = -0.5 * (1 + log_var - mean.square() - log_var.exp()).sum()
    return (reconstruction + kl) / len(images)


RECIPE = Recipe(ConditionalVAE, elbo_loss, lr=1e-3, batch_size=128)


@torch.inference_mode()
def sample(model: nn.Module, n: int, seed: int, device: str = "cpu",
           batch_size: int = 5000) -> tuple[torch.Tensor, torch.Tensor]:
    """n images in [0, 1] (the decoder's pixel means at z ~ N(0, I)) and their classes (balanced, in turn).
    Codes are drawn on the CPU, so a seed gives the same images on any device."""
    z = torch.randn(n, Z_DIM, generator=torch.Generator().manual_seed(seed))
    labels = torch.arange(n) % NUM_CLASSES
    model = model.to(device).eval()
    images = torch.cat([model.decode(z[i : i + batch_size].to(device), labels[i : i + batch_size].to(device))
                        .sigmoid().float().cpu() for i in range(0, n, batch_size)])
    return images, labels


@lru_cache(maxsize=2)
def load_network(path: Path, sha256: str | None, train_command: str) -> nn.Module:
    return load_pinned_weights(ConditionalVAE(), path, sha256, train_command, "VAE weights")


def checkpoint_sampler(weights: str, sha256: str | None, train_command: str):
    """The `sample(n, seed, ctx)` of a generator file whose weights lie beside it; they load at the first draw."""

    def sample_checkpoint(n: int, seed: int, ctx):
        return sample(load_network(ctx.directory / weights, sha256, train_command), n, seed, ctx.device)

    sample_checkpoint.__doc__ = f"conditional VAE samples from {weights}"
    return sample_checkpoint
