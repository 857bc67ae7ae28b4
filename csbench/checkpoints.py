"""Weights files of the shipped generators: written with a `.sha256` beside them, read only after the pin checks.

One place for the pin check, so that every family (GANs, the VAE, the diffusion model) refuses a missing or
mispinned file with the same one-line message and loads the rest as plain tensors (weights_only).
"""

from __future__ import annotations

import io
from pathlib import Path

import torch
from torch import nn

from .cache import atomic_path, atomic_write_text, sha256_file
from .errors import GeneratorError


def save_checkpoint(network: nn.Module, out: Path) -> str:
    """Write the weights and `<out>.sha256` (sha256sum format) atomically; return the sha256."""
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}, buffer)
    with atomic_path(out) as tmp:
        tmp.write_bytes(buffer.getvalue())
    digest = sha256_file(out)
    atomic_write_text(out.with_name(f"{out.name}.sha256"), f"{digest}  {out.name}\n")
    return digest


def load_pinned_weights(network: nn.Module, path: Path, sha256: str | None, train_command: str,
                        what: str) -> nn.Module:
    """`network` with the weights of `path` loaded, in eval mode; `what` names them in errors ("GAN weights").

    The file must match `sha256` when it is pinned, else the `<path>.sha256` beside it where there is one;
    only then is it read, as plain tensors.
    """
    if not path.is_file():
        raise GeneratorError(f"{what} {path} not found; train them with `{train_command}`, which writes "
                             f"{path.name} and {path.name}.sha256 beside this file")
    recorded = path.with_name(f"{path.name}.sha256")
    source = "the sha256 pinned in the generator file" if sha256 else f"the sha256 in {recorded.name}"
    if sha256 is None and recorded.is_file():
        sha256 = recorded.read_text().split()[0]
    if sha256 is not None and sha256_file(path) != sha256:
        raise GeneratorError(f"{what} {path} do not match {source}: a partial copy or other weights; "
                             "copy them again or retrain")
    network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return network.eval()
