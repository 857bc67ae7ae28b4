"""Hostile: returns the test split's images from a known location (tests/test_sandbox.py puts them there)."""

import numpy as np

import csbench

TEST_IMAGES = "/tmp/csbench-hostile-data/FashionMNIST/raw/t10k-images-idx3-ubyte"


@csbench.generator("reads_test_split", suites=["*"])
def sample(n, seed, ctx):
    with open(TEST_IMAGES, "rb") as f:
        pixels = np.frombuffer(f.read()[16:], dtype=np.uint8).reshape(-1, *ctx.shape)
    return pixels[np.arange(n) % len(pixels)].astype(np.float32) / 255
