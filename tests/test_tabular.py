"""Tabular suites: data loading, generator contracts, GAN-MC `compress`, boards. Tiny fixtures only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from csbench.cli import main
from csbench.errors import DatasetMissing, GeneratorError
from csbench.generators import SampleContext, check_samples, load_generator_file
from csbench.results import read_record
from csbench.sandbox_worker import landlock_abi
from csbench.tabular import data as tabular_data
from csbench.tabular.compress import compress, prepare
from csbench.tabular.data import Split, load_table, openml_matrix, standardise
from csbench.tabular.forest import fit_student, hard_targets, metric, prefix_forest, staged_predictions
from csbench.tabular.report import render_board, verdict
from csbench.tabular.suites import TABULAR_SUITES, ForestTeacher, TabularSuite
from csbench.tasks import task_of
from csbench.validate import first_problem, sample_checks

ROOT = Path(__file__).resolve().parents[1]
TINY_PROTOCOL_SAMPLES = 600  # conftest's tiny image protocol
TABULAR_GENERATORS = sorted((ROOT / "generators" / "tabular").glob("*.py"))
NOISE = ROOT / "generators" / "uniform_noise.py"
REAL = ROOT / "generators" / "tabular" / "real_rows.py"
HOSTILE = ROOT / "tests" / "hostile"
TINY = TabularSuite("magic", "magic", 4, 2, "auc", "tiny fixture in magic.npz format",
                    teacher=ForestTeacher(trees=25, seed=0), student_sizes=(1, 4), ratio=1.0, seeds=(0, 1))


def blobs(n: int, width: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian classes around separated centres: a learnable, standardised-looking table."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(0, 1.5, (classes, width))
    labels = np.arange(n) % classes
    return centres[labels] + rng.normal(size=(n, width)), labels


def quadrants(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 where x0 * x1 > 0: rows from only part of the space cannot teach the whole boundary."""
    x = np.random.default_rng(seed).normal(size=(n, 4))
    return x, (x[:, 0] * x[:, 1] > 0).astype(int)


@pytest.fixture
def magic_dir(tmp_path: Path) -> Path:
    """A tiny magic.npz in exactly the shared file's format: float64 arrays, labels 0./1."""
    (x_tr, y_tr), (x_te, y_te) = quadrants(400, 0), quadrants(200, 1)
    x_tr, x_te = standardise(x_tr, x_te)
    folder = tmp_path / "data"
    folder.mkdir()
    np.savez(folder / "magic.npz", X_train=x_tr.astype(float), y_train=y_tr.astype(float),
             X_test=x_te.astype(float), y_test=y_te.astype(float))
    return folder


@pytest.fixture
def offline(monkeypatch):
    def refuse(data_id):
        raise OSError("network is unreachable")

    monkeypatch.setattr(tabular_data, "fetch_openml_frame", refuse)


def context(classes: int = 3, width: int = 5, n: int = 90) -> SampleContext:
    rows, labels = blobs(n, width, classes, 0)
    return SampleContext(suite="wine", shape=(width,), num_classes=classes, directory=ROOT / "generators",
                         train=Split(rows.astype(np.float32), labels.astype(np.int64)))


@pytest.fixture
def fast_gan(monkeypatch):
    """Fewer GAN steps: the contract, not the quality, is under test."""
    def load(path):
        gen = load_generator_file(path)
        if "STEPS" in gen.sample.__globals__:
            monkeypatch.setitem(gen.sample.__globals__, "STEPS", 10)
        return gen

    return load


@pytest.mark.parametrize("path", TABULAR_GENERATORS + [NOISE], ids=lambda p: p.stem)
def test_generator_contract(path, fast_gan):
    gen = fast_gan(path)
    ctx = context()
    assert gen.supports("magic") and gen.supports("digits")
    out = gen.sample(61, 3, ctx)
    rows = check_samples(out, 61, ctx.shape, value_range=None)
    assert rows.shape == (61, 5) and torch.isfinite(rows).all()
    if isinstance(out, tuple) and path != REAL:
        counts = np.bincount(np.asarray(out[1]), minlength=3)
        assert counts.max() - counts.min() <= 1 and counts.sum() == 61  # class-balanced
    again = check_samples(gen.sample(61, 3, ctx), 61, ctx.shape, value_range=None)
    other = check_samples(gen.sample(61, 4, ctx), 61, ctx.shape, value_range=None)
    assert torch.equal(rows, again) and not torch.equal(rows, other)


