"""Weights files of the shipped generators: written with a `.sha256` beside them, read only after the pin checks;
and the resumable state of the trainings that write them.

One place for the pin check, so that every family (GANs, the VAE, the diffusion model) refuses a missing or
mispinned file with the same one-line message and loads the rest as plain tensors (weights_only); one place for
the training state, so that every family resumes the same way and refuses a state of other settings alike.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch
from torch import nn

from .cache import atomic_path, atomic_write_text, sha256_file
from .errors import CsbenchError, GeneratorError


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


def save_training_state(path: Path, config: dict, state: dict) -> None:
    """Write `state` (tensors, numbers, plain containers) with the settings that fixed the run, atomically: a crash
    leaves the previous state file whole."""
    buffer = io.BytesIO()
    torch.save({"config": config, **state}, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def load_training_state(path: Path, config: dict) -> dict | None:
    """The state saved at `path`, read as plain tensors, or None where there is none. A file that cannot be read,
    or one saved under other settings, is refused in one line rather than continued."""
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file
        raise CsbenchError(f"training state {path} cannot be read ({type(exc).__name__}); delete it to start "
                           "over") from None
    if not isinstance(saved, dict) or saved.get("config") != config:
        before = saved.get("config") if isinstance(saved, dict) and isinstance(saved.get("config"), dict) else {}
        differ = sorted(k for k in config.keys() | before.keys() if config.get(k) != before.get(k))
        raise CsbenchError(f"training state {path} was saved with other settings ({', '.join(differ)}); delete it "
                           "to start over or pass the same settings to resume")
    return saved
