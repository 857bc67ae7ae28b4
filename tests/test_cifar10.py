"""CIFAR-10 end to end on a tiny copy in the exact on-disk format of `cifar-10-batches-py`, and the published
teachers and GANs from synthetic files in their exact formats.

torchvision's `CIFAR10` checks every file against the md5 of the real release. The fixture does not
weaken that check: it registers the md5s of the files it wrote on the class, so the loader under test
runs torchvision's own integrity check and its own pickle reading on them. The authors' `teacher.npy`,
Idelbayev's ResNet-56 checkpoint and the AC-GAN state dicts are written by the tests with random weights; the
NIN's logits are checked against an independent NumPy forward pass with TensorFlow's semantics.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import io
import json
import pickle
import shutil
import struct
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import GENERATORS, ROOT, TINY_PROTOCOL
from numpy.lib import format as npy_format
from torchvision.datasets import CIFAR10

from csbench import cifar_teachers, cli
from csbench.acgan import ACGANGenerator, noise_and_labels, sampler
from csbench.cache import Pin, atomic_write_text, git_blob_id, home, sha256_file
from csbench.cifar_teachers import NIN_LAYERS, authors_nin_state, idelbayev_resnet_state
from csbench.compression import pixel_mean
from csbench.data import cache_tag, load_split
from csbench.errors import ChecksumMismatch, CsbenchError, DatasetMissing, GeneratorError
from csbench.evaluate import RunOptions, evaluate, reference_score, reference_score_path
from csbench.features import FeatureSpace
from csbench.generators import SampleContext, check_labels, check_samples, load_generator_file
from csbench.leaderboard import render
from csbench.models import AuthorsNIN, BasicBlock, FeatureClassifier, build_model
from csbench.quality import reference_statistics_path
from csbench.results import read_record
from csbench.suites import AUTHORS_REPO, SUITES, get_suite
from csbench.teacher import accuracy, load_teacher, predict_logits, train_teacher

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


def train_dcgan(cifar_root: Path, out: Path) -> int:
    spec = importlib.util.spec_from_file_location("train_gan", ROOT / "scripts" / "train_gan.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script.main(["--suite", "cifar10", "--arch", "dcgan32", "--data-dir", str(cifar_root), "--limit", "32",
                        "--batch-size", "16", "--epochs", "1", "--out", str(out),
                        "--state", str(out.with_name(f"{out.name}.state"))])  # not under the real $CSBENCH_HOME


DCGAN_FILE = """import csbench
from csbench.gans import checkpoint_sampler

sample = csbench.generator("dcgan", suites=["cifar10", "cifar10-resnet56"])(checkpoint_sampler(
    "dcgan32", "dcgan.pt", None, "python scripts/train_gan.py --suite cifar10 --arch dcgan32 --epochs 1 "
    "--out dcgan.pt"))
