"""A conditional tabular GAN (WGAN-GP) in torch, trained on the fly on the standardised training rows.

Why not CTGAN: `pip install ctgan` would add rdt, Faker, pytz and tqdm and downgrade pandas, and
its per-column Gaussian-mixture normalisation is built for mixed-type, multi-modal columns; every
suite here is continuous and standardised. Small MLPs conditioned on a one-hot class train in
seconds on two CPU cores, so nothing is saved: the seed fixes the weights and the samples.
"""

import numpy as np
import torch
from torch import nn

import csbench
from csbench.tabular.suites import TABULAR_SUITES

NOISE = 32
HIDDEN = 128
STEPS = 1000  # generator updates
CRITIC_STEPS = 3  # critic updates per generator update
BATCH = 256
LR = 1e-3
GRADIENT_PENALTY = 10.0


def mlp(inputs: int, outputs: int, activation: nn.Module) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, HIDDEN), activation, nn.Linear(HIDDEN, HIDDEN), activation,
                         nn.Linear(HIDDEN, outputs))


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, cond: torch.Tensor,
                     gen: torch.Generator) -> torch.Tensor:
    alpha = torch.rand(len(real), 1, generator=gen)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    grad, = torch.autograd.grad(critic(torch.cat([mixed, cond], 1)).sum(), mixed, create_graph=True)
    return ((grad.norm(dim=1) - 1) ** 2).mean()


def train(rows: np.ndarray, labels: np.ndarray, num_classes: int, seed: int) -> nn.Module:
    """Conditional WGAN-GP: critic and generator see the class as a one-hot vector."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(rows, dtype=torch.float32)
    y = nn.functional.one_hot(torch.as_tensor(labels), num_classes).float()
    width = x.shape[1]
    generator, critic = mlp(NOISE + num_classes, width, nn.ReLU()), mlp(width + num_classes, 1, nn.LeakyReLU(0.2))
    opt_g = torch.optim.Adam(generator.parameters(), lr=LR, betas=(0.5, 0.9))
    opt_c = torch.optim.Adam(critic.parameters(), lr=LR, betas=(0.5, 0.9))
    for _ in range(STEPS):
        for _ in range(CRITIC_STEPS):
            idx = torch.randint(len(x), (BATCH,), generator=gen)
            real, cond = x[idx], y[idx]
            with torch.no_grad():
                fake = generator(torch.cat([torch.randn(BATCH, NOISE, generator=gen), cond], 1))
            loss = (critic(torch.cat([fake, cond], 1)).mean() - critic(torch.cat([real, cond], 1)).mean()
                    + GRADIENT_PENALTY * gradient_penalty(critic, real, fake, cond, gen))
            opt_c.zero_grad(set_to_none=True)
            loss.backward()
            opt_c.step()
        cond = y[torch.randint(len(x), (BATCH,), generator=gen)]
        fake = generator(torch.cat([torch.randn(BATCH, NOISE, generator=gen), cond], 1))
        loss = -critic(torch.cat([fake, cond], 1)).mean()
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
    return generator.eval()


@csbench.generator("tabular_cgan", suites=list(TABULAR_SUITES), needs_train_data=True)
def sample(n: int, seed: int, ctx: csbench.SampleContext):
    """Conditional WGAN-GP (MLP 128-128), 1000 generator steps, trained per seed; classes in equal shares."""
    generator = train(ctx.train.rows, ctx.train.labels, ctx.num_classes, seed)
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randperm(n, generator=gen) % ctx.num_classes
    cond = nn.functional.one_hot(labels, ctx.num_classes).float()
    with torch.no_grad():
        rows = generator(torch.cat([torch.randn(n, NOISE, generator=gen), cond], 1))
    return rows, labels
