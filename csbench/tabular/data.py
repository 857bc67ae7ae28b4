"""Tables as `csbench.data.Split`s of numpy arrays: rows float32 (N, F), standardised with the training split's
statistics; labels int64 in 0..C-1.

Each loader returns (train, test). MAGIC reads the seed authors' split from a local `magic.npz` or,
online, fetches MagicTelescope from OpenML; scikit-learn's bundled sets need no network; the large
classic sets come only from OpenML and fail with one line offline.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.model_selection import train_test_split

from ..cache import data_root, home
from ..data import Split
from ..errors import DatasetMissing
from ..registry import Registry

SPLIT_SEED = 0
TEST_FRACTION = 0.3
OPENML_MAX_ROWS = 50_000
MAGIC_FILE = "magic.npz"
MAGIC_TEST_ROWS = 5707  # the seed authors' split: 13,312 train / 5,707 test
MAGIC_KEYS = ("X_train", "y_train", "X_test", "y_test")


TABLES: Registry[Callable[[Path], tuple[Split, Split]]] = Registry("table")
table = TABLES.register  # a loader `root -> (train, test)`


def load_table(name: str, root: Path | str | None = None) -> tuple[Split, Split]:
    return TABLES.get_or_fail(name)(Path(root) if root is not None else data_root())


def standardise(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero mean, unit variance per column with the training split's statistics (constant columns kept at 0)."""
    mean = x_train.mean(0)
    std = x_train.std(0)
    std[std == 0] = 1.0
    return ((x_train - mean) / std).astype(np.float32), ((x_test - mean) / std).astype(np.float32)


def split_and_standardise(x: np.ndarray, y: np.ndarray, test_size: float | int = TEST_FRACTION) -> tuple[Split, Split]:
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_size, stratify=y, random_state=SPLIT_SEED)
    x_tr, x_te = standardise(np.asarray(x_tr, float), np.asarray(x_te, float))
    return Split(x_tr, np.asarray(y_tr, np.int64)), Split(x_te, np.asarray(y_te, np.int64))


def read_magic_npz(path: Path) -> tuple[Split, Split]:
    """The authors' split as stored: already standardised, labels 0/1 (1 = gamma)."""
    with np.load(path) as f:
        missing = [k for k in MAGIC_KEYS if k not in f]
        if missing:
            raise DatasetMissing(f"{path} lacks array(s) {', '.join(missing)}; it needs {', '.join(MAGIC_KEYS)}")
        arrays = {k: f[k] for k in MAGIC_KEYS}
    for part in ("train", "test"):
        x, y = arrays[f"X_{part}"], arrays[f"y_{part}"]
        if x.ndim != 2 or y.shape != (len(x),):
            raise DatasetMissing(f"{path}: X_{part} {x.shape} and y_{part} {y.shape} do not match (rows, features)")
        if not np.isin(y, (0, 1)).all():
            raise DatasetMissing(f"{path}: y_{part} must hold 0/1 labels")
    if arrays["X_train"].shape[1] != arrays["X_test"].shape[1]:
        raise DatasetMissing(f"{path}: X_train and X_test have different widths")
    return tuple(Split(arrays[f"X_{p}"].astype(np.float32), arrays[f"y_{p}"].astype(np.int64))
                 for p in ("train", "test"))


def fetch_openml_frame(data_id: int):
    """OpenML data set `data_id` as a frame, cached under the csbench home; sklearn's retry warnings are
    silenced because a failure becomes one error line."""
    from sklearn.datasets import fetch_openml

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fetch_openml(data_id=data_id, as_frame=True, data_home=str(home() / "openml"))


@table("magic")
def load_magic(root: Path) -> tuple[Split, Split]:
    path = root / MAGIC_FILE
    if path.is_file():
        return read_magic_npz(path)
    try:
        bunch = fetch_openml_frame(1120)  # MagicTelescope
    except Exception as exc:  # URLError, OSError, ... when offline
        raise DatasetMissing(
            f"MAGIC is not at {path} and OpenML (MagicTelescope, data id 1120) could not be reached "
            f"({type(exc).__name__}): put magic.npz with {', '.join(MAGIC_KEYS)} into --data-dir or "
            "$CSBENCH_DATA, or run once online") from None
    x = bunch.data.to_numpy(float)
    y = (bunch.target.astype(str).to_numpy() == "g").astype(np.int64)
    return split_and_standardise(x, y, test_size=MAGIC_TEST_ROWS)


def _sklearn_table(name: str, load: Callable) -> None:
    @table(name)
    def loader(root: Path) -> tuple[Split, Split]:
        x, y = load(return_X_y=True)
        return split_and_standardise(x, y)


for _name, _load in (("breast-cancer", load_breast_cancer), ("digits", load_digits), ("wine", load_wine)):
    _sklearn_table(_name, _load)


def openml_matrix(frame, target) -> tuple[np.ndarray, np.ndarray]:
    """One-hot categorical columns, median-impute numeric ones, encode the target as 0..C-1 (sorted)."""
    import pandas as pd

    frame = pd.get_dummies(frame, dummy_na=False, dtype=float)
    frame = frame.fillna(frame.median(numeric_only=True)).fillna(0.0)
    _, y = np.unique(target.astype(str).to_numpy(), return_inverse=True)
    return frame.to_numpy(float), y.astype(np.int64)


def _openml_table(name: str, data_id: int) -> None:
    @table(name)
    def loader(root: Path) -> tuple[Split, Split]:
        try:
            bunch = fetch_openml_frame(data_id)
        except Exception as exc:
            raise DatasetMissing(f"{name} comes only from OpenML (data id {data_id}), which could not be reached "
                                 f"({type(exc).__name__}); the suite is skipped offline") from None
        x, y = openml_matrix(bunch.data, bunch.target)
        if len(y) > OPENML_MAX_ROWS:
            x, _, y, _ = train_test_split(x, y, train_size=OPENML_MAX_ROWS, stratify=y, random_state=SPLIT_SEED)
        return split_and_standardise(x, y)


for _name, _id in (("covertype", 1596), ("adult", 1590), ("higgs", 23512)):
    _openml_table(_name, _id)
