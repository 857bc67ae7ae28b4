"""Hostile (hole 8): replaces numpy.save so that its samples file is an .npz, float128 or has a 1 MiB header,
as its folder's targets.json says."""

import io
import json
from pathlib import Path

import numpy as np
import torch

import csbench

MODE = json.loads((Path(__file__).parent / "targets.json").read_text())["mode"]


def bad_save(file, array, allow_pickle=False):
    if MODE == "npz":
        buffer = io.BytesIO()
        np.savez(buffer, samples=array)
        file.write(buffer.getvalue())
    elif MODE == "float128":
        np.lib.format.write_array(file, array.astype(np.longdouble))
    else:
        header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d, %d), }" % array.shape
        file.write(b"\x93NUMPY\x02\x00" + (1 << 20).to_bytes(4, "little") + header.ljust((1 << 20) - 1) + b"\n")
        file.write(array.tobytes())


@csbench.generator("bad_npy", suites=["*"])
def sample(n, seed, ctx):
    np.save = bad_save
    return torch.zeros((n, *ctx.shape))
