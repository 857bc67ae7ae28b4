from pathlib import Path

import pytest
import torch
from conftest import GENERATORS, tiny_fashion_mnist_digests

from csbench.errors import ChecksumMismatch, CsbenchError, GeneratorError
from csbench.evaluate import RunOptions, evaluate
from csbench.results import read_record, record_path
from csbench.teacher import load_teacher


def run(tiny_suite, tiny_data, tmp_path, name, **kw):
    return evaluate(GENERATORS / f"{name}.py", tiny_suite.name, suite=tiny_suite,
                    options=RunOptions(data_root=tiny_data), out_dir=tmp_path / "results", **kw)


def test_real_data_beats_noise_and_scores_about_one(tiny_suite, tiny_data, tmp_path):
    real = run(tiny_suite, tiny_data, tmp_path, "real_data")
    noise = run(tiny_suite, tiny_data, tmp_path, "uniform_noise")
    assert real.cs > noise.cs + 0.2
    assert 0.8 < real.cs < 1.2
    assert real.reference_scores == noise.reference_scores


def test_same_seed_gives_the_same_score(tiny_suite, tiny_data, tmp_path):
    first = run(tiny_suite, tiny_data, tmp_path, "real_data", seeds=[3])
    second = run(tiny_suite, tiny_data, tmp_path / "again", "real_data", seeds=[3])
    assert first.raw_scores == second.raw_scores


def test_record_round_trips_with_its_provenance(tiny_suite, tiny_data, tmp_path):
    record = run(tiny_suite, tiny_data, tmp_path, "uniform_noise", seeds=[0])
    path = record_path(tmp_path / "results", tiny_suite.name, "uniform_noise", "tiny", "tiny")
    assert path == tmp_path / "results" / tiny_suite.name / "uniform_noise.json"
    assert read_record(path) == record
    assert record.teacher["sha256"] == tiny_suite.teacher.sha256
    assert record.protocol["name"] == "tiny" and record.seeds == [0]
    assert len(record.generator["sha256"]) == 64
    assert set(record.timings_s) >= {"sampling", "labelling", "training", "scoring", "total"}
    digests = tiny_fashion_mnist_digests()
    assert {k: record.data[k] for k in ("train", "test", "verified")} == {**digests, "verified": True}
    assert record.data["teacher_accuracy"] == pytest.approx(tiny_suite.teacher.test_accuracy, abs=1 / 300)


def test_a_failing_generator_leaves_the_existing_record_intact(tiny_suite, tiny_data, tmp_path):
    generator_file = tmp_path / "uniform_noise.py"
    generator_file.write_text((GENERATORS / "uniform_noise.py").read_text())
    kw = dict(suite=tiny_suite, options=RunOptions(data_root=tiny_data), out_dir=tmp_path / "results", seeds=[0])
    evaluate(generator_file, tiny_suite.name, **kw)
    path = tmp_path / "results" / tiny_suite.name / "uniform_noise.json"
    grid = path.parent / "grids" / "uniform_noise.png"
    before, grid_before = path.read_bytes(), grid.read_bytes()
    generator_file.write_text("import torch, csbench\n@csbench.generator('uniform_noise', suites=['*'])\n"
                              "def sample(n, seed, ctx):\n    return torch.full((n, *ctx.shape), float('nan'))\n")
    with pytest.raises(GeneratorError, match="NaN"):
        evaluate(generator_file, tiny_suite.name, **kw)
    assert path.read_bytes() == before and grid.read_bytes() == grid_before
    assert sorted(p.name for p in path.parent.iterdir()) == ["grids", "seeds", "uniform_noise.json"]
    assert [p.name for p in grid.parent.iterdir()] == ["uniform_noise.png"]
    assert [p.name for p in (path.parent / "seeds").iterdir()] == ["uniform_noise--seed0.json"]


def test_a_stopped_run_resumes_at_the_seed(tiny_suite, tiny_data, tmp_path, monkeypatch):
    import csbench.evaluate

    first = run(tiny_suite, tiny_data, tmp_path, "uniform_noise", seeds=[0, 1])
    seeds = tmp_path / "results" / tiny_suite.name / "seeds"
    (seeds / "uniform_noise--seed1.json").unlink()  # as if the run had stopped during seed 1
    kept = (seeds / "uniform_noise--seed0.json").read_bytes()
    ran, evaluate_units = [], csbench.evaluate.evaluate_units
    monkeypatch.setattr(csbench.evaluate, "evaluate_units",
                        lambda units, on_record: ran.extend(u.seed for u in units) or evaluate_units(units, on_record))
    again = run(tiny_suite, tiny_data, tmp_path, "uniform_noise", seeds=[0, 1])
    assert ran == [1] and again.raw_scores == first.raw_scores and again.metrics == first.metrics
    assert (seeds / "uniform_noise--seed0.json").read_bytes() == kept
    ran.clear()
    run(tiny_suite, tiny_data, tmp_path, "uniform_noise", seeds=[0, 1], replace=True)
    assert ran == [0, 1]