"""  # weights pinned by the dcgan.pt.sha256 the training script writes beside them, as a contributor's would be


@pytest.fixture(scope="module")
def dcgan_dir(tmp_path_factory, cifar_root) -> Path:
    """A DCGAN generator file beside weights from two steps of the training script."""
    folder = tmp_path_factory.mktemp("dcgan")
    assert train_dcgan(cifar_root, folder / "dcgan.pt") == 0
    (folder / "dcgan.py").write_text(DCGAN_FILE)
    return folder


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


def altered_copy(cifar_root: Path, root: Path, batch: str = "data_batch_3") -> Path:
    """A copy of the tiny CIFAR-10 with the first pixel value of `batch` changed: it fails its md5, it still loads."""
    shutil.copytree(cifar_root / CIFAR10.base_folder, root / CIFAR10.base_folder)
    path = root / CIFAR10.base_folder / batch
    contents = pickle.loads(path.read_bytes(), encoding="bytes")  # the test's own file
    contents[b"data"][0, 0] ^= 0xFF
    write_pickle(path, contents)
    return root


def test_an_altered_copy_fails_the_md5_check_in_one_line(cifar_root, tmp_path):
    altered_copy(cifar_root, tmp_path)
    with pytest.raises(ChecksumMismatch, match="md5") as err:
        load_split("cifar10", "train", tmp_path)
    assert "\n" not in str(err.value) and "data_batch_3" in str(err.value) and "--unverified-data" in str(err.value)
    assert load_split("cifar10", "test", tmp_path).identity.verified  # the test split's file is intact


def test_an_altered_copy_loads_when_allowed_and_says_so(cifar_root, tmp_path):
    official = load_split("cifar10", "train", cifar_root)
    altered = load_split("cifar10", "train", altered_copy(cifar_root, tmp_path), unverified=True)
    assert official.identity.verified and not altered.identity.verified
    assert official.identity.digest != altered.identity.digest
    assert load_split("cifar10", "train", cifar_root, unverified=True).identity == official.identity
    changed = (official.images != altered.images).nonzero()
    assert len(changed) == 1 and changed[0, 0] >= 2 * PER_BATCH  # one value, in the third batch
    assert torch.equal(official.labels, altered.labels)


def test_an_unverified_copy_is_still_unpickled_without_running_its_code(cifar_root, tmp_path):
    folder = altered_copy(cifar_root, tmp_path) / CIFAR10.base_folder
    (folder / "data_batch_3").write_bytes(pickle.dumps({"data": Path("x"), "labels": []}, protocol=2))
    with pytest.raises(CsbenchError, match="data_batch_3 cannot be read.*pathlib") as err:
        load_split("cifar10", "train", tmp_path, unverified=True)
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


# ---- the authors' NIN teacher: format, conversion, TF semantics ----

NIN_CHANNELS, NIN_KERNELS, NIN_HIDDEN = (3, 16, 16, 16, 32, 32, 32, 32, 24), (5, 1, 1, 5, 1, 1, 3, 1), 40


def random_nin_layers(seed: int) -> dict:
    """A `teacher.npy` dict in the authors' format and TF layout, He-scaled random weights."""
    rng = np.random.default_rng(seed)
    shapes = [(k, k, cin, cout) for cin, cout, k in zip(NIN_CHANNELS, NIN_CHANNELS[1:], NIN_KERNELS)]
    shapes += [(8 * 8 * NIN_CHANNELS[-1], NIN_HIDDEN), (NIN_HIDDEN, 10)]
    return {name: {"weights": (rng.standard_normal(shape) * np.sqrt(2 / np.prod(shape[:-1]))).astype(np.float32),
                   "biases": (rng.standard_normal(shape[-1]) * 0.1).astype(np.float32)}
            for name, shape in zip(NIN_LAYERS, shapes)}


def write_teacher_npy(path: Path, layers: dict, python2: bool = False) -> Path:
    """As the authors' `np.save`: a 0-d object array pickled, by Python 3 or (`python2`) as Python 2 wrote it."""
    array = np.empty((), dtype=object)
    array[()] = layers
    if python2:
        buffer = io.BytesIO()
        Python2Pickler(buffer, protocol=2).dump(array)
        data = buffer.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
    else:
        data = pickle.dumps(array, protocol=3)
    with open(path, "wb") as f:
        npy_format.write_array_header_1_0(f, npy_format.header_data_from_array_1_0(array))
        f.write(data)
    return path


