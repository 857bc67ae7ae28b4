"""Real datasets as in-memory tensors: images float32 in [0, 1], shape (N, C, H, W); labels int64.

Files are the ones torchvision downloads, in the folders where it looks for them; offline copies (a Debian
package, an existing folder) are placed there. Every split carries its `DataIdentity`: a digest of the arrays
as loaded and whether they are the official release, so that a record names the data it was measured on.
A copy that fails the release's checksums is refused unless the caller passes `unverified=True`.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .cache import atomic_path, data_root
from .errors import ChecksumMismatch, CsbenchError, DatasetMissing
from .pickles import load_restricted_pickle
from .registry import Registry

DEBIAN_DATASETS = Path("/usr/share/datasets")  # where Debian's dataset-* packages install their files
FASHION_MNIST_DEBIAN_DIR = DEBIAN_DATASETS / "fashion-mnist"
FASHION_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclass(frozen=True)
class DataIdentity:
    """Which data a split holds. `digest` is the sha256 of its uint8 pixels in (N, C, H, W) order followed by its
    labels as little-endian int64, so it changes with any pixel, label or order; `verified` says whether the
    files passed the official release's checksums (see each loader)."""

    digest: str
    verified: bool


def array_digest(pixels: np.ndarray, labels: np.ndarray) -> str:
    """`DataIdentity.digest` of uint8 pixels (N, C, H, W) and their labels."""
    digest = hashlib.sha256(np.ascontiguousarray(pixels, dtype=np.uint8).data)
    digest.update(np.ascontiguousarray(labels, dtype="<i8").data)
    return digest.hexdigest()


def image_split(pixels: np.ndarray, labels: np.ndarray, identity: DataIdentity) -> "Split":
    """A split of uint8 pixels (N, C, H, W) as float32 in [0, 1]."""
    images = torch.from_numpy(np.ascontiguousarray(pixels)).float().div_(255.0)
    return Split(images, torch.from_numpy(np.asarray(labels, dtype=np.int64)), identity)


def cache_tag(*splits: "Split") -> str:
    """What a cached value computed from `splits` adds to its file name: nothing for the official release (one
    set of arrays, so the suite's name already names it), else a digest of the splits' digests, so that a value
    computed on one copy is never read for another. Splits built in memory (no identity) count as official."""
    return identity_tag(*(s.identity for s in splits))


def identity_tag(*identities: DataIdentity | None) -> str:
    """`cache_tag` of splits with these identities."""
    if all(i is None or i.verified for i in identities):
        return ""
    return "-data" + hashlib.sha256("".join(i.digest if i else "" for i in identities).encode()).hexdigest()[:16]


def measured_on(train: "Split", test: "Split", teacher_accuracy: float) -> dict:
    """A record's `data`: the digests of the splits it was measured on, whether both are the official release,
    and the teacher's accuracy on this test split (on a copy that is not the release, it says how far the copy
    is from the data the teacher's published accuracy was measured on)."""
    return {"train": train.identity.digest, "test": test.identity.digest,
            "verified": train.identity.verified and test.identity.verified, "teacher_accuracy": teacher_accuracy}


@dataclass(frozen=True)
class Split:
    """A split's examples and labels, of any suite: images (N, C, H, W) float32 tensors in [0, 1], or a table's
    standardised rows (N, F) float32 arrays; labels class indices. `images` and `rows` name `data` for the
    code of each kind, so that the sandbox and the generator context carry either without asking which."""

    data: Any
    labels: Any
    identity: DataIdentity | None = None  # None for data that no file on disk names (tables, a generator's)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def images(self):
        return self.data

    @property
    def rows(self):
        return self.data


DATASETS: Registry[Callable[[str, Path, bool], Split]] = Registry("dataset")
dataset = DATASETS.register  # a loader `(split, root, unverified) -> Split`

UNVERIFIED_HINT = "pass --unverified-data (unverified=True) to measure on this copy anyway, labelled as unverified"


def dataset_folders() -> list[Path]:
    """Every folder known to hold a suite's data files, which the sandbox never shows a generator: the data root,
    Debian's dataset packages and the tables scikit-learn ships inside itself (the small tabular suites' data).
    Found without importing scikit-learn."""
    folders = [data_root(), DEBIAN_DATASETS]
    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.submodule_search_locations:
        folders += [Path(p) / "datasets" / "data" for p in spec.submodule_search_locations]
    return folders


