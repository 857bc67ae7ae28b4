import math

import pytest
import torch
from test_leaderboard import REFERENCE, record

from csbench import __version__
from csbench.budget import Mix, budget_record_path
from csbench.budget_board import Worth, curve_worth, curves, worth, worth_cell
from csbench.grids import write_grid
from csbench.leaderboard import render
from csbench.results import BudgetRecord, record_path, write_record
from csbench.suites import get_suite

BUDGETS = [1_000, 5_000, 10_000]
SUBSETS = [[0.50, 0.49, 0.51], [0.66, 0.65, 0.67], [0.70, 0.69, 0.71]]  # real subsets' students, per seed


def budget_record(cs, scores, mix="generated", budgets=BUDGETS, references=SUBSETS, generated=None):
    return BudgetRecord.from_json({
        "generator": cs.generator, "sandbox": {}, "suite": cs.suite, "teacher": cs.teacher, "student": "lenet",
        "protocol": cs.protocol, "mix": mix, "budgets": budgets, "generated": generated, "steps": [195] * len(budgets),
        "seeds": cs.seeds, "scores": scores, "reference_scores": references, "timings_s": {},
        "csbench_version": __version__, "device": "cpu", "date": "2026-12-07T00:00:00Z"})


def test_worth_reads_the_real_curve_on_a_log_scale_and_says_when_it_is_beyond_it():
    budgets, reference = [1_000, 10_000, 100_000], [0.5, 0.7, 0.8]
    assert worth(0.6, budgets, reference) == (pytest.approx(10 ** 3.5), 0)
    assert worth(0.8, budgets, reference) == (pytest.approx(100_000), 0)
    assert worth(0.4, budgets, reference) == (1_000, -1) and worth(0.9, budgets, reference) == (100_000, 1)
    assert worth(0.55, [1_000, 10_000, 100_000], [0.5, 0.6, 0.58]) == (pytest.approx(10 ** 3.5), 0)
    assert worth_cell(Worth(3_162.3, 0, 2_000.0, 5_123.0, (1_000, 50_000))) == "3,200 (2,000–5,100)"
    assert worth_cell(Worth(50_000.0, 1, 40_000.0, 60_000.0, (1_000, 50_000))) == "> 50,000"
    assert worth_cell(Worth(1_000.0, -1, math.nan, math.nan, (1_000, 50_000))) == "< 1,000"
    assert worth_cell(Worth(20_000.0, 0, 9_000.0, 70_000.0, (1_000, 50_000))) == "20,000 (9,000–> 50,000)"


def test_real_data_sits_on_the_reference_line_and_is_worth_its_own_size():
    """Samples that teach exactly as the real subsets do score CS 1 at every budget and are worth the full
    budget: the reference line is the real subsets' own curve."""
    real = record("real_data", REFERENCE, 7.5, 0.7)
    curve, = curves([real], [budget_record(real, SUBSETS)], "paper")
    assert curve.budgets == (1_000, 5_000, 10_000, 50_000)
    for i in range(4):
        assert curve.cs(i)[0] == pytest.approx(1.0) and curve.cs(i)[1] == pytest.approx(0.0)
    w = curve_worth(curve)
    assert (w.value, w.censored) == (pytest.approx(50_000), 0) and worth_cell(w).startswith("50,000 (50,000–50,000)")


def test_a_generator_is_worth_the_subset_its_student_matches():
    gan = record("acgan", [0.66, 0.65, 0.67], 5.0, 0.4)  # its 50,000 samples teach as much as 5,000 real images
    curve, = curves([gan], [budget_record(gan, [[0.3] * 3, [0.5] * 3, [0.6] * 3])], "paper")
    w = curve_worth(curve)
    assert w.value == pytest.approx(5_000) and w.low == pytest.approx(5_000) and worth_cell(w).startswith("5,000")
    assert curve.cs(0)[0] == pytest.approx(0.3 / 0.5)


def test_a_budget_record_of_another_generator_file_draws_no_curve():
    gan = record("acgan", [0.66, 0.65, 0.67], 5.0, 0.4)
    other = budget_record(record("acgan", [0.6] * 3, 5.0, 0.4, protocol="graded"), SUBSETS)
    assert curves([gan], [other], "paper") == []


@pytest.fixture
def results(tmp_path):
    suite = get_suite("fashion-mnist")
    out = tmp_path / "results"
    for name, raw, scores in (("real_data", REFERENCE, SUBSETS), ("acgan", [0.66, 0.65, 0.67], [[0.3] * 3] * 3)):
        cs = record(name, raw, 5.0, 0.4)
        write_record(record_path(out, suite.name, name, "paper", suite.default_protocol), cs)
        write_record(budget_record_path(out, suite, name, "paper", Mix.GENERATED), budget_record(cs, scores))
        write_record(budget_record_path(out, suite, name, "paper", Mix.REAL_PLUS_GENERATED),
                     budget_record(cs, [[s + 0.02 for s in seeds] for seeds in [*SUBSETS, REFERENCE]],
                                   mix="real+generated", budgets=[*BUDGETS, 50_000], references=[*SUBSETS, REFERENCE],
                                   generated=50_000))
    write_grid(out / suite.name / "grids" / "acgan.png", torch.rand(20, 1, 28, 28), torch.arange(20) % 10, "ab", "cd")
    return out


def test_the_board_shows_worth_a_budget_plot_gan_mc_and_links_the_grids(results, tmp_path):
    board = render(get_suite("fashion-mnist"), results, tmp_path / "boards").read_text()
    assert "### What the samples are worth in real images (`paper`)" in board
    assert "| `real_data` | 1.000 ± 0.000 | 1.000 ± 0.000 | 1.000 ± 0.000 | 1.000 ± 0.000 | 50,000 (" in board
    assert "| `acgan` | 0.600 ± " in board and "| 0.880 ± " in board
    assert "![CS and accuracy by budget](fashion-mnist-budget-paper.png)" in board
    assert (tmp_path / "boards" / "fashion-mnist-budget-paper.png").stat().st_size > 10_000
    assert "### GAN-assisted compression (`paper`)" in board and "50,000 generated samples" in board
    assert "| real only (accuracy) | 0.5000 | 0.6600 | 0.7000 | 0.7500 |" in board
    assert "| + `acgan` | +0.0200 ± 0.0000 | +0.0200 ± 0.0000 |" in board
    assert "[`acgan`](../results/fashion-mnist/grids/acgan.png)" in board
    assert "[`real_data`]" not in board  # no grid, no link
    assert "![Samples by class](fashion-mnist-samples.png)" in board
    assert (tmp_path / "boards" / "fashion-mnist-samples.png").is_file()