def same_padding(size: int, k: int, s: int) -> tuple[int, int, int]:
    """TF "SAME": output ceil(size / s), padding split with the extra row/column at the bottom/right."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return out, total // 2, total - total // 2


def tf_conv(x: np.ndarray, layer: dict) -> np.ndarray:
    """`tf.nn.relu(tf.nn.conv2d(x, w, stride 1, "SAME") + b)`, x NHWC, w HWIO, in float64."""
    w, (_, h, wd, _) = layer["weights"].astype(np.float64), x.shape
    _, top, bottom = same_padding(h, w.shape[0], 1)
    padded = np.pad(x, ((0, 0), (top, bottom), (top, bottom), (0, 0)))
    out = sum(np.einsum("nhwc,co->nhwo", padded[:, i:i + h, j:j + wd], w[i, j])
              for i in range(w.shape[0]) for j in range(w.shape[1]))
    return np.maximum(out + layer["biases"], 0)


def tf_pool(x: np.ndarray, kind: str, k: int = 3, s: int = 2) -> np.ndarray:
    """`tf.nn.max_pool` / `tf.nn.avg_pool`, "SAME": -inf padding for the max, divisor = values not padded."""
    n, h, w, c = x.shape
    out_h, top, bottom = same_padding(h, k, s)
    padded = np.pad(x, ((0, 0), (top, bottom), (top, bottom), (0, 0)), constant_values=-np.inf if kind == "max" else 0)
    real = np.pad(np.ones((h, w)), ((top, bottom), (top, bottom)))
    out = np.empty((n, out_h, out_h, c))
    for i in range(out_h):
        for j in range(out_h):
            window = padded[:, i * s:i * s + k, j * s:j * s + k]
            out[:, i, j] = window.max(axis=(1, 2)) if kind == "max" else \
                window.sum(axis=(1, 2)) / real[i * s:i * s + k, j * s:j * s + k].sum()
    return out


def tf_nin_logits(layers: dict, images: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """The authors' `nin` with keep_prob 1, in NumPy: an independent reference with TF's semantics."""
    x = (np.float32(np.round(images * 255)) - mean).astype(np.float32).transpose(0, 2, 3, 1).astype(np.float64)
    for name in NIN_LAYERS[:3]:
        x = tf_conv(x, layers[name])
    x = tf_pool(x, "max")
    for name in NIN_LAYERS[3:6]:
        x = tf_conv(x, layers[name])
    x = tf_pool(x, "avg")
    for name in NIN_LAYERS[6:8]:
        x = tf_conv(x, layers[name])
    x = np.maximum(x.reshape(len(x), -1) @ layers["ip1"]["weights"] + layers["ip1"]["biases"], 0)
    return x @ layers["ip2"]["weights"] + layers["ip2"]["biases"]


def converted_nin(path: Path, mean: np.ndarray) -> torch.nn.Module:
    state = authors_nin_state(path, path.name)
    model = cifar_teachers.build("nin", state, 10)
    model.load_state_dict(state)
    model.features.input.mean = torch.from_numpy(mean)
    return model.eval()


def random_images(n: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """Images in [0, 1] as the data loader gives them (uint8 / 255), and a float64 0-255 mean image."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (n, 3, 32, 32)).astype(np.uint8)
    return torch.from_numpy(pixels).float().div(255), rng.integers(0, 256, (50, 3, 32, 32)).mean(0, keepdims=True)


@pytest.mark.parametrize("python2", [False, True])
def test_nin_conversion_matches_tf_semantics(tmp_path, python2):
    layers = random_nin_layers(0)
    images, mean = random_images(6, 1)
    model = converted_nin(write_teacher_npy(tmp_path / "teacher.npy", layers, python2), mean)
    with torch.inference_mode():
        logits = model(images).double().numpy()
    reference = tf_nin_logits(layers, images.numpy(), mean)
    assert np.abs(reference).max() > 1
    np.testing.assert_allclose(logits, reference, rtol=1e-4, atol=1e-4 * np.abs(reference).max())


def test_nin_is_a_feature_classifier_with_the_authors_dropout(tmp_path):
    images, mean = random_images(4, 2)
    model = converted_nin(write_teacher_npy(tmp_path / "teacher.npy", random_nin_layers(1)), mean)
    assert isinstance(model, FeatureClassifier) and model.features(images).shape == (4, NIN_HIDDEN)
    names = [name for name, _ in model.features.named_children()]
    drops = [name for name, m in model.features.named_children() if isinstance(m, torch.nn.Dropout)]
    assert drops == ["drop1", "drop2"] and all(model.features.get_submodule(d).p == 0.5 for d in drops)
    assert names.index("drop1") == names.index("pool1") + 1 and names.index("drop2") == names.index("pool2") + 1
    clean = predict_logits(model, images)
    noisy, again = predict_logits(model, images, dropout_seed=0), predict_logits(model, images, dropout_seed=0)
    assert torch.equal(noisy, again) and not torch.equal(noisy, clean)
    assert torch.equal(predict_logits(model, images), clean), "dropout is off again after labelling"


