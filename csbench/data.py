"""Real datasets as in-memory tensors: images float32 in [0, 1], shape (N, C, H, W); labels int64.

Loading goes through torchvision's dataset classes so that the files on disk are exactly the ones
torchvision downloads; offline copies (a Debian package, an existing folder) are placed where
torchvision looks for them.
"""

from __future__ import annotations

import gzip
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from .cache import atomic_path, data_root
from .errors import DatasetMissing
from .registry import Registry

FASHION_MNIST_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclass(frozen=True)
class Split:
    """A split's examples and labels, of any suite: images (N, C, H, W) float32 tensors in [0, 1], or a table's
    standardised rows (N, F) float32 arrays; labels class indices. `images` and `rows` name `data` for the
    code of each kind, so that the sandbox and the generator context carry either without asking which."""

    data: Any
    labels: Any

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def images(self):
        return self.data

    @property
    def rows(self):
        return self.data


DATASETS: Registry[Callable[[str, Path], Split]] = Registry("dataset")
dataset = DATASETS.register  # a loader `(split, root) -> Split`


def load_split(name: str, split: str, root: Path | str | None = None) -> Split:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    return DATASETS.get_or_fail(name)(split, Path(root) if root is not None else data_root())


def _install_debian_fashion_mnist(raw: Path, debian_dir: Path) -> bool:
    """Uncompress the Debian package's IDX files into torchvision's raw folder (never in place)."""
    sources = [debian_dir / f"{name}.gz" for name in FASHION_MNIST_FILES]
    if not all(s.is_file() for s in sources):
        return False
    for source, name in zip(sources, FASHION_MNIST_FILES):
        target = raw / name
        if target.is_file():
            continue
        with gzip.open(source, "rb") as src, atomic_path(target) as tmp, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return True


@dataset("fashion-mnist")
def load_fashion_mnist(split: str, root: Path, debian_dir: Path | None = None) -> Split:
    from torchvision.datasets import FashionMNIST

    raw = root / "FashionMNIST" / "raw"
    have_files = all((raw / name).is_file() for name in FASHION_MNIST_FILES)
    if not have_files:
        have_files = _install_debian_fashion_mnist(raw, debian_dir or FASHION_MNIST_DEBIAN_DIR)
    try:
        ds = FashionMNIST(str(root), train=split == "train", download=not have_files)
    except Exception as exc:  # torchvision raises URLError, RuntimeError, ... when offline
        raise DatasetMissing(
            f"Fashion-MNIST is not in {raw} and could not be downloaded ({type(exc).__name__}). "
            "Get it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or run once with "
            "internet access so torchvision downloads it, or point CSBENCH_DATA at a folder "
            "holding FashionMNIST/raw/."
        ) from None
    images = ds.data.unsqueeze(1).float().div_(255.0)
    return Split(images, ds.targets.long())



@dataset("cifar10")
def load_cifar10(split: str, root: Path) -> Split:
    """CIFAR-10 from `<root>/cifar-10-batches-py`, read and md5-checked by torchvision's `CIFAR10`."""
    from torchvision.datasets import CIFAR10

    folder = root / CIFAR10.base_folder
    files = [name for name, _ in CIFAR10.train_list + CIFAR10.test_list] + [CIFAR10.meta["filename"]]
    have_files = all((folder / name).is_file() for name in files)
    try:
        ds = CIFAR10(str(root), train=split == "train", download=not have_files)
    except Exception as exc:  # torchvision raises URLError, RuntimeError, ... when offline or on an md5 mismatch
        if have_files:
            raise DatasetMissing(
                f"the CIFAR-10 files in {folder} do not match torchvision's md5 checksums (an incomplete or "
                "altered copy); delete the folder and download or extract it again."
            ) from None
        raise DatasetMissing(
            f"CIFAR-10 is not in {folder} and could not be downloaded ({type(exc).__name__}). Run once with "
            "internet access so torchvision downloads it there, or pass --data-dir (or set CSBENCH_DATA) to a "
            "folder holding cifar-10-batches-py/ as extracted from cifar-10-python.tar.gz "
            "(https://www.cs.toronto.edu/~kriz/cifar.html)."
        ) from None
    images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous().float().div_(255.0)
    return Split(images, torch.tensor(ds.targets, dtype=torch.long))
