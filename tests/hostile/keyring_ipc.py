"""Hostile (hole 5): reads the harness's session keyring and a System V shared-memory segment by its key.

Sample i's first pixel is 1 where attempt i succeeded; the segment's key comes in through its own folder.
"""

import ctypes
import json
from pathlib import Path

import torch

import csbench

KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING = 0, -3
SYSCALLS = {"keyctl": {"x86_64": 250, "aarch64": 219}, "shmget": {"x86_64": 29, "aarch64": 194}}


def call(name, *args) -> int:
    import platform

    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(SYSCALLS[name][platform.machine()], *args)


@csbench.generator("keyring_ipc", suites=["*"])
def sample(n, seed, ctx):
    key = json.loads((Path(ctx.directory) / "targets.json").read_text())["shm_key"]
    images = torch.zeros((n, *ctx.shape))
    images[0].view(-1)[0] = float(call("keyctl", KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0) > 0)
    images[1].view(-1)[0] = float(call("shmget", ctypes.c_int(key), 0, 0) >= 0)
    return images
