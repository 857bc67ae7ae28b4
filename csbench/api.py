"""Score a generator held in memory, for instance from a GAN's training loop: trusted code, no sandbox.

The samples go through exactly the protocol, record and numbers of `csbench evaluate`; only the drawing differs:
the sampling function runs in this process, so use it for your own code only. Generator files from others
go through the sandboxed command line (`csbench evaluate FILE`).

    import csbench.api

    for epoch in range(epochs):
        train_one_epoch(G)
        record = csbench.api.score(csbench.api.module_sampler(G, latent_dim=100), suite="fashion-mnist",
                                   preview=True)
        print(epoch, record.cs)
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import torch
from torch import nn

from .evaluate import RunOptions, Unit, evaluate_units, merge_seed_records, preview_protocol
from .generators import SampleContext
from .results import CsRecord
from .sources import InMemory, Samples, array_samples
from .suites import Suite, get_suite
from .teacher import default_device

SampleFunction = Callable[[int, int, SampleContext], Any]


def module_sampler(module: nn.Module, latent_dim: int, *, output_range: tuple[float, float] = (-1.0, 1.0),
                   num_classes: int | None = None, batch_size: int = 500) -> SampleFunction:
    """A sampling function for a generator network: z ~ N(0, 1) of `latent_dim` seeded by the seed, outputs mapped
    from `output_range` (tanh: (-1, 1)) to [0, 1]. With `num_classes`, classes are drawn uniformly, passed as
    `module(z, labels)` and returned as the labels, so the record also gets CAS."""
    lo, hi = output_range

    @torch.no_grad()
    def sample(n: int, seed: int, ctx: SampleContext):
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn(n, latent_dim, generator=gen)
        labels = torch.randint(num_classes, (n,), generator=gen) if num_classes else None
        was_training = module.training
        module.eval()
        device = next(module.parameters()).device
        try:
            parts = [module(z[i : i + batch_size].to(device), *([labels[i : i + batch_size].to(device)]
                                                                if labels is not None else [])).float().cpu()
                     for i in range(0, n, batch_size)]
        finally:
            module.train(was_training)
        images = ((torch.cat(parts) - lo) / (hi - lo)).clamp_(0, 1)
        return images if labels is None else (images, labels)

    return sample


def score(sample: SampleFunction | None = None, suite: str = "fashion-mnist", *, name: str = "in-memory",
          protocol: str | None = None, seeds: list[int] | None = None, count: int | None = None,
          device: str | None = None, metrics: bool = True, preview: bool = False,
          generator: dict | None = None, suite_record: Suite | None = None,
          options: RunOptions | None = None, samples=None, labels=None) -> CsRecord:
    """The record `csbench evaluate` would write (not written: save it if you want it), for a sampling function
    `sample(n, seed, ctx)` or for `samples` already drawn (an array or tensor in a samples file's layouts, with
    optional `labels`; seed s takes slice s mod K of their K disjoint slices of the protocol's count).

    `count`: samples per seed instead of the protocol's (changes the protocol). `preview`: `preview_protocol`'s
    cheaper setting. `options`: the teacher, data and Inception settings (`device` overrides its device; default
    a GPU where there is one; `unverified_data=True` runs on a copy of the data that fails the release's
    checksums, named so in the record); `suite_record` a Suite not in the registry (tests, suites in
    development)."""
    if (sample is None) == (samples is None):
        raise TypeError("score takes a sampling function or samples, one of the two")
    chosen = suite_record or get_suite(suite)
    proto = chosen.protocol(protocol)
    if count is not None:
        proto = dataclasses.replace(proto, samples=count)
    if preview:
        proto = preview_protocol(proto)
    if samples is not None:
        source = Samples(name, array_samples(samples, labels, chosen.image_shape, chosen.num_classes))
        source.slices(proto.samples)  # too few samples: refused before any work
    else:
        source = InMemory(sample, generator or {"name": name, "file": None, "sha256": None})
    options = options or RunOptions(device=default_device())
    if device is not None:
        options = dataclasses.replace(options, device=device)
    units = [Unit(source, chosen, proto, seed, metrics=metrics and i == 0, options=options)
             for i, seed in enumerate(seeds if seeds is not None else proto.seeds)]
    return merge_seed_records(evaluate_units(units))
