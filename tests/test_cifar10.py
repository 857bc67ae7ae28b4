"""CIFAR-10 end to end on a tiny copy in the exact on-disk format of `cifar-10-batches-py`.

torchvision's `CIFAR10` checks every file against the md5 of the real release. The fixture does not
weaken that check: it registers the md5s of the files it wrote on the class, so the loader under test
runs torchvision's own integrity check and its own pickle reading on them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import pickle
import shutil
import struct
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.datasets import CIFAR10

from csbench import cli
from csbench.cache import sha256_file
from csbench.data import load_split
from csbench.errors import CsbenchError, DatasetMissing, GeneratorError
from csbench.evaluate import evaluate
from csbench.generators import SampleContext, load_generator_file
from csbench.leaderboard import render
from csbench.models import build_model
from csbench.results import read_record
from csbench.suites import SUITES, get_suite
from csbench.teacher import load_teacher, train_teacher
from conftest import GENERATORS, ROOT, TINY_PROTOCOL

PER_BATCH, N_TEST = 60, 100
LABEL_NAMES = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
CIFAR_PROTOCOL = dataclasses.replace(TINY_PROTOCOL, samples=5 * PER_BATCH, batch_size=16, lr=3e-4, seeds=(0,))


class Python2Pickler(pickle._Pickler):
    """Writes `bytes` as Python 2 `str`, as Python 2's cPickle wrote the real batches.

    Read with `encoding="bytes"` the keys are b'data', b'labels'; read as torchvision does, with
    `encoding="latin1"`, they are 'data', 'labels'. Python 3 `bytes` keys would stay bytes either way.
    """

    dispatch = dict(pickle._Pickler.dispatch)

    def save_python2_str(self, obj: bytes) -> None:
        n = len(obj)
        self.write((pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str


def write_pickle(path: Path, obj: dict) -> None:
    with open(path, "wb") as f:
        Python2Pickler(f, protocol=2).dump(obj)


def class_structured_rows(n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    """Ten classes, each a blocky colour prototype plus noise, as uint8 rows of 3072 (R, G, B planes)."""
    prototypes = np.kron(np.random.default_rng(1234).random((10, 3, 8, 8)), np.ones((4, 4))) * 255
    labels = np.arange(n) % 10
    images = prototypes[labels] * 0.7 + np.random.default_rng(seed).random((n, 3, 32, 32)) * 255 * 0.3
    return images.clip(0, 255).astype(np.uint8).reshape(n, 3072), labels.tolist()


def write_cifar10(root: Path) -> Path:
    folder = root / CIFAR10.base_folder
    folder.mkdir(parents=True)
    batches = [(f"data_batch_{i}", PER_BATCH, i, f"training batch {i} of 5") for i in range(1, 6)]
    for name, n, seed, title in batches + [("test_batch", N_TEST, 0, "testing batch 1 of 1")]:
        rows, labels = class_structured_rows(n, seed)
        write_pickle(folder / name, {b"batch_label": title.encode(), b"labels": labels, b"data": rows,
                                     b"filenames": [f"image_{seed}_{i}.png".encode() for i in range(n)]})
    write_pickle(folder / "batches.meta", {b"num_cases_per_batch": PER_BATCH, b"label_names": LABEL_NAMES,
                                           b"num_vis": 3072})
    return folder


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory):
    """A tiny CIFAR-10 whose files' md5s are the ones torchvision's integrity check expects."""
    root = tmp_path_factory.mktemp("cifar")
    folder = write_cifar10(root)
    with pytest.MonkeyPatch.context() as mp:
        for attr in ("train_list", "test_list"):
            mp.setattr(CIFAR10, attr, [[name, md5(folder / name)] for name, _ in getattr(CIFAR10, attr)])
        mp.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5(folder / CIFAR10.meta["filename"])})
        yield root


@pytest.fixture(scope="module")
def tiny_cifar_suite(tmp_path_factory, cifar_root):
    """The cifar10 suite record with its NIN teacher trained for 60 small AdamW steps (SGD needs more)."""
    base = get_suite("cifar10")
    checkpoint = tmp_path_factory.mktemp("teacher") / "nin.pt"
    recipe = dataclasses.replace(base.teacher.recipe, epochs=2, batch_size=10, optimizer="adamw", max_lr=3e-3)
    unpinned = dataclasses.replace(base, teacher=dataclasses.replace(base.teacher, checkpoint=str(checkpoint),
                                                                     recipe=recipe))
    digest, acc = train_teacher(unpinned, checkpoint, data_root=cifar_root)
    return dataclasses.replace(unpinned, teacher=dataclasses.replace(unpinned.teacher, sha256=digest,
                                                                     test_accuracy=acc),
                               protocols={"tiny": CIFAR_PROTOCOL}, default_protocol="tiny")


def train_dcgan(cifar_root: Path, out: Path) -> int:
    spec = importlib.util.spec_from_file_location("train_gan", ROOT / "scripts" / "train_gan.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script.main(["--suite", "cifar10", "--arch", "dcgan32", "--data-dir", str(cifar_root), "--limit", "32",
                        "--batch-size", "16", "--epochs", "1", "--out", str(out)])


@pytest.fixture(scope="module")
def dcgan_dir(tmp_path_factory, cifar_root) -> Path:
    """The DCGAN generator file beside weights from two steps of its training script."""
    folder = tmp_path_factory.mktemp("dcgan")
    assert train_dcgan(cifar_root, folder / "dcgan.pt") == 0
    shutil.copy(GENERATORS / "cifar10" / "dcgan.py", folder)
    return folder


def unpinned_cifar10(tmp_path: Path):
    base = get_suite("cifar10")
    teacher = dataclasses.replace(base.teacher, sha256="", test_accuracy=None, checkpoint=str(tmp_path / "nin.pt"))
    return dataclasses.replace(base, teacher=teacher)


def test_fixture_has_the_on_disk_format_of_the_real_release(cifar_root):
    folder = cifar_root / CIFAR10.base_folder
    batch = pickle.loads((folder / "data_batch_1").read_bytes(), encoding="bytes")
    assert set(batch) == {b"batch_label", b"labels", b"data", b"filenames"}
    assert batch[b"data"].dtype == np.uint8 and batch[b"data"].shape == (PER_BATCH, 3072)
    assert set(pickle.loads((folder / "test_batch").read_bytes(), encoding="latin1")) >= {"data", "labels"}
    meta = pickle.loads((folder / "batches.meta").read_bytes(), encoding="bytes")
    assert meta[b"label_names"] == LABEL_NAMES


def test_loads_through_torchvision_with_its_md5_check(cifar_root, monkeypatch):
    train = load_split("cifar10", "train", cifar_root)
    monkeypatch.setenv("CSBENCH_DATA", str(cifar_root))
    test = load_split("cifar10", "test")
    assert train.images.shape == (5 * PER_BATCH, 3, 32, 32) and len(test) == N_TEST
    assert train.images.dtype == torch.float32 and train.images.is_contiguous()
    rows, labels = class_structured_rows(PER_BATCH, 1)
    assert torch.equal(train.images[:PER_BATCH], torch.from_numpy(rows).float().div(255).view(-1, 3, 32, 32))
    assert train.labels[:PER_BATCH].tolist() == labels


def test_an_altered_copy_fails_the_md5_check(cifar_root, tmp_path):
    shutil.copytree(cifar_root / CIFAR10.base_folder, tmp_path / CIFAR10.base_folder)
    batch = tmp_path / CIFAR10.base_folder / "data_batch_3"
    data = bytearray(batch.read_bytes())
    data[-100] ^= 0xFF
    batch.write_bytes(bytes(data))
    with pytest.raises(DatasetMissing, match="md5") as err:
        load_split("cifar10", "train", tmp_path)
    assert "\n" not in str(err.value)


def test_missing_data_says_both_ways_to_get_it(tmp_path, monkeypatch):
    def offline(self):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(CIFAR10, "download", offline)
    with pytest.raises(DatasetMissing) as err:
        load_split("cifar10", "test", tmp_path / "empty")
    message = str(err.value)
    for text in ("internet access", "--data-dir", "CSBENCH_DATA", "cifar-10-batches-py", "URLError"):
        assert text in message
    assert "\n" not in message


def test_evaluate_without_a_teacher_says_how_to_make_one(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(SUITES, "cifar10", unpinned_cifar10(tmp_path))
    assert cli.main(["evaluate", str(GENERATORS / "uniform_noise.py"), "--suite", "cifar10",
                     "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the teacher of suite cifar10 is not trained yet") and "\n" not in err
    assert "csbench teacher train --suite cifar10 --device cuda" in err and "pin its sha256" in err


def test_an_unpinned_suite_refuses_a_checkpoint_it_cannot_verify(tmp_path):
    suite = unpinned_cifar10(tmp_path)
    checkpoint = tmp_path / "mine.pt"
    torch.save(build_model("nin", 3, 32, 10).state_dict(), checkpoint)
    with pytest.raises(CsbenchError, match=f"pins no teacher sha256 yet.*pin sha256 {sha256_file(checkpoint)}"):
        load_teacher(suite, checkpoint)


def test_suites_command_shows_an_untrained_teacher(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(SUITES, "cifar10", unpinned_cifar10(tmp_path))
    monkeypatch.setattr(cli.stdout, "width", 200)
    assert cli.main(["suites"]) == 0
    out = capsys.readouterr().out
    for text in ("cifar10", "cifar10-resnet", "3x32x32", "nin", "resnet18", "not trained yet"):
        assert text in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_teacher_training_on_a_missing_gpu_is_one_line(tmp_path):
    with pytest.raises(CsbenchError, match="no CUDA GPU"):
        train_teacher(get_suite("cifar10"), tmp_path / "nin.pt", device="cuda")


@pytest.mark.parametrize("name, width", [("nin", 192), ("resnet18", 512)])
def test_teachers_take_cifar_images(name, width):
    model = build_model(name, 3, 32, 10).eval()
    x = torch.rand(2, 3, 32, 32)
    assert model.features(x).shape == (2, width) and model(x).shape == (2, 10)


def test_cifar10_pipeline_end_to_end(tiny_cifar_suite, cifar_root, dcgan_dir, tmp_path):
    assert tiny_cifar_suite.teacher.test_accuracy > 0.5
    kw = dict(suite=tiny_cifar_suite, data_root=cifar_root, out_dir=tmp_path / "results")
    real = evaluate(GENERATORS / "real_data.py", "cifar10", **kw)
    dcgan = evaluate(dcgan_dir / "dcgan.py", "cifar10", **kw)
    assert 0.8 < real["cs"] < 1.2 and dcgan["cs"] < real["cs"] - 0.2, "a DCGAN after two steps is far from real data"
    assert real["reference_scores"] == dcgan["reference_scores"]
    record = read_record(tmp_path / "results" / "cifar10" / "dcgan.json")
    assert record["suite"] == "cifar10" and record["student"] == "lenet" and record["protocol"]["name"] == "tiny"
    assert record["teacher"] == {"architecture": "nin", "sha256": tiny_cifar_suite.teacher.sha256,
                                 "test_accuracy": tiny_cifar_suite.teacher.test_accuracy}
    real_m, dcgan_m = real["metrics"]["teacher"], dcgan["metrics"]["teacher"]
    assert real_m["fid"] < dcgan_m["fid"] and real_m["coverage"] > dcgan_m["coverage"]
    assert real["metrics"]["inception"]["unavailable"].startswith("skipped on the CPU")
    board = render(tiny_cifar_suite, tmp_path / "results", tmp_path / "boards").read_text()
    assert board.startswith("# cifar10 leaderboard") and "| 1 | `real_data` |" in board and "| 2 | `dcgan` |" in board
    assert (tmp_path / "boards" / "cifar10.png").is_file()


def test_dcgan_training_is_deterministic(cifar_root, dcgan_dir, tmp_path):
    assert train_dcgan(cifar_root, tmp_path / "dcgan.pt") == 0
    recorded = (dcgan_dir / "dcgan.pt.sha256").read_text()
    assert (tmp_path / "dcgan.pt.sha256").read_text() == recorded
    assert recorded == f"{sha256_file(dcgan_dir / 'dcgan.pt')}  dcgan.pt\n"


def test_dcgan_samples_are_images_fixed_by_the_seed(dcgan_dir):
    gen = load_generator_file(dcgan_dir / "dcgan.py")
    ctx = SampleContext(suite="cifar10", shape=(3, 32, 32), num_classes=10, directory=dcgan_dir)
    first, again, other = gen.sample(5, 0, ctx), gen.sample(5, 0, ctx), gen.sample(5, 1, ctx)
    assert first.shape == (5, 3, 32, 32) and 0 <= first.min() and first.max() <= 1
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert gen.supports("cifar10") and gen.supports("cifar10-resnet") and not gen.supports("fashion-mnist")


def test_dcgan_without_weights_says_how_to_train_them(tmp_path):
    shutil.copy(GENERATORS / "cifar10" / "dcgan.py", tmp_path)
    gen = load_generator_file(tmp_path / "dcgan.py")
    ctx = SampleContext(suite="cifar10", shape=(3, 32, 32), num_classes=10, directory=tmp_path)
    with pytest.raises(GeneratorError, match=r"dcgan.pt not found; train them with `python scripts/train_gan") as err:
        gen.sample(2, 0, ctx)
    assert "\n" not in str(err.value)


def test_dcgan_weights_that_do_not_match_their_sha256_are_refused(dcgan_dir, tmp_path):
    for name in ("dcgan.py", "dcgan.pt", "dcgan.pt.sha256"):
        shutil.copy(dcgan_dir / name, tmp_path)
    (tmp_path / "dcgan.pt.sha256").write_text(f"{'0' * 64}  dcgan.pt\n")
    gen = load_generator_file(tmp_path / "dcgan.py")
    ctx = SampleContext(suite="cifar10", shape=(3, 32, 32), num_classes=10, directory=tmp_path)
    with pytest.raises(GeneratorError, match="do not match the sha256 in dcgan.pt.sha256"):
        gen.sample(2, 0, ctx)
