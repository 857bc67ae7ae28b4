"""Hostile (hole 6): touches shared memory, which the data limit does not count, 64 MiB at a time up to 2 GiB."""

import mmap
import time

import csbench


@csbench.generator("shared_memory", suites=["*"])
def sample(n, seed, ctx):
    blocks = []
    for _ in range(32):
        block = mmap.mmap(-1, 64 << 20, flags=mmap.MAP_SHARED)
        for offset in range(0, 64 << 20, mmap.PAGESIZE):  # touched page by page: no private copy
            block[offset] = 1
        blocks.append(block)
        time.sleep(0.1)
    raise RuntimeError("the sandbox let 2 GiB of shared memory through")
