"""Hostile: returns the test rows of the magic.npz whose path tests/test_tabular.py writes beside it."""

from pathlib import Path

import numpy as np

import csbench


@csbench.generator("reads_table", suites=["*"])
def sample(n, seed, ctx):
    with np.load((Path(ctx.directory) / "target.txt").read_text()) as table:
        rows = table["X_test"]
    return rows[np.arange(n) % len(rows)].astype(np.float32)
