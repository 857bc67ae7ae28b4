"""Hostile (hole 2): plants links and FIFOs wherever it can write, under the names the harness once read back
(log.txt to a secret, result.json and samples.npy as FIFOs or links to /dev/zero), then exits without reporting."""

import json
import os
from pathlib import Path

import csbench


def plant(folder: str, secret: str) -> None:
    for name, target in (("log.txt", secret), ("samples.npy", "/dev/zero"), ("out/samples.npy", secret)):
        try:
            os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
            os.symlink(target, os.path.join(folder, name))
        except OSError:
            pass
    for name in ("result.json", "out/result.json", "request.json"):
        try:
            os.mkfifo(os.path.join(folder, name))
        except OSError:
            pass


@csbench.generator("plants_files", suites=["*"])
def sample(n, seed, ctx):
    secret = json.loads((Path(ctx.directory) / "targets.json").read_text())["secret"]
    for folder in {os.getcwd(), os.environ.get("HOME", "."), os.environ.get("TMPDIR", "."), "/tmp", "/dev/shm"}:
        plant(folder, secret)
    print(f"see {secret}", flush=True)
    os._exit(0)