def test_nin_without_its_training_mean_refuses_to_run(tmp_path):
    state = authors_nin_state(write_teacher_npy(tmp_path / "teacher.npy", random_nin_layers(0)), "teacher.npy")
    with pytest.raises(RuntimeError, match="training mean .* never set"):
        cifar_teachers.build("nin", state, 10)(torch.rand(1, 3, 32, 32))


@pytest.mark.parametrize("damage, match", [
    (lambda layers: layers.pop("cccp5"), "expected the layers conv1, cccp1"),
    (lambda layers: layers.update(extra={}), "expected the layers"),
    (lambda layers: layers["conv2"].update(weights=np.zeros((5, 5, 16))), r"conv2\['weights'\] is not a 4-d float"),
    (lambda layers: layers["ip1"].update(biases=np.zeros(3, np.int64)), r"ip1\['biases'\] is not a 1-d float"),
    (lambda layers: layers["conv1"].update(weights=np.zeros((4, 4, 3, 16), np.float32)), "a 4x4 kernel"),
    (lambda layers: layers["ip1"].update(weights=np.zeros((7, NIN_HIDDEN), np.float32)), "ip1 takes 7 inputs, but"),
    (lambda layers: layers["cccp3"].update(weights=np.zeros((1, 1, 5, 32), np.float32)), "does not fit the network"),
])
def test_a_teacher_file_of_another_shape_is_one_line(tmp_path, damage, match):
    layers = random_nin_layers(0)
    damage(layers)
    with pytest.raises(CsbenchError, match=match) as err:
        authors_nin_state(write_teacher_npy(tmp_path / "teacher.npy", layers), "teacher.npy")
    assert "\n" not in str(err.value)


def published_nin_suite(source: Path, url: str | None = None):
    """The cifar10 suite record with its teacher pinned to `source`'s git blob id, downloaded from `url`."""
    base = get_suite("cifar10")
    teacher = dataclasses.replace(base.teacher, git_blob=git_blob_id(source), url=url or source.as_uri())
    return dataclasses.replace(base, teacher=teacher)


def test_the_published_teacher_downloads_verifies_and_converts_once(tmp_path, cifar_root, monkeypatch):
    source = write_teacher_npy(tmp_path / "published.npy", random_nin_layers(0))
    suite = published_nin_suite(source)
    train = load_split("cifar10", "train", cifar_root)
    teacher = load_teacher(suite, train=train)
    folder = home() / "teachers" / suite.teacher.git_blob
    assert sorted(p.name for p in folder.iterdir()) == ["state_dict.pt", "teacher.npy"]
    assert teacher.record == {"architecture": "nin", "sha256": sha256_file(folder / "state_dict.pt"),
                              "test_accuracy": None, "url": source.as_uri(), "pin": f"git-blob:{git_blob_id(source)}"}
    assert torch.equal(teacher.features.input.mean, pixel_mean(train.images))
    monkeypatch.setattr(cifar_teachers, "load_pickled_npy", lambda *a: pytest.fail("converted twice"))
    source.unlink()
    monkeypatch.setenv("CSBENCH_DATA", str(cifar_root))
    again = load_teacher(suite)
    images = train.images[:8]
    assert torch.equal(predict_logits(again, images), predict_logits(teacher, images))


@pytest.mark.parametrize("local", [True, False])
def test_a_file_whose_git_blob_differs_is_refused_and_never_unpickled(tmp_path, cifar_root, monkeypatch, local):
    genuine = write_teacher_npy(tmp_path / "genuine.npy", random_nin_layers(0))
    other = write_teacher_npy(tmp_path / "other.npy", random_nin_layers(1))
    suite = published_nin_suite(genuine, url=None if local else other.as_uri())
    monkeypatch.setattr(cifar_teachers, "load_pickled_npy", lambda *a: pytest.fail("unpickled before the pin check"))
    with pytest.raises(ChecksumMismatch, match=f"has git-blob {git_blob_id(other)[:12]}..., expected "
                                               f"{git_blob_id(genuine)[:12]}...: the file is corrupt") as err:
        load_teacher(suite, other if local else None, data_root=cifar_root)
    assert "\n" not in str(err.value)
    assert not (home() / "teachers" / git_blob_id(genuine) / "teacher.npy").exists()


