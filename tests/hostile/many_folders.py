"""Hostile (issue 28): kernel memory in inodes. Writes a file of `ballast_mib` to its scratch folder (to come
near the memory limit quickly), then makes empty folders there until the kernel refuses one (or as many as
targets.json allows), and raises with the count."""

import json
import os
from pathlib import Path

import csbench


@csbench.generator("many_folders", suites=["*"])
def sample(n, seed, ctx):
    targets = json.loads((Path(ctx.directory) / "targets.json").read_text())
    scratch = os.environ["TMPDIR"]
    with open(os.path.join(scratch, "ballast"), "wb") as f:
        for _ in range(targets["ballast_mib"]):
            f.write(b"x" * (1 << 20))
    made = 0
    try:
        while made < targets["folders"]:
            os.mkdir(os.path.join(scratch, str(made)))
            made += 1
    except OSError as exc:
        raise RuntimeError(f"made {made} folders, then {exc.strerror}") from None
    raise RuntimeError(f"the sandbox let {made} folders through")
