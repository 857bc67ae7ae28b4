"""Reading pickled NumPy files without running their code.

A pickle can call any importable function while it loads (`__reduce__`), so `np.load(allow_pickle=True)`
is code execution. Published weights in the authors' format (`np.save` of a dict of arrays) need only NumPy's
array and dtype reconstruction and the containers pickle builds from its own opcodes; everything else is refused.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from .errors import CsbenchError

_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(0))[0]  # numpy.core (NumPy 1) or numpy._core (NumPy 2) _reconstruct

ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals in ALLOWED: arrays, dtypes, and dicts, lists, tuples, strings and numbers."""

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"it references {module}.{name}, and only NumPy arrays and plain "
                                         "containers are allowed")
        return ALLOWED[(module, name)]


def load_restricted_pickle(path: Path | str, what: str):
    """The object a pickle file holds, read by `RestrictedUnpickler` (Python 2 strings as latin-1)."""
    try:
        with open(path, "rb") as f:
            return RestrictedUnpickler(f, encoding="latin1").load()
    except Exception as exc:  # a truncated stream, a refused global, an unknown opcode
        raise CsbenchError(f"{what} cannot be read as a pickle of arrays: {' '.join(str(exc).split())}") from None


def load_pickled_npy(path: Path | str, what: str):
    """The object an `np.save(path, obj)` stored, as `np.load(path, allow_pickle=True).item()` returns it.

    Python 2 pickles (as older published files are) are read with latin-1 strings, as NumPy advises."""
    try:
        with open(path, "rb") as f:
            version = npy_format.read_magic(f)
            read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
            shape, _, dtype = read_header(f)
            if not dtype.hasobject or shape != ():
                raise CsbenchError(f"{what} holds a {dtype} array of shape {shape}, not a pickled dict of arrays")
            array = RestrictedUnpickler(f, encoding="latin1").load()
    except CsbenchError:
        raise
    except Exception as exc:  # a broken header, a truncated stream or a refused global
        raise CsbenchError(f"{what} cannot be read as a NumPy file of arrays: {' '.join(str(exc).split())}") from None
    if not isinstance(array, np.ndarray) or array.shape != ():
        raise CsbenchError(f"{what} does not hold a single pickled object")
    return array.item()
