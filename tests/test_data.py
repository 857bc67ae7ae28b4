import urllib.error

import pytest
import torch
from conftest import class_structured_images, tiny_fashion_mnist_digests, write_fashion_mnist
from torchvision.datasets import FashionMNIST

from csbench.data import DataIdentity, array_digest, load_fashion_mnist, load_split
from csbench.errors import ChecksumMismatch, DatasetMissing


def test_loads_torchvision_raw_layout(tiny_data):
    train = load_split("fashion-mnist", "train", tiny_data)
    test = load_split("fashion-mnist", "test", tiny_data)
    assert train.images.shape == (1200, 1, 28, 28) and len(test) == 300
    assert train.images.dtype == torch.float32 and 0 <= train.images.min() and train.images.max() <= 1
    images, labels = class_structured_images(1200, 0)
    assert torch.equal(train.labels, torch.from_numpy(labels).long())
    assert torch.allclose(train.images[:, 0], torch.from_numpy(images).float() / 255)


def test_debian_package_files_are_uncompressed_into_the_cache(tmp_path):
    debian = write_fashion_mnist(tmp_path / "debian", gz=True)
    before = sorted(p.name for p in debian.iterdir())
    split = load_fashion_mnist("test", tmp_path / "cache", debian_dir=debian)
    assert len(split) == 300
    assert (tmp_path / "cache" / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").is_file()
    assert sorted(p.name for p in debian.iterdir()) == before


def test_missing_data_says_both_ways_to_get_it(tmp_path, monkeypatch):
    def offline(self):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(FashionMNIST, "download", offline)
    with pytest.raises(DatasetMissing) as err:
        load_fashion_mnist("train", tmp_path / "empty", debian_dir=tmp_path / "no-debian")
    message = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in message and "download" in message
    assert "\n" not in message


def test_the_split_carries_its_digest_and_an_altered_copy_is_refused_unless_allowed(tmp_path):
    raw = write_fashion_mnist(tmp_path / "data" / "FashionMNIST" / "raw")
    official = load_fashion_mnist("test", tmp_path / "data")
    assert official.identity == DataIdentity(tiny_fashion_mnist_digests()["test"], verified=True)
    images = raw / "t10k-images-idx3-ubyte"
    data = bytearray(images.read_bytes())
    data[-1] ^= 0xFF
    images.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatch) as err:
        load_fashion_mnist("test", tmp_path / "data")
    assert "\n" not in str(err.value) and "--unverified-data" in str(err.value)
    altered = load_split("fashion-mnist", "test", tmp_path / "data", unverified=True)
    assert not altered.identity.verified and altered.identity.digest != official.identity.digest
    assert altered.identity.digest == array_digest((altered.images * 255).round().to(torch.uint8).numpy(),
                                                   altered.labels.numpy())
    assert torch.equal(altered.images.flatten()[:-1], official.images.flatten()[:-1])