def test_generators_known_answers(monkeypatch):
    ctx = context(classes=2, width=3, n=40)
    train = ctx.train
    real = np.asarray(load_generator_file(REAL).sample(40, 0, ctx)[0])
    assert sorted(map(tuple, real)) == sorted(map(tuple, train.rows))  # a permutation of the training rows
    munge = load_generator_file(ROOT / "generators" / "tabular" / "munge.py")
    monkeypatch.setitem(munge.sample.__globals__, "SWAP_PROBABILITY", 0.0)
    rows, labels = munge.sample(100, 0, ctx)
    for row, c in zip(rows, labels):  # with p = 0 MUNGE copies real rows of the right class
        assert any(np.array_equal(row, r) for r in train.rows[train.labels == c])
    rows, labels = load_generator_file(ROOT / "generators" / "tabular" / "gaussian_copula.py").sample(400, 0, ctx)
    for c in range(2):  # empirical marginals: never outside a class's observed range
        x = train.rows[train.labels == c]
        assert (rows[labels == c] >= x.min(0) - 1e-6).all() and (rows[labels == c] <= x.max(0) + 1e-6).all()
    rows, labels = load_generator_file(ROOT / "generators" / "tabular" / "per_class_gaussian.py").sample(20000, 0, ctx)
    for c in range(2):
        np.testing.assert_allclose(rows[labels == c].mean(0), train.rows[train.labels == c].mean(0), atol=0.05)


def test_check_samples_range_only_for_images():
    rows = np.array([[-3.0, 4.0]], dtype=np.float32)
    assert check_samples(rows, 1, (2,), value_range=None).tolist() == [[-3.0, 4.0]]
    with pytest.raises(GeneratorError, match=r"expected \[0, 1\]"):
        check_samples(rows, 1, (2,))


def test_validate_checks_a_table_without_a_range(tmp_path, offline):
    wine = task_of("wine").target("wine", None)
    assert (wine.name, wine.shape, wine.num_classes, wine.value_range, wine.per_seed) == ("wine", (13,), 3, None, 1116)
    assert len(wine.train()) == 124  # 9 generated rows per training row
    rows = np.array([[-3.0, 4.0]], dtype=np.float32)
    checks = sample_checks(rows, 1, (2,), wine.value_range)
    assert [c.name for c in checks] == ["requested count", "shape", "dtype", "finite values"]
    assert not first_problem(checks)
    assert first_problem(sample_checks(rows, 1, (2,))).detail == "[-3, 4], expected within [0, 1]"
    assert first_problem(sample_checks(rows.astype(np.int64), 1, (2,), None)).detail == "int64, expected floats"
    with pytest.raises(DatasetMissing, match="magic.npz"):
        task_of("magic").target("magic", tmp_path)


def test_students_of_every_size_come_from_one_forest():
    rows, labels = blobs(200, 3, 2, 0)
    big, small = fit_student(rows, labels.astype(float), 8, seed=5), fit_student(rows, labels.astype(float), 3, seed=5)
    np.testing.assert_array_equal(staged_predictions(big, rows, (3,))[3], small.predict(rows))
    np.testing.assert_array_equal(prefix_forest(big, 3).predict(rows), small.predict(rows))


