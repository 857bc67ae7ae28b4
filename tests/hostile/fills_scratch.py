"""Hostile (hole 6): writes three files of 24 MiB each, each under the file-size limit, to its temporary folder."""

import os

import csbench


@csbench.generator("fills_scratch", suites=["*"])
def sample(n, seed, ctx):
    for i in range(3):
        with open(os.path.join(os.environ["TMPDIR"], f"fill{i}"), "wb") as f:
            f.write(b"x" * (24 << 20))
    raise RuntimeError("the sandbox let 72 MiB through")
