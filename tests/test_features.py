import dataclasses

import numpy as np
import pytest
import torch
import torchvision
from conftest import GENERATORS
from pytorch_fid import inception as fid_inception

from csbench import cli, features, suites
from csbench.cache import sha256_file
from csbench.cli import main
from csbench.data import load_split
from csbench.errors import CsbenchError
from csbench.features import (
    DEFAULT_PREPROCESSING,
    PREPROCESSING,
    default_inception_path,
    extract,
    inception_space,
    resize_bilinear_tf1,
    teacher_space,
)
from csbench.quality import feature_spaces, real_reference, reference_statistics_path, sample_quality
from csbench.results import read_record
from csbench.teacher import load_teacher
from csbench.timing import Timings


def random_fid_inception_state() -> dict:
    """pytorch-fid's FID Inception structure (as in its fid_inception_v3), randomly initialised."""
    net = torchvision.models.inception_v3(num_classes=1008, aux_logits=False, weights=None, init_weights=False)
    net.Mixed_5b = fid_inception.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = fid_inception.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = fid_inception.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = fid_inception.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = fid_inception.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = fid_inception.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = fid_inception.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = fid_inception.FIDInceptionE_1(1280)
    net.Mixed_7c = fid_inception.FIDInceptionE_2(2048)
    return net.state_dict()


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(random_fid_inception_state(), path)
    return path


def test_inception_is_skipped_on_the_cpu_unless_asked_for(tiny_suite):
    reason = feature_spaces(tiny_suite, load_teacher(tiny_suite), device="cpu")["inception"]
    assert reason.startswith("skipped on the CPU") and "pass --inception" in reason and "\n" not in reason
    assert not default_inception_path().exists()


def test_missing_weights_make_inception_unavailable_in_one_line(tiny_suite):
    spaces = feature_spaces(tiny_suite, load_teacher(tiny_suite), inception=True)
    reason = spaces["inception"]
    assert isinstance(reason, str) and "\n" not in reason
    assert "could not be downloaded (URLError)" in reason and str(default_inception_path()) in reason
    assert f"download {features.INCEPTION_URL} to" in reason and "--inception-weights" in reason
    assert fid_inception.FID_WEIGHTS_URL.endswith("/" + features.INCEPTION_FILE)  # the URL the fixture refuses
    assert spaces["teacher"].name == "teacher" and not default_inception_path().exists()


def test_a_cached_file_of_the_wrong_sha256_is_not_used(tiny_suite, weights_file):
    default_inception_path().parent.mkdir(parents=True)
    default_inception_path().write_bytes(weights_file.read_bytes())
    reason = feature_spaces(tiny_suite, load_teacher(tiny_suite), inception=True)["inception"]
    assert f"not pytorch-fid's {features.INCEPTION_SHA256_PREFIX}" in reason and "delete it" in reason


def test_an_explicit_missing_or_foreign_file_is_an_error(tmp_path):
    with pytest.raises(CsbenchError, match="absent.pth not found; download http"):
        inception_space(tmp_path / "absent.pth")
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "foreign.pth")
    with pytest.raises(CsbenchError, match="not a state dict of pytorch-fid's Inception"):
        inception_space(tmp_path / "foreign.pth")
    state = random_fid_inception_state()
    del state["Mixed_7c.branch_pool.conv.weight"]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(CsbenchError, match="do not fit pytorch-fid's InceptionV3: .*Missing key"):
        inception_space(tmp_path / "partial.pth")


