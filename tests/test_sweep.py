import json
import shutil

import pytest
from conftest import GENERATORS, tiny_fashion_mnist_digests

from csbench.cache import home
from csbench.errors import ChecksumMismatch
from csbench.evaluate import RunOptions
from csbench.results import read_record
from csbench.sweep import evaluate_all, generator_files


def make_generator_dir(tmp_path):
    folder = tmp_path / "gens"
    folder.mkdir()
    for name in ("real_data", "uniform_noise"):
        shutil.copy(GENERATORS / f"{name}.py", folder)
    (folder / "broken.py").write_text("import csbench\n@csbench.generator('broken', suites=['*'])\n"
                                      "def sample(n, seed, ctx):\n    raise RuntimeError('out of ideas')\n")
    (folder / "elsewhere.py").write_text("import csbench\n@csbench.generator('elsewhere', suites=['cifar10'])\n"
                                         "def sample(n, seed, ctx):\n    return None\n")
    (folder / "_helpers.py").write_text("raise SystemExit('not a generator')\n")
    return folder


def test_generator_files_skip_private_helpers(tmp_path):
    folder = make_generator_dir(tmp_path)
    assert [p.name for p in generator_files(folder)] == ["broken.py", "elsewhere.py", "real_data.py",
                                                         "uniform_noise.py"]


def test_sweep_survives_failures_and_skips_current_records(tiny_suite, tiny_data, tmp_path):
    folder = make_generator_dir(tmp_path)
    kw = dict(out_dir=tmp_path / "results", seeds=[0], suite=tiny_suite, options=RunOptions(data_root=tiny_data))
    first = {o.file.name: o for o in evaluate_all(tiny_suite.name, folder, **kw)}
    assert {n: o.status for n, o in first.items()} == {
        "broken.py": "failed", "elsewhere.py": "unsupported", "real_data.py": "evaluated",
        "uniform_noise.py": "evaluated"}
    assert "raised while sampling: RuntimeError: out of ideas" in first["broken.py"].detail
    records = sorted(p.name for p in (tmp_path / "results" / tiny_suite.name).iterdir())
    assert records == ["grids", "real_data.json", "seeds", "uniform_noise.json"]
    assert sorted(p.name for p in (tmp_path / "results" / tiny_suite.name / "seeds").iterdir()) == [
        "real_data--seed0.json", "uniform_noise--seed0.json"]  # a stopped sweep resumes at the seed
    assert sorted(p.name for p in (tmp_path / "results" / tiny_suite.name / "grids").iterdir()) == [
        "real_data.png", "uniform_noise.png"]

    second = {o.file.name: o.status for o in evaluate_all(tiny_suite.name, folder, **kw)}
    assert second["real_data.py"] == second["uniform_noise.py"] == "current"

    (folder / "uniform_noise.py").write_text((folder / "uniform_noise.py").read_text() + "\n# retrained\n")
    third = {o.file.name: o.status for o in evaluate_all(tiny_suite.name, folder, **kw)}
    assert third["uniform_noise.py"] == "evaluated" and third["real_data.py"] == "current"
    without_metrics = tmp_path / "results" / tiny_suite.name / "real_data.json"
    without_metrics.write_text(json.dumps({**json.loads(without_metrics.read_text()), "metrics": None}))
    redone = {o.file.name: o.status for o in evaluate_all(tiny_suite.name, folder, **kw)}
    assert redone["real_data.py"] == "evaluated" and json.loads(without_metrics.read_text())["metrics"]
    fourth = {o.file.name: o.status for o in evaluate_all(tiny_suite.name, folder, **{**kw, "seeds": [1]})}
    assert fourth["real_data.py"] == "evaluated"


def test_another_copy_of_the_data_is_refused_then_measured_apart(tiny_suite, tiny_data, tmp_path):
    """A copy that fails the official digests is refused in one line; with the option its records name it, a record
    on the official data is not current for it, and nothing cached for the official data is read for it."""
    folder = make_generator_dir(tmp_path)
    kw = dict(out_dir=tmp_path / "results", seeds=[0], suite=tiny_suite, only=["uniform_noise"])
    evaluate_all(tiny_suite.name, folder, **kw, options=RunOptions(data_root=tiny_data))
    official = read_record(tmp_path / "results" / tiny_suite.name / "uniform_noise.json")
    assert official.data["verified"] and official.data["train"] == tiny_fashion_mnist_digests()["train"]
    cached = {p.name for p in (home() / "reference" / tiny_suite.name).iterdir()}

    copy = tmp_path / "copy"
    shutil.copytree(tiny_data, copy)
    images = copy / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ChecksumMismatch, match="--unverified-data") as refusal:
        evaluate_all(tiny_suite.name, folder, **kw, options=RunOptions(data_root=copy))
    assert "\n" not in str(refusal.value)
    replaced = evaluate_all(tiny_suite.name, folder, **kw, options=RunOptions(data_root=copy, unverified_data=True))
    assert replaced[0].status == "failed" and "measured on other data" in replaced[0].detail
    assert read_record(tmp_path / "results" / tiny_suite.name / "uniform_noise.json") == official

    apart = {**kw, "out_dir": tmp_path / "copy-results"}
    [outcome] = evaluate_all(tiny_suite.name, folder, **apart, options=RunOptions(data_root=copy, unverified_data=True))
    assert outcome.status == "evaluated" and "on UNVERIFIED data" in outcome.detail
    record = read_record(tmp_path / "copy-results" / tiny_suite.name / "uniform_noise.json")
    assert not record.data["verified"] and record.data["train"] == official.data["train"]
    assert record.data["test"] != official.data["test"]
    added = {p.name for p in (home() / "reference" / tiny_suite.name).iterdir()} - cached
    kinds = {name.split("-data")[0].split("-")[0] for name in added if "-data" in name}
    assert {"cs", "teacher", "copying"} <= kinds, added  # the reference student, statistics, copy references
    assert not any(name.startswith("cs-") and "-data" not in name for name in added)