def test_corrupted_teacher_fails_the_checksum(tiny_suite, tmp_path):
    corrupt = tmp_path / "teacher.pt"
    data = bytearray(open(tiny_suite.teacher.path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatch, match="corrupt or not this suite's teacher"):
        load_teacher(tiny_suite, corrupt)


def test_missing_teacher_says_how_to_make_one(tiny_suite, tmp_path):
    with pytest.raises(CsbenchError, match="csbench teacher train --suite tiny-fashion-mnist"):
        load_teacher(tiny_suite, tmp_path / "absent.pt")


def test_teacher_loads_and_predicts(tiny_suite, tiny_data):
    from csbench.data import load_split
    from csbench.teacher import accuracy, predict_logits

    teacher = load_teacher(tiny_suite)
    test = load_split("fashion-mnist", "test", tiny_data)
    assert accuracy(predict_logits(teacher, test.images), test.labels) == pytest.approx(
        tiny_suite.teacher.test_accuracy)


def test_tiny_teacher_learned_the_fixture(tiny_suite):
    assert tiny_suite.teacher.test_accuracy > 0.9


def test_in_process_api_gives_the_sandboxed_numbers_for_the_same_samples(tiny_suite, tiny_data, tmp_path):
    """Same file, same seed: sandboxed, `--in-process` and `csbench.api.score` agree on every score."""
    import csbench.api
    from csbench.generators import load_generator_file

    sandboxed = run(tiny_suite, tiny_data, tmp_path, "real_five_classes", seeds=[0])
    in_process = run(tiny_suite, tiny_data, tmp_path / "in-process", "real_five_classes", seeds=[0], in_process=True)
    gen = load_generator_file(GENERATORS / "real_five_classes.py")
    api = csbench.api.score(gen.sample, suite="fashion-mnist", protocol="tiny", seeds=[0], device="cpu",
                            options=RunOptions(data_root=tiny_data), suite_record=tiny_suite)
    for record in (in_process, api):
        assert record.raw_scores == sandboxed.raw_scores
        assert record.reference_scores == sandboxed.reference_scores
        assert record.cas == sandboxed.cas and record.per_class == sandboxed.per_class
        assert record.metrics["teacher"]["fid"] == sandboxed.metrics["teacher"]["fid"]
    assert in_process.sandbox == {"in_process": True} and sandboxed.sandbox.get("in_process") is None


def test_records_carry_per_class_scores_and_cas_for_labelled_generators(tiny_suite, tiny_data, tmp_path):
    five = run(tiny_suite, tiny_data, tmp_path, "real_five_classes", seeds=[0])
    raw, ref = five.per_class["raw_scores"][0], five.per_class["reference_scores"][0]
    assert len(raw) == 10 and five.per_class["classes"][0] == "T-shirt/top"
    assert max(raw[5:]) < 0.05 < min(ref[5:])  # the classes it never draws are the ones its student misses
    assert five.cas["label_agreement"][0] > 0.5 and 0 < five.cas["scores"][0] < 0.6
    assert five.copying["flagged"] and five.copying["pixel"]["exact_copy_rate"] == 1.0  # training images
    noise = run(tiny_suite, tiny_data, tmp_path, "uniform_noise", seeds=[0])
    assert noise.cas is None
    assert not noise.copying["flagged"] and noise.copying["teacher"]["copy_rate"] == 0.0


def test_samples_that_are_the_test_split_are_flagged_and_never_ranked(tiny_suite, tiny_data, tmp_path):
    """However a generator got the test split (here shipped in its own folder), its samples are flagged as copies of
    it and refused a rank; real training data is not."""
    import shutil

    import numpy as np

    from csbench.data import load_split
    from csbench.leaderboard import board_frame

    folder = tmp_path / "ships"
    folder.mkdir()
    shutil.copy(Path(__file__).parent / "hostile" / "ships_test_split.py", folder)
    np.save(folder / "test_images.npy", load_split("fashion-mnist", "test", tiny_data).images.numpy())
    leak = evaluate(folder / "ships_test_split.py", tiny_suite.name, suite=tiny_suite, seeds=[0],
                    options=RunOptions(data_root=tiny_data), out_dir=tmp_path / "results")
    real = run(tiny_suite, tiny_data, tmp_path, "real_data", seeds=[0])
    test_split = leak.copying["test_split"]
    assert test_split["flagged"] and test_split["pixel"]["exact_copy_rate"] == 1.0
    assert test_split["teacher"]["copy_rate"] == 1.0 and test_split["pixel"]["ct"] < -3
    assert not leak.copying["flagged"]  # against the training split the test images look like fresh data
    assert real.copying["flagged"] and not real.copying["test_split"]["flagged"]
    assert real.copying["test_split"]["pixel"]["copy_rate"] < 0.05
    frame = board_frame([leak, real], "tiny")
    assert dict(zip(frame.generator, frame.group)) == {"ships_test_split": "test copies", "real_data": "reference"}


def test_module_sampler_scores_a_network_held_in_memory(tiny_suite, tiny_data):
    from torch import nn

    import csbench.api

    class Conditional(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(10, 784)

        def forward(self, z, labels):
            return torch.tanh(self.embed(labels) + 0.1 * z.repeat(1, 49)).view(-1, 1, 28, 28)

    sample = csbench.api.module_sampler(Conditional(), latent_dim=16, num_classes=10)
    images, labels = sample(50, 0, None)
    assert images.shape == (50, 1, 28, 28) and 0 <= images.min() and images.max() <= 1
    assert torch.equal(images, sample(50, 0, None)[0]) and not torch.equal(images, sample(50, 1, None)[0])
    record = csbench.api.score(sample, suite="fashion-mnist", protocol="tiny", seeds=[0], device="cpu",
                               options=RunOptions(data_root=tiny_data), metrics=False, suite_record=tiny_suite)
    assert record.cas is not None and record.generator["name"] == "in-memory"
    preview = csbench.api.preview_protocol(tiny_suite.protocol())
    assert preview.name == "tiny-preview" and preview.seeds == (0,)
