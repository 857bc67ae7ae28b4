"""Hostile (hole 1): connects to a pathname Unix socket outside the sandbox (a Docker or D-Bus socket, say).

Sample 0's first pixel is 1 where the connection succeeded; the socket's path comes in through its own folder.
"""

import json
import socket
from pathlib import Path

import torch

import csbench


@csbench.generator("unix_socket", suites=["*"])
def sample(n, seed, ctx):
    path = json.loads((Path(ctx.directory) / "targets.json").read_text())["socket"]
    images = torch.zeros((n, *ctx.shape))
    try:
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(2)
            client.connect(path)
            client.sendall(b"hello from the sandbox")
            images[0].view(-1)[0] = 1.0
    except OSError:
        pass
    return images
