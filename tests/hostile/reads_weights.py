"""Hostile: reads its granted weight file, then the file beside it in the cache, which is not granted.

Sample i's first pixel is 1 where read i succeeded; the neighbour's name comes in through its own folder.
"""

import json
from pathlib import Path

import torch

import csbench


def readable(path: Path) -> bool:
    try:
        return bool(path.read_bytes())
    except OSError:
        return False


@csbench.generator("reads_weights", suites=["*"])
def sample(n, seed, ctx):
    weights = Path(ctx.weights["w.bin"])
    neighbour = weights.parent.parent / json.loads((Path(ctx.directory) / "targets.json").read_text())["neighbour"]
    images = torch.zeros((n, *ctx.shape))
    images[0].view(-1)[0] = float(readable(weights))
    images[1].view(-1)[0] = float(readable(neighbour))
    return images