def load_split(name: str, split: str, root: Path | str | None = None, unverified: bool = False) -> Split:
    """`split` of dataset `name` with its identity. A copy that fails the release's checksums raises a one-line
    `ChecksumMismatch` unless `unverified`; then it loads with `identity.verified` False."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    return DATASETS.get_or_fail(name)(split, Path(root) if root is not None else data_root(), unverified)


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


FASHION_MNIST_DIGESTS = {
    "train": "1f243a60b4b748a44c48b9a6f6907be2a08bee3e4e226f0e86fbde8e147b745a",
    "test": "9a494dc49efeb996f4076c469b31cd058152067b1594ba6ab85dd739fce3775e",
}
"""`DataIdentity.digest` of the official Fashion-MNIST splits, pinned from the Debian package dataset-fashion-mnist
(0.0~git20200523.55506a9-1), the data of every fashion-mnist record of csbench. torchvision's md5s are those of the
release's .gz files, and the package's .gz files have other md5s, so the uncompressed arrays are pinned instead."""


@dataset("fashion-mnist")
def load_fashion_mnist(split: str, root: Path, unverified: bool = False, debian_dir: Path | None = None) -> Split:
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
    pixels, labels = ds.data.unsqueeze(1).numpy(), ds.targets.numpy()
    digest = array_digest(pixels, labels)
    if digest != FASHION_MNIST_DIGESTS[split] and not unverified:
        raise ChecksumMismatch(
            f"the Fashion-MNIST {split} split in {raw} has digest {digest[:12]}..., not the official release's "
            f"{FASHION_MNIST_DIGESTS[split][:12]}... (an altered or different copy); {UNVERIFIED_HINT}.")
    return image_split(pixels, labels, DataIdentity(digest, digest == FASHION_MNIST_DIGESTS[split]))


CIFAR10_LABELS = ("labels", "fine_labels")


def _cifar10_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A batch file's pixels (n, 3, 32, 32) uint8 and labels, read without running code from the file."""
    batch = load_restricted_pickle(path, f"CIFAR-10 file {path}")
    if isinstance(batch, dict):
        batch = {key.decode("latin1") if isinstance(key, bytes) else key: value for key, value in batch.items()}
    data = batch.get("data") if isinstance(batch, dict) else None
    labels = next((batch[key] for key in CIFAR10_LABELS if key in batch), None) if isinstance(batch, dict) else None
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072
            and isinstance(labels, (list, np.ndarray)) and len(labels) == len(data)):
        raise CsbenchError(f"CIFAR-10 file {path} is not a batch: it needs 'data' (n x 3072 uint8) and n 'labels'")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise CsbenchError(f"CIFAR-10 file {path} has labels outside 0-9")
    return data.reshape(-1, 3, 32, 32), labels


@dataset("cifar10")
def load_cifar10(split: str, root: Path, unverified: bool = False) -> Split:
    """CIFAR-10 from `<root>/cifar-10-batches-py`. The split's files are checked against torchvision's md5s of the
    release; all are read by the restricted unpickler, so even a copy that failed them runs no code it holds."""
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import check_integrity

    folder = root / CIFAR10.base_folder
    files = [name for name, _ in CIFAR10.train_list + CIFAR10.test_list] + [CIFAR10.meta["filename"]]
    if not all((folder / name).is_file() for name in files):
        try:
            CIFAR10(str(root), train=split == "train", download=True)
        except Exception as exc:  # torchvision raises URLError, RuntimeError, ... when offline
            raise DatasetMissing(
                f"CIFAR-10 is not in {folder} and could not be downloaded ({type(exc).__name__}). Run once with "
                "internet access so torchvision downloads it there, or pass --data-dir (or set CSBENCH_DATA) to a "
                "folder holding cifar-10-batches-py/ as extracted from cifar-10-python.tar.gz "
                "(https://www.cs.toronto.edu/~kriz/cifar.html)."
            ) from None
    pins = CIFAR10.train_list if split == "train" else CIFAR10.test_list
    failed = [name for name, md5 in pins if not check_integrity(str(folder / name), md5)]
    if failed and not unverified:
        raise ChecksumMismatch(
            f"the CIFAR-10 file(s) {', '.join(failed)} in {folder} do not match torchvision's md5 checksums of the "
            f"official release (an altered, incomplete or rebuilt copy); {UNVERIFIED_HINT}.")
    batches = [_cifar10_batch(folder / name) for name, _ in pins]
    pixels, labels = np.concatenate([p for p, _ in batches]), np.concatenate([lab for _, lab in batches])
    return image_split(pixels, labels, DataIdentity(array_digest(pixels, labels), verified=not failed))
