"""Hostile: looks for a secret in its environment, the network and the results folder.

Sample i's first pixel is 1 where attempt i succeeded; the paths and port come in through its own folder.
"""

import json
import os
import socket
from pathlib import Path

import torch

import csbench


def succeeded(attempt) -> bool:
    try:
        return bool(attempt())
    except OSError:
        return False


@csbench.generator("snoops", suites=["*"])
def sample(n, seed, ctx):
    targets = json.loads((Path(ctx.directory) / "targets.json").read_text())
    attempts = [
        lambda: os.environ.get("CSBENCH_TEST_SECRET"),
        lambda: socket.create_connection(("127.0.0.1", targets["port"]), timeout=2),
        lambda: open(targets["record"]).read(),
        lambda: open(f"/proc/{os.getppid()}/environ").read(),
    ]
    images = torch.zeros((n, *ctx.shape))
    for i, attempt in enumerate(attempts):
        images[i].view(-1)[0] = float(succeeded(attempt))
    return images