def test_teacher_flag_takes_a_local_copy_verified_the_same_way(tmp_path, cifar_root):
    copy = write_teacher_npy(tmp_path / "my-copy.npy", random_nin_layers(0))
    suite = published_nin_suite(copy, url="http://127.0.0.1:9/teacher.npy")
    teacher = load_teacher(suite, copy, data_root=cifar_root)
    assert teacher.record["pin"] == f"git-blob:{git_blob_id(copy)}"
    with pytest.raises(CsbenchError, match=r"teacher file .*absent.npy not found; pass a copy of http://127.0.0.1:9/"
                                           "teacher.npy \\(its git-blob is checked\\), or leave out --teacher"):
        load_teacher(suite, tmp_path / "absent.npy")


def test_offline_without_the_teacher_is_one_line_naming_url_and_teacher_flag(tmp_path, capsys, monkeypatch,
                                                                             cifar_root):
    source = write_teacher_npy(tmp_path / "teacher.npy", random_nin_layers(0))
    monkeypatch.setitem(SUITES, "cifar10", published_nin_suite(source, url="http://127.0.0.1:9/teacher.npy"))
    assert cli.main(["evaluate", str(GENERATORS / "uniform_noise.py"), "--suite", "cifar10",
                     "--data-dir", str(cifar_root), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the plan line
    assert err.startswith("error: the teacher of suite cifar10 is not in")
    assert "could not be downloaded from http://127.0.0.1:9/teacher.npy" in err and "--teacher PATH" in err


# ---- the ResNet-56 teacher ----

def idelbayev_checkpoint(path: Path, seed: int) -> torch.nn.Module:
    """A ResNet-56 with random weights and batch-norm statistics, saved as Idelbayev's files are."""
    torch.manual_seed(seed)
    model = build_model("resnet56", 3, 32, 10).eval()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2), m.running_var.uniform_(0.5, 2), m.weight.data.uniform_(0.5, 1.5)
    names = {"classifier.": "linear.", "features.": ""}
    state = {"module." + next(new + k[len(old):] for old, new in names.items() if k.startswith(old)): v
             for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save({"best_prec1": 93.0, "state_dict": state}, path)
    return model


def test_an_idelbayev_checkpoint_converts_to_the_same_network(tmp_path):
    original = idelbayev_checkpoint(tmp_path / "resnet56.th", 0)
    state = idelbayev_resnet_state(tmp_path / "resnet56.th", "resnet56.th")
    model = cifar_teachers.build("resnet56", state, 10)
    model.load_state_dict(state)
    assert "module.conv1.weight" in torch.load(tmp_path / "resnet56.th", weights_only=True)["state_dict"]
    assert "features.layer3.8.bn2.num_batches_tracked" in state and "classifier.weight" in state
    images = torch.rand(4, 3, 32, 32)
    assert torch.equal(predict_logits(model, images), predict_logits(original, images))
    assert model.features(images).shape == (4, 64) and sum(isinstance(m, BasicBlock) for m in model.modules()) == 27


def test_the_resnet56_suite_loads_a_verified_local_copy(tmp_path):
    idelbayev_checkpoint(tmp_path / "resnet56-4bfd9763.th", 1)
    base = get_suite("cifar10-resnet56")
    suite = dataclasses.replace(base, teacher=dataclasses.replace(
        base.teacher, sha256=sha256_file(tmp_path / "resnet56-4bfd9763.th"), url="http://127.0.0.1:9/r.th"))
    teacher = load_teacher(suite, tmp_path / "resnet56-4bfd9763.th")
    assert teacher.record["architecture"] == "resnet56" and teacher.record["test_accuracy"] == 0.9339
    with pytest.raises(ChecksumMismatch, match="has sha256 .* expected 4bfd97631478"):
        load_teacher(base, tmp_path / "resnet56-4bfd9763.th")


def test_offered_suites_have_teachers_anyone_can_get():
    assert {"cifar10", "cifar10-resnet56"} <= set(SUITES) and "cifar10-resnet" not in SUITES
    assert all(s.teacher.pinned and (s.teacher.url or s.teacher.path.is_file()) for s in SUITES.values())
    nin, resnet = get_suite("cifar10"), get_suite("cifar10-resnet56")
    assert nin.default_protocol == "paper" and set(nin.protocols) == {"paper", "graded"}
    assert nin.protocol().teacher_dropout and nin.student == "lenet"
    assert nin.teacher.pin == Pin("git-blob", "3042e011631112005ef64ccc9678b3bb53806f0b")
    assert "00647b244224dc2203bfbf197481d2a94d61b3a3/models/cifar10/teacher.npy" in nin.teacher.url
    assert resnet.default_protocol == "graded" and resnet.teacher.sha256.startswith("4bfd97631478")


def test_a_published_teacher_is_not_trained(tmp_path):
    with pytest.raises(CsbenchError, match="the teacher of suite cifar10 is published, not trained here"):
        train_teacher(get_suite("cifar10"), tmp_path / "nin.pt")


# ---- the authors' AC-GANs ----

ACGAN_KEYS = ["fc1.weight", "fc1.bias"] + [f"tconv{i}.{j}.{p}" for i in (2, 3, 4) for j, ps in
                                            ((0, ["weight"]), (1, ["weight", "bias", "running_mean", "running_var",
                                                                    "num_batches_tracked"])) for p in ps] + \
    ["tconv5.0.weight"]


def write_acgan(path: Path, seed: int) -> ACGANGenerator:
    torch.manual_seed(seed)
    model = ACGANGenerator()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5), m.bias.data.uniform_(-0.3, 0.3), m.running_var.uniform_(1, 3)
    torch.save(model.state_dict(), path)
    return model


def test_acgan_weights_have_the_original_modules_layout(tmp_path):
    write_acgan(tmp_path / "netG.pth", 0)
    assert list(torch.load(tmp_path / "netG.pth", weights_only=True)) == ACGAN_KEYS


def test_acgan_samples_as_the_authors_one_image_at_a_time_in_training_mode(tmp_path):
    original = write_acgan(tmp_path / "netG.pth", 0).train()
    ctx = SampleContext(suite="cifar10", shape=(3, 32, 32), num_classes=10, directory=tmp_path,
                        weights={"netG.pth": tmp_path / "netG.pth"})
    images, labels = sampler("netG.pth")(12, 3, ctx)
    noise, drawn = noise_and_labels(12, 3)
    assert torch.equal(labels, drawn) and torch.equal(noise[:, :10].argmax(1), labels)
    assert torch.equal(noise[:, :10].sum(1), torch.ones(12))
    with torch.no_grad():  # the original forward: fc1, view, Sequential blocks, batch norm on a batch of one
        one_at_a_time = [original.tconv5(original.tconv4(original.tconv3(original.tconv2(
            original.fc1(z[None]).view(1, 384, 1, 1))))) for z in noise]
    expected = (torch.cat(one_at_a_time) * 127.5 + 127.5) / 255
    torch.testing.assert_close(images, expected, rtol=1e-5, atol=1e-5)
    assert images.shape == (12, 3, 32, 32) and 0 <= images.min() and images.max() <= 1
    again, _ = sampler("netG.pth")(12, 3, ctx)
    other, _ = sampler("netG.pth")(12, 4, ctx)
    assert torch.equal(images, again) and not torch.equal(images, other)


@pytest.mark.parametrize("name, weight, blob", [
    ("authors_acgan.py", "netG_pytorch.pth", "d67c6a9ecde13aa63a0c1f084e2213edf5cdf63f"),
    ("authors_acgan_inferior.py", "netG_pytorch_inferior.pth", "b8264b3ec090e50d583b0d294c674be6a812dec9"),
])
def test_acgan_generator_files_declare_the_authors_weights(tmp_path, name, weight, blob):
    gen = load_generator_file(GENERATORS / "cifar10" / name)
    [declared] = gen.weights
    assert declared.name == weight and declared.pin == Pin("git-blob", blob)
    assert declared.url == f"{AUTHORS_REPO}/models/cifar10/{weight}"
    assert gen.supports("cifar10") and gen.supports("cifar10-resnet56")
    write_acgan(tmp_path / weight, 0)
    ctx = SampleContext(suite="cifar10", shape=(3, 32, 32), num_classes=10, directory=tmp_path,
                        weights={weight: tmp_path / weight})
    images, labels = gen.sample(4, 0, ctx)
    assert check_samples(images, 4, (3, 32, 32)).shape == (4, 3, 32, 32) and check_labels(labels, 4, 10).shape == (4,)


def test_acgan_weights_that_are_not_a_state_dict_are_one_line(tmp_path):
    (tmp_path / "netG.pth").write_bytes(b"not a checkpoint")
    ctx = SampleContext(suite="cifar10", shape=(3, 32, 32), num_classes=10, directory=tmp_path,
                        weights={"netG.pth": tmp_path / "netG.pth"})
    with pytest.raises(GeneratorError, match="AC-GAN weights netG.pth cannot be loaded") as err:
        sampler("netG.pth")(2, 0, ctx)
    assert "\n" not in str(err.value)


# ---- end to end ----

def trained_tiny_nin(train) -> AuthorsNIN:
    """A small NIN of the authors' architecture fitted to the fixture (the real one cannot be fetched here)."""
    torch.manual_seed(0)
    model = AuthorsNIN(NIN_CHANNELS, NIN_KERNELS, NIN_HIDDEN, 10)
    model.features.input.mean = pixel_mean(train.images)
    with torch.no_grad():
        model.features.conv1.weight.mul_(1 / 64)  # inputs are 0-255 minus the mean, not [0, 1]
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(3):
        order = torch.randperm(len(train), generator=gen)
        for i in range(0, len(train), 20):
            idx = order[i:i + 20]
            loss = torch.nn.functional.cross_entropy(model(train.images[idx]), train.labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def authors_format(model: AuthorsNIN) -> dict:
    """The inverse of the conversion: TF layout, the authors' layer names."""
    state = model.state_dict()
    layers = {}
    for name in NIN_LAYERS:
        key = f"features.{name}" if name != "ip2" else "classifier"
        w = state[f"{key}.weight"]
        layers[name] = {"weights": (w.permute(2, 3, 1, 0) if w.ndim == 4 else w.T).contiguous().numpy(),
                        "biases": state[f"{key}.bias"].numpy()}
    return layers


@pytest.fixture(scope="module")
def tiny_cifar_suite(tmp_path_factory, cifar_root):
    """The cifar10 suite record with a small NIN teacher, published as a file:// URL in the authors' format."""
    train, test = load_split("cifar10", "train", cifar_root), load_split("cifar10", "test", cifar_root)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # the teacher, like the scores checked with it, at one thread count
    try:
        model = trained_tiny_nin(train)
    finally:
        torch.set_num_threads(threads)
    source = write_teacher_npy(tmp_path_factory.mktemp("published") / "teacher.npy", authors_format(model))
    suite = published_nin_suite(source)
    acc = accuracy(predict_logits(model, test.images), test.labels)
    return dataclasses.replace(suite, teacher=dataclasses.replace(suite.teacher, test_accuracy=acc),
                               protocols={"tiny": CIFAR_PROTOCOL}, default_protocol="tiny")


def test_cifar10_pipeline_end_to_end(tiny_cifar_suite, cifar_root, dcgan_dir, tmp_path, monkeypatch):
    """The teacher downloads itself (a file:// URL), is verified, converted and takes its mean from the data."""
    torch.set_num_threads(2)  # the tiny protocol's scores are checked at one thread count (conftest restores it)
    assert tiny_cifar_suite.teacher.test_accuracy > 0.5
    monkeypatch.setenv("CSBENCH_DATA", str(cifar_root))
    kw = dict(suite=tiny_cifar_suite, options=RunOptions(data_root=cifar_root), out_dir=tmp_path / "results")
    real = evaluate(GENERATORS / "real_data.py", "cifar10", **kw)
    dcgan = evaluate(dcgan_dir / "dcgan.py", "cifar10", **kw)
    assert 0.8 < real.cs < 1.2 and dcgan.cs < real.cs - 0.2, "a DCGAN after two steps is far from real data"
    assert real.reference_scores == dcgan.reference_scores
    record = read_record(tmp_path / "results" / "cifar10" / "dcgan.json")
    assert record.suite == "cifar10" and record.student == "lenet" and record.protocol["name"] == "tiny"
    assert record.teacher["architecture"] == "nin"
    assert record.teacher["test_accuracy"] == tiny_cifar_suite.teacher.test_accuracy
    real_m, dcgan_m = real.metrics["teacher"], dcgan.metrics["teacher"]
    assert real_m["fid"] < dcgan_m["fid"] and real_m["coverage"] > dcgan_m["coverage"]
    assert real.metrics["inception"]["unavailable"].startswith("skipped on the CPU")
    board = render(tiny_cifar_suite, tmp_path / "results", tmp_path / "boards").read_text()
    assert board.startswith("# cifar10 leaderboard") and "| `real_data` |" in board and "| `dcgan` |" in board
    assert board.index("| `real_data` |") < board.index("| `dcgan` |"), "one seed each: provisional, in CS order"
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
    assert gen.supports("cifar10") and gen.supports("cifar10-resnet56") and not gen.supports("fashion-mnist")


def test_dcgan_without_weights_says_how_to_train_them(tmp_path):
    (tmp_path / "dcgan.py").write_text(DCGAN_FILE)
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


def test_a_reference_cached_for_one_copy_is_never_read_for_another(cifar_root, tmp_path):
    """The official copy's cached reference score is read back; the altered copy's key is another file, so its
    reference is computed (here it cannot be: the protocol asks for more images than the split has)."""
    suite = get_suite("cifar10-resnet56")
    protocol = dataclasses.replace(suite.protocol(), samples=10 * PER_BATCH)
    official = [load_split("cifar10", s, cifar_root) for s in ("train", "test")]
    copy = altered_copy(cifar_root, tmp_path / "copy")
    altered = [load_split("cifar10", s, copy, unverified=True) for s in ("train", "test")]
    path = reference_score_path(suite, protocol, 0, cache_tag(*official))
    atomic_write_text(path, json.dumps({"seed": 0, "accuracy": 0.123, "per_class": [0.1] * 10}))
    assert reference_score(suite, protocol, None, *official, 0).accuracy == 0.123
    assert reference_score_path(suite, protocol, 0, cache_tag(*altered)).parent == path.parent
    with pytest.raises(GeneratorError, match=f"has {5 * PER_BATCH} images, fewer than the protocol's"):
        reference_score(suite, protocol, None, *altered, 0)
    space = FeatureSpace("teacher", "x", "ab" * 32, None, 1, True)
    assert (reference_statistics_path(suite, space, "train", 10, 5, cache_tag(official[0]))
            != reference_statistics_path(suite, space, "train", 10, 5, cache_tag(altered[0])))
    assert cache_tag(official[1]) == cache_tag(altered[1]) == ""  # the test batch is the same, official file


def test_evaluating_on_a_copy_that_fails_the_md5s_is_one_line_naming_the_option(cifar_root, tmp_path, capsys):
    copy = altered_copy(cifar_root, tmp_path / "copy")
    assert cli.main(["evaluate", str(GENERATORS / "uniform_noise.py"), "--suite", "cifar10-resnet56",
                     "--data-dir", str(copy), "--out", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "md5" in err and "data_batch_3" in err and "--unverified-data" in err
    assert not (tmp_path / "results").exists()


def test_validate_takes_a_copy_that_fails_the_md5s_only_when_allowed(cifar_root, tmp_path, capsys):
    from csbench.validate import first_problem, validate

    copy = altered_copy(cifar_root, tmp_path / "copy")
    args = ["validate", str(GENERATORS / "real_data.py"), "--suite", "cifar10-resnet56", "--samples", "8",
            "--data-dir", str(copy)]
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "md5" in err and "--unverified-data" in err
    checks = validate(GENERATORS / "real_data.py", "cifar10-resnet56", n=8, data_root=copy, unverified_data=True)
    assert first_problem(checks) is None and any(c.name == "deterministic for a seed" for c in checks)
