"""Hostile (issue 28): returns the test split, shipped beside it as test_images.npy (tests/test_evaluate.py puts it
there). No sandbox can stop a file from carrying data; the test-split copy test flags its samples."""

from pathlib import Path

import numpy as np

import csbench


@csbench.generator("ships_test_split", suites=["*"])
def sample(n, seed, ctx):
    images = np.load(Path(ctx.directory) / "test_images.npy")
    return images[np.arange(n) % len(images)]
