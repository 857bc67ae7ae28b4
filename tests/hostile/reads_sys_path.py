"""Hostile (hole 3): reads a private file through a folder on the harness's sys.path ($HOME, PYTHONPATH).

Sample 0's first pixel is 1 where the read succeeded; the path comes in through its own folder.
"""

import json
from pathlib import Path

import torch

import csbench


@csbench.generator("reads_sys_path", suites=["*"])
def sample(n, seed, ctx):
    path = json.loads((Path(ctx.directory) / "targets.json").read_text())["secret"]
    images = torch.zeros((n, *ctx.shape))
    try:
        images[0].view(-1)[0] = float(bool(Path(path).read_bytes()))
    except OSError:
        pass
    return images
