"""A training loop that stops and resumes with identical results, for the generators trained by gradient steps
on one loss (the conditional VAE, the diffusion model).

Every random draw of step k (its batch's noise, timesteps, label dropout) comes from a generator seeded by
(seed, k), and the order of epoch e from one seeded by (seed, e); so the step count is the whole random state,
and a resumed run needs only the saved model, optimiser, EMA and step to continue bit for bit (on the CPU at
a given thread count).
"""

from __future__ import annotations

import copy
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import nn

from .checkpoints import load_training_state, save_training_state
from .errors import CsbenchError

Loss = Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class Recipe:
    """What a family trains and how: `loss(model, images in [0, 1], labels, generator)` is minimised with Adam;
    `ema_decay` keeps an exponential moving average of the weights (the one that samples) when set, its decay
    at step t held to (1 + t) / (10 + t) early on (TensorFlow's num_updates rule), so that a short training's
    average is not dominated by the random initial weights."""

    network: Callable[[], nn.Module]
    loss: Loss
    lr: float
    batch_size: int
    ema_decay: float | None = None
    warmup_steps: int = 0


@dataclass
class TrainState:
    step: int
    model: nn.Module
    optimiser: torch.optim.Optimizer
    ema: nn.Module | None
    wall_s: float = 0.0
    cpu_s: float = 0.0

    @property
    def sampler(self) -> nn.Module:
        """The weights that sample: the EMA where there is one."""
        return self.ema if self.ema is not None else self.model


def seeded(seed: int, stream: str, index: int) -> torch.Generator:
    """A CPU generator for draw `index` of `stream` under `seed`, independent of every other (seed, stream, index)."""
    key = hashlib.sha256(f"{seed}/{stream}/{index}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(key[:8], "little") >> 1)


def new_state(recipe: Recipe, seed: int) -> TrainState:
    torch.manual_seed(seed)
    model = recipe.network()
    optimiser = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    ema = copy.deepcopy(model).requires_grad_(False) if recipe.ema_decay is not None else None
    return TrainState(0, model, optimiser, ema)


def save_state(state: TrainState, path: Path, config: dict) -> None:
    save_training_state(path, config, {
        "step": state.step, "wall_s": state.wall_s, "cpu_s": state.cpu_s, "model": state.model.state_dict(),
        "optimiser": state.optimiser.state_dict(), "ema": state.ema.state_dict() if state.ema is not None else None})


def load_state(recipe: Recipe, seed: int, path: Path, config: dict) -> TrainState:
    """The state saved at `path`, or a fresh one where there is none (`checkpoints.load_training_state`)."""
    state = new_state(recipe, seed)
    saved = load_training_state(path, config)
    if saved is None:
        return state
    state.model.load_state_dict(saved["model"])
    state.optimiser.load_state_dict(saved["optimiser"])
    if state.ema is not None:
        state.ema.load_state_dict(saved["ema"])
    state.step, state.wall_s, state.cpu_s = saved["step"], saved["wall_s"], saved["cpu_s"]
    return state


def train(recipe: Recipe, state: TrainState, images: torch.Tensor, labels: torch.Tensor, steps: int, seed: int,
          save_every: int, on_step: Callable[[], None] = lambda: None) -> Iterator[tuple[TrainState, float]]:
    """Continue `state` to `steps`, yielding (state, last loss) every `save_every` steps and at the end.

    Batches are `recipe.batch_size` images of a seeded permutation per epoch (the last partial batch dropped).
    """
    per_epoch = len(images) // recipe.batch_size
    if per_epoch == 0:
        raise CsbenchError(f"{len(images)} training images are fewer than one batch of {recipe.batch_size}")
    state.model.train()
    wall, cpu = time.perf_counter(), time.process_time()
    epoch, order = -1, None
    while state.step < steps:
        if state.step // per_epoch != epoch:
            epoch = state.step // per_epoch
            order = torch.randperm(len(images), generator=seeded(seed, "epoch", epoch))
        i = state.step % per_epoch
        idx = order[i * recipe.batch_size : (i + 1) * recipe.batch_size]
        for group in state.optimiser.param_groups:
            group["lr"] = recipe.lr * min(1.0, (state.step + 1) / recipe.warmup_steps) if recipe.warmup_steps \
                else recipe.lr
        loss = recipe.loss(state.model, images[idx], labels[idx], seeded(seed, "step", state.step))
        state.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        state.optimiser.step()
        if state.ema is not None:
            decay = min(recipe.ema_decay, (1 + state.step) / (10 + state.step))
            with torch.no_grad():
                for averaged, current in zip(state.ema.parameters(), state.model.parameters()):
                    averaged.lerp_(current, 1 - decay)
                for averaged, current in zip(state.ema.buffers(), state.model.buffers()):
                    averaged.copy_(current)
        state.step += 1
        on_step()
        if state.step % save_every == 0 or state.step == steps:
            now_wall, now_cpu = time.perf_counter(), time.process_time()
            state.wall_s, state.cpu_s = state.wall_s + now_wall - wall, state.cpu_s + now_cpu - cpu
            wall, cpu = now_wall, now_cpu
            yield state, loss.item()
