"""The published CIFAR-10 teachers' file formats, converted to plain PyTorch state dicts.

Each converter reads a file whose pin was already checked and returns the state dict of the matching
csbench.models network; `build` makes that network from such a state dict. Converting once, then loading the
state dict with `torch.load(weights_only=True)`, keeps every later load free of the original format's parser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from .errors import CsbenchError
from .models import NIN_CONVS, AuthorsNIN, build_model
from .pickles import load_pickled_npy

NIN_LAYERS = (*NIN_CONVS, "ip1", "ip2")


def _array(layers: dict, layer: str, key: str, ndim: int, what: str) -> torch.Tensor:
    value = layers[layer].get(key) if isinstance(layers[layer], dict) else None
    if not isinstance(value, np.ndarray) or value.dtype.kind != "f" or value.ndim != ndim:
        raise CsbenchError(f"{what}: {layer}[{key!r}] is not a {ndim}-d float array")
    return torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))


def authors_nin_state(path: Path, what: str) -> dict[str, torch.Tensor]:
    """The authors' `teacher.npy` (`{layer: {"weights", "biases"}}`, TF layout: HWIO convolutions, (in, out)
    dense layers) as AuthorsNIN's state dict: convolutions to OIHW, dense layers transposed, nothing else."""
    layers = load_pickled_npy(path, what)
    if not isinstance(layers, dict) or set(layers) != set(NIN_LAYERS):
        found = sorted(map(str, layers)) if isinstance(layers, dict) else type(layers).__name__
        raise CsbenchError(f"{what} holds {found}, expected the layers {', '.join(NIN_LAYERS)}")
    state = {}
    for layer in NIN_LAYERS:
        conv = layer in NIN_CONVS
        weights = _array(layers, layer, "weights", 4 if conv else 2, what)
        if conv and not (weights.shape[0] == weights.shape[1] and weights.shape[0] % 2):
            raise CsbenchError(f"{what}: {layer} has a {weights.shape[0]}x{weights.shape[1]} kernel; the network "
                               "has square odd ones, which TF's SAME pads equally on each side")
        name = f"features.{layer}" if layer != "ip2" else "classifier"
        state[f"{name}.weight"] = weights.permute(3, 2, 0, 1) if conv else weights.T
        state[f"{name}.bias"] = _array(layers, layer, "biases", 1, what)
    state = {k: v.contiguous() for k, v in state.items()}
    flat, channels = state["features.ip1.weight"].shape[1], state["features.cccp5.weight"].shape[0]
    if flat != 8 * 8 * channels:
        raise CsbenchError(f"{what}: ip1 takes {flat} inputs, but a 32x32 image reaches it as 8x8x{channels}")
    _check_loads(AuthorsNIN.from_state_dict, state, what)
    return state


def idelbayev_resnet_state(path: Path, what: str) -> dict[str, torch.Tensor]:
    """Idelbayev's checkpoint (`{"best_prec1", "state_dict"}`, DataParallel `module.` keys, no
    `num_batches_tracked`) as resnet56's state dict: stem and stages under `features.`, `linear` as `classifier`."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        source = checkpoint["state_dict"]
    except Exception as exc:
        raise CsbenchError(f"{what} cannot be loaded as a checkpoint: {' '.join(str(exc).split())}") from None
    state = {}
    for key, value in source.items():
        key = key.removeprefix("module.")
        state[key.replace("linear.", "classifier.", 1) if key.startswith("linear.") else f"features.{key}"] = value
        if key.endswith(".running_var"):
            state[f"features.{key.removesuffix('running_var')}num_batches_tracked"] = torch.tensor(0)
    _check_loads(lambda _: build_model("resnet56", 3, 32, 10), state, what)
    return state


def _check_loads(build: Callable[[dict], nn.Module], state: dict[str, torch.Tensor], what: str) -> None:
    """Refuse, in one line, a file whose layers do not fit together as the network."""
    try:
        build(state).load_state_dict(state)
    except Exception as exc:
        raise CsbenchError(f"{what} does not fit the network: {' '.join(str(exc).split())[:300]}") from None


CONVERTERS: dict[str, Callable[[Path, str], dict[str, torch.Tensor]]] = {
    "authors-nin-npy": authors_nin_state,
    "idelbayev-resnet": idelbayev_resnet_state,
}


def build(architecture: str, state: dict[str, torch.Tensor], num_classes: int) -> nn.Module:
    """The network for a converted state dict: the NIN's layer sizes are read from it."""
    if architecture == "nin":
        return AuthorsNIN.from_state_dict(state)
    return build_model(architecture, 3, 32, num_classes)