def test_inception_space_from_a_weights_file_matches_pytorch_fid(weights_file, monkeypatch):
    space = inception_space(weights_file, preprocessing="pytorch-fid")
    assert space.name == "inception" and space.network_sha256 == sha256_file(weights_file)
    assert space.preprocessing == "pytorch-fid" and PREPROCESSING["pytorch-fid"] in space.description
    grey = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    feats, probs = extract(space, grey)
    assert feats.shape == (2, 2048) and probs.shape == (2, 1008)
    assert np.allclose(probs.sum(1), 1.0)
    # pytorch-fid's own network, loaded its own way, on the channel-repeated image.
    state = torch.load(weights_file, weights_only=True)
    monkeypatch.setattr(fid_inception, "load_state_dict_from_url", lambda *a, **kw: state)
    reference = fid_inception.InceptionV3([3]).eval()
    with torch.no_grad():
        expected = reference(grey.repeat(1, 3, 1, 1))[0].flatten(1)
        logits = expected @ state["fc.weight"].T
    assert np.allclose(feats, expected.numpy(), atol=1e-5)
    assert np.allclose(probs, torch.softmax(logits.double(), 1).numpy(), atol=1e-6)


def test_inception_space_by_default_is_torch_fidelitys_extractor_on_saved_pngs(weights_file, tmp_path):
    from PIL import Image
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    space = inception_space(weights_file)
    assert DEFAULT_PREPROCESSING == "torch-fidelity" == space.preprocessing
    assert "torch-fidelity preprocessing" in space.description
    grey = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    grey[0, 0, 0, :3] = torch.tensor([0.0, 1.0, 0.5 / 255])  # the ends of the range and a rounding tie
    feats, probs = extract(space, grey)
    # torch-fidelity's own network on the same weights, fed as its users feed it: PNGs written by torchvision
    theirs = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                         feature_extractor_weights_path=str(weights_file))
    for i, image in enumerate(grey):
        torchvision.utils.save_image(image, tmp_path / f"{i}.png")
    pixels = torch.stack([torch.from_numpy(np.array(Image.open(tmp_path / f"{i}.png").convert("RGB"))).permute(2, 0, 1)
                          for i in range(len(grey))])
    with torch.no_grad():
        expected, logits = theirs(pixels)
    assert np.array_equal(feats, expected.numpy())
    assert np.allclose(probs, torch.softmax(logits.double(), 1).numpy(), atol=1e-6)


def test_tf1_resize_is_torch_fidelitys_and_differs_from_torchs():
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    x = torch.randint(0, 256, (2, 3, 28, 28), generator=torch.Generator().manual_seed(0)).float()
    ours = resize_bilinear_tf1(x, 299)
    assert torch.equal(ours, interpolate_bilinear_2d_like_tensorflow1x(x, size=(299, 299), align_corners=False))
    torchs = torch.nn.functional.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    assert (ours - torchs).abs().max() > 1  # the half-pixel offset: TF 1 reads pixel j at j * in / out


def test_an_unknown_preprocessing_is_refused_before_the_weights_are_looked_for(tmp_path):
    with pytest.raises(CsbenchError, match="unknown Inception preprocessing 'tf2'; known: torch-fidelity, pytorch-fid"):
        inception_space(tmp_path / "absent.pth", preprocessing="tf2")


def test_teacher_metrics_rank_real_images_above_noise(tiny_suite, tiny_data):
    suite = dataclasses.replace(tiny_suite, quality_samples=300, prdc_samples=300)
    splits = {s: load_split("fashion-mnist", s, tiny_data) for s in ("train", "test")}
    spaces = {"teacher": teacher_space(suite, load_teacher(suite)), "inception": "no weights"}
    timings = Timings()
    real = sample_quality(suite, spaces, splits["test"].images, splits, "cpu", timings)
    noise = sample_quality(suite, spaces, torch.rand(300, 1, 28, 28), splits, "cpu", timings)
    assert real["inception"] == {"unavailable": "no weights"}
    r, z = real["teacher"], noise["teacher"]
    assert r["n"] == 300 and r["reference_split"] == "train" and len(r["class_shares"]) == 10
    assert r["fid"] < z["fid"] / 5 and r["kid"] < z["kid"] / 5
    assert r["precision"] > 0.8 and r["recall"] > 0.8 and r["coverage"] > 0.8
    assert z["precision"] < 0.2 and z["coverage"] < 0.2
    assert r["is"] > 8 and r["class_entropy"] > 0.99 * np.log(10)  # ten balanced, well-separated classes
    assert z["class_entropy"] < r["class_entropy"]
    assert {f"metrics.teacher.{k}" for k in ("reference", "features", "is", "fid", "kid", "prdc")} <= set(timings)


