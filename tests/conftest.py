"""Shared fixtures: a tiny Fashion-MNIST in the exact IDX on-disk format, and a tiny teacher."""

from __future__ import annotations

import dataclasses
import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from csbench.suites import Protocol, TeacherRecipe, get_suite

ROOT = Path(__file__).resolve().parents[1]
GENERATORS = ROOT / "generators"


def write_idx_images(path: Path, images: np.ndarray) -> None:
    n, rows, cols = images.shape
    path.write_bytes(struct.pack(">IIII", 2051, n, rows, cols) + images.astype(np.uint8).tobytes())


def write_idx_labels(path: Path, labels: np.ndarray) -> None:
    path.write_bytes(struct.pack(">II", 2049, len(labels)) + labels.astype(np.uint8).tobytes())


def class_structured_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ten classes, each a fixed blocky prototype plus pixel noise: learnable in a few steps."""
    rng = np.random.default_rng(1234)
    prototypes = np.kron(rng.random((10, 7, 7)), np.ones((4, 4))) * 255
    noise = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = prototypes[labels] * 0.7 + noise.random((n, 28, 28)) * 255 * 0.3
    return images.clip(0, 255).astype(np.uint8), labels.astype(np.uint8)


def write_fashion_mnist(folder: Path, n_train: int = 1200, n_test: int = 300, gz: bool = False) -> Path:
    """Write the four IDX files as torchvision (raw/) or the Debian package (.gz) stores them."""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        images, labels = class_structured_images(n, seed)
        write_idx_images(folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx_labels(folder / f"{prefix}-labels-idx1-ubyte", labels)
    if gz:
        for f in list(folder.iterdir()):
            (folder / f"{f.name}.gz").write_bytes(gzip.compress(f.read_bytes()))
            f.unlink()
    return folder


TINY_PROTOCOL = Protocol(name="tiny", samples=600, optimizer="adam", lr=1e-4, batch_size=64, epochs=1,
                         loss="l2-logits", seeds=(0, 1))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CSBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CSBENCH_QUIET", "1")


@pytest.fixture(autouse=True)
def offline_inception(tmp_path, monkeypatch):
    """An empty torch hub cache and a download that is refused at once: no test fetches or runs real Inception."""
    import csbench.features

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(csbench.features, "INCEPTION_URL", "http://127.0.0.1:9/" + csbench.features.INCEPTION_FILE)


@pytest.fixture(autouse=True)
def fresh_registry():
    """Each test registers generators into an empty registry, as a fresh process would."""
    from csbench.generators import GENERATORS

    saved = dict(GENERATORS)
    GENERATORS.clear()
    yield
    GENERATORS.clear()
    GENERATORS.update(saved)


def tiny_fashion_mnist_digests() -> dict[str, str]:
    """The `DataIdentity.digest` of each split `write_fashion_mnist` writes with its default sizes."""
    from csbench.data import array_digest

    return {split: array_digest(images[:, None], labels) for split, (images, labels)
            in (("train", class_structured_images(1200, 0)), ("test", class_structured_images(300, 1)))}


@pytest.fixture(autouse=True, scope="session")
def tiny_fashion_mnist_is_official():
    """The tiny Fashion-MNIST passes the loader's check of the official digests, as the real one does; the check
    itself is unchanged, so a copy that differs from the tiny one still fails it."""
    import csbench.data

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(csbench.data, "FASHION_MNIST_DIGESTS", tiny_fashion_mnist_digests())
        yield


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_fashion_mnist(root / "FashionMNIST" / "raw")
    return root


@pytest.fixture(scope="session")
def tiny_suite(tmp_path_factory, tiny_data):
    """fashion-mnist's real records with a teacher trained for one epoch on the tiny data."""
    from csbench.teacher import train_teacher

    base = get_suite("fashion-mnist")
    recipe = TeacherRecipe(epochs=2, batch_size=32, max_lr=3e-3, weight_decay=5e-4, augmentation="none")
    checkpoint = tmp_path_factory.mktemp("teacher") / "teacher.pt"
    unpinned = dataclasses.replace(base, teacher=dataclasses.replace(base.teacher, checkpoint=str(checkpoint),
                                                                     recipe=recipe))
    digest, acc = train_teacher(unpinned, checkpoint, data_root=tiny_data)
    teacher = dataclasses.replace(unpinned.teacher, sha256=digest, test_accuracy=acc)
    return dataclasses.replace(unpinned, name="tiny-fashion-mnist", teacher=teacher,
                               protocols={"tiny": TINY_PROTOCOL}, default_protocol="tiny")


@pytest.fixture(autouse=True)
def restore_torch_threads():
    """A test that changes torch's thread count (as the backends' workers do) leaves it as it found it: the count
    changes the order of float sums, so the tests after it would otherwise score differently."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


TRUST_TINY_DATA = """\
import importlib.abc, importlib.util, sys


class TinyDigests(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "csbench.data":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            module.FASHION_MNIST_DIGESTS = DIGESTS

        spec.loader.exec_module = exec_module
        return spec


DIGESTS = %r
sys.meta_path.insert(0, TinyDigests())
"""


@pytest.fixture(scope="module")
def workers_trust_tiny_data(tmp_path_factory):
    """Worker processes take the tiny Fashion-MNIST for the official one, as conftest makes this process do: a
    `sitecustomize` on their PYTHONPATH sets the same digests when they import csbench.data."""
    folder = tmp_path_factory.mktemp("worker-site")
    (folder / "sitecustomize.py").write_text(TRUST_TINY_DATA % tiny_fashion_mnist_digests())
    path = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", path)
        yield path