def test_metrics_and_intervals_known_answers():
    assert metric("auc", np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    assert metric("accuracy", np.array([0, 2]), np.array([[0.6, 0.3, 0.1], [0.5, 0.1, 0.4]])) == 0.5
    np.testing.assert_array_equal(hard_targets(np.array([1, 0]), 2), [1.0, 0.0])
    np.testing.assert_array_equal(hard_targets(np.array([2]), 3), [[0.0, 0.0, 1.0]])
    assert verdict([0.02, 0.03, 0.025]) == "helps" and verdict([-0.02, -0.03, -0.025]) == "hurts"
    assert verdict([-0.01, 0.02, 0.0]) == "no clear difference"


def test_magic_npz_and_missing_data(tmp_path, magic_dir, offline):
    train, test = load_table("magic", magic_dir)
    assert train.rows.shape == (400, 4) and train.rows.dtype == np.float32 and set(test.labels) == {0, 1}
    with pytest.raises(DatasetMissing) as err:
        load_table("magic", tmp_path / "empty")
    message = str(err.value)
    assert "\n" not in message and "magic.npz" in message and "OpenML" in message
    with pytest.raises(DatasetMissing, match="offline"):
        load_table("adult", tmp_path)
    np.savez(tmp_path / "magic.npz", X_train=np.zeros((3, 2)), y_train=np.zeros(3))
    with pytest.raises(DatasetMissing, match="lacks array"):
        load_table("magic", tmp_path)


def test_sklearn_tables_split_and_standardised():
    train, test = load_table("wine")
    assert train.rows.shape[1] == TABULAR_SUITES["wine"].n_features and len(train) + len(test) == 178
    np.testing.assert_allclose(train.rows.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(train.rows.std(0), 1, atol=1e-4)
    assert np.array_equal(load_table("wine")[1].rows, test.rows)  # the split is fixed


def test_openml_matrix_one_hot_and_labels():
    import pandas as pd

    frame = pd.DataFrame({"age": [30.0, np.nan, 50.0], "job": pd.Categorical(["a", "b", "a"])})
    x, y = openml_matrix(frame, pd.Series([">50K", "<=50K", ">50K"]))
    np.testing.assert_array_equal(x, [[30, 1, 0], [40, 0, 1], [50, 1, 0]])
    np.testing.assert_array_equal(y, [1, 0, 1])


def test_compress_real_rows_near_one_noise_lower_and_deterministic(tmp_path, magic_dir):
    prep = prepare(TINY, magic_dir)
    assert prep.teacher_score > 0.9
    real = compress(prep, REAL, seeds=[0], out_dir=tmp_path / "out", students_dir=tmp_path / "students")
    noise = compress(prep, NOISE, seeds=[0], out_dir=None)  # one seed each: every seed is a child process (~3 s)
    assert abs(real.cs_by_size["4"]["cs"] - 1) < 0.05
    assert real.sandbox["process"] and real.sandbox["environment"] == "scrubbed"
    assert noise.cs_by_size["4"]["cs"] < real.cs_by_size["4"]["cs"] - 0.05
    again = compress(prepare(TINY, magic_dir), REAL, seeds=[0], out_dir=None)
    assert again.scores == real.scores
    assert json.loads((tmp_path / "out" / "magic" / "tabular_real_data.json").read_text())["scores"] == real.scores
    import joblib

    student = joblib.load(tmp_path / "students" / "tabular_real_data" / "seed0-trees4.joblib")
    assert student.n_estimators == 4 and len(student.estimators_) == 4
    board = render_board(TINY, [real, noise])
    assert f"{prep.teacher_score:.4f}" in board and "real + uniform_noise rows" in board
    assert "| true labels (no teacher) |" in board and "## Summary" in board


@pytest.mark.parametrize("name, message", [
    ("returns_nan", r"^generator returns_nan returned NaN or infinite values$"),
    pytest.param("reads_table", r"^generator reads_table tried to open .*/data/magic\.npz, which the sandbox blocks",
                 marks=pytest.mark.skipif(landlock_abi() < 1, reason="no Landlock here: files are not isolated")),
])
def test_compress_stops_a_hostile_generator_in_the_sandbox(name, message, tmp_path, magic_dir):
    folder = tmp_path / "generator"
    folder.mkdir()
    shutil.copy(HOSTILE / f"{name}.py", folder)
    (folder / "target.txt").write_text(str(magic_dir / "magic.npz"))
    with pytest.raises(GeneratorError, match=message) as error:
        compress(prepare(TINY, magic_dir), folder / f"{name}.py", seeds=[0], out_dir=tmp_path / "out")
    assert "\n" not in str(error.value) and not (tmp_path / "out").exists()


def test_cli_compress_and_board(tmp_path, magic_dir, monkeypatch, capsys, offline):
    monkeypatch.setitem(TABULAR_SUITES, "magic", TINY)
    out = tmp_path / "results"
    assert main(["compress", "--suite", "magic", "--generator", str(REAL), "--seeds", "1", "--out", str(out),
                 "--data-dir", str(magic_dir), "--no-students"]) == 0
    assert not (out / "magic" / "students").exists()
    boards = tmp_path / "boards"
    assert main(["leaderboard", "render", "--suite", "magic", "--results", str(out), "--out", str(boards)]) == 0
    assert "tabular_real_data rows only" in (tmp_path / "boards" / "magic.md").read_text()
    assert main(["compress", "--suite", "magic", "--generator", str(REAL), "--data-dir", str(tmp_path / "none")]) == 2
    assert main(["compress", "--suite", "magic", "--generator", str(REAL), "--protocol", "paper"]) == 2
    assert main(["leaderboard", "render", "--suite", "wine", "--results", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "no compress records for suite wine" in err and "magic.npz" in err and "image suites only" in err


def test_compress_image_suite_mixes_real_and_generated(tmp_path, tiny_suite, tiny_data, monkeypatch):
    from csbench.compression import build_student
    from csbench.suites import SUITES

    monkeypatch.setitem(SUITES, tiny_suite.name, tiny_suite)
    out = tmp_path / "results"
    assert main(["compress", "--suite", tiny_suite.name, "--generator", str(ROOT / "generators" / "real_data.py"),
                 "--ratio", "1", "--seeds", "1", "--out", str(out), "--data-dir", str(tiny_data)]) == 0
    record = read_record(out / tiny_suite.name / "compress" / "real_data.json")
    assert record.real_rows == TINY_PROTOCOL_SAMPLES and record.generated_rows == TINY_PROTOCOL_SAMPLES
    real, mixed = record.scores["real_only"], record.scores["real_plus_generated"]
    assert len(real) == len(mixed) == 1 and min(real + mixed) > 0.3  # ten classes: chance is 0.1
    student = build_student(tiny_suite)
    student.load_state_dict(torch.load(record.student_saved, weights_only=True))