def test_reference_is_cached_by_suite_split_network_and_count(tiny_suite, tiny_data):
    space = teacher_space(tiny_suite, load_teacher(tiny_suite))
    train = load_split("fashion-mnist", "train", tiny_data)
    first = real_reference(tiny_suite, space, "train", train, 200, 50)
    path = reference_statistics_path(tiny_suite, space, "train", 200, 50, "")
    assert path.parts[-3:] == ("reference", "tiny-fashion-mnist",
                               f"teacher-train-{tiny_suite.teacher.sha256[:16]}-n200-m50.npz")
    assert first.features.shape == (50, 128) and first.sigma.shape == (128, 128)
    stamp = path.stat().st_mtime_ns
    again = real_reference(tiny_suite, space, "train", train, 200, 50)
    assert path.stat().st_mtime_ns == stamp and np.array_equal(again.sigma, first.sigma)
    path.write_bytes(b"damaged")
    repaired = real_reference(tiny_suite, space, "train", train, 200, 50)
    assert np.allclose(repaired.mu, first.mu) and path.stat().st_size > 1000


def test_evaluation_without_inception_weights_records_and_prints_both_families(tiny_suite, tiny_data, tmp_path,
                                                                               monkeypatch, capsys):
    monkeypatch.setitem(suites.SUITES, tiny_suite.name, tiny_suite)
    monkeypatch.setattr(cli.stdout, "width", 200)
    assert main(["evaluate", str(GENERATORS / "uniform_noise.py"), "--suite", tiny_suite.name, "--seeds", "1",
                 "--samples", "200", "--data-dir", str(tiny_data), "--out", str(tmp_path / "results"),
                 "--inception"]) == 0
    out, err = capsys.readouterr()
    record = read_record(tmp_path / "results" / tiny_suite.name / "uniform_noise.json")
    teacher, inception = record.metrics["teacher"], record.metrics["inception"]
    assert teacher["n"] == 200 and teacher["n_pairwise"] == 200 and teacher["k"] == 5
    assert teacher["network_sha256"] == tiny_suite.teacher.sha256 and teacher["reference_split"] == "train"
    assert set(teacher) >= {"is", "is_std", "fid", "kid", "kid_std", "precision", "recall", "density", "coverage",
                            "class_entropy", "conditional_entropy", "class_shares", "mean_confidence"}
    assert list(inception) == ["unavailable"] and "--inception-weights" in inception["unavailable"]
    assert {"metrics.teacher.features", "metrics.teacher.fid"} <= set(record.timings_s)
    assert "teacher (N 200; 200)" in out
    rows = {line.split()[1]: line for line in out.splitlines() if len(line.split()) > 2}
    assert f"{teacher['fid']:.4g}" in rows["FID"] and f"{teacher['coverage']:.4g}" in rows["coverage"]
    assert "inception metrics unavailable: pytorch-fid's Inception weights are not at" in err


def test_cli_fails_in_one_line_on_missing_explicit_weights(tmp_path, tiny_data, capsys):
    assert main(["evaluate", str(GENERATORS / "uniform_noise.py"), "--suite", "fashion-mnist", "--out",
                 str(tmp_path), "--data-dir", str(tiny_data), "--inception-weights", str(tmp_path / "none.pth")]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]  # after the plan line
    assert error.startswith("error: Inception weights") and "none.pth not found" in error


def test_a_download_that_misses_the_pin_leaves_nothing_behind(tmp_path, monkeypatch):
    from csbench import features

    fake = tmp_path / "not-inception.pth"
    fake.write_bytes(b"not the weights")
    monkeypatch.setattr(features, "INCEPTION_URL", fake.as_uri())
    target = tmp_path / "hub" / features.INCEPTION_FILE
    with pytest.raises(features.InceptionUnavailable, match="is not pytorch-fid's Inception weights"):
        features.download_inception(target)
    assert not target.exists() and list(target.parent.iterdir()) == []
