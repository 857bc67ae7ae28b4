import dataclasses

import pytest
import torch
from conftest import GENERATORS

from csbench.budget import (
    Mix,
    budget_protocol,
    budget_record_path,
    budget_seed_path,
    budgets_for,
    evaluate_budget,
    real_subset,
    steps,
    steps_per_pass,
    subset_reference,
)
from csbench.errors import CsbenchError
from csbench.evaluate import RunOptions, evaluate, reference_score, suite_inputs, suite_splits
from csbench.results import BudgetRecord, read_record
from csbench.suites import GRADED_PROTOCOL, PAPER_PROTOCOL


@pytest.mark.parametrize("protocol", [GRADED_PROTOCOL, PAPER_PROTOCOL])
def test_every_budget_trains_the_protocols_steps_within_half_a_pass(protocol):
    full = steps(protocol)
    assert full == {"graded": 782, "paper": 195}[protocol.name]
    assert budget_protocol(protocol, protocol.samples) == protocol
    for n in (1_000, 5_000, 10_000, 100_000):
        scaled = budget_protocol(protocol, n)
        assert scaled.samples == n and scaled.lr == protocol.lr and scaled.batch_size == protocol.batch_size
        assert abs(steps(scaled) - full) <= steps_per_pass(n, protocol) / 2
    assert budget_protocol(GRADED_PROTOCOL, 1_000).epochs == 98  # 8 batches a pass: 784 steps
    assert steps(budget_protocol(PAPER_PROTOCOL, 1_000)) == 195  # 3 full batches a pass, 65 passes


def test_a_budget_below_one_batch_is_refused_in_one_line():
    with pytest.raises(CsbenchError, match="less than one batch of 256"):
        budget_protocol(PAPER_PROTOCOL, 100)


def test_budgets_below_the_protocol_and_the_full_one_only_for_gan_mc():
    assert budgets_for(GRADED_PROTOCOL, Mix.GENERATED) == (1_000, 5_000, 10_000)
    assert budgets_for(GRADED_PROTOCOL, Mix.REAL_PLUS_GENERATED) == (1_000, 5_000, 10_000, 50_000)
    preview = dataclasses.replace(GRADED_PROTOCOL, samples=10_000)
    assert budgets_for(preview, Mix.GENERATED) == (1_000, 5_000)


def test_real_subsets_are_nested_seeded_and_the_whole_pool_at_the_full_budget():
    small, large = real_subset(GRADED_PROTOCOL, 1_000, 0), real_subset(GRADED_PROTOCOL, 5_000, 0)
    assert len(small) == 1_000 and bool((small[1:] > small[:-1]).all())  # in the pool's order, no repeats
    assert set(small.tolist()) <= set(large.tolist())
    assert not torch.equal(small, real_subset(GRADED_PROTOCOL, 1_000, 1))
    assert torch.equal(real_subset(GRADED_PROTOCOL, 50_000, 2), torch.arange(50_000))


@pytest.fixture
def budget_run(tiny_suite, tiny_data, tmp_path):
    options = RunOptions(data_root=tiny_data)

    def run(name, mix, budgets=(100, 300, 600), seeds=(0, 1, 2)):
        return evaluate_budget(GENERATORS / f"{name}.py", tiny_suite, tiny_suite.protocol(), mix, seeds=seeds,
                               budgets=budgets, out_dir=tmp_path / "results", options=options)

    return run


def test_cs_by_budget_real_data_on_the_reference_line_noise_below(budget_run, tiny_suite, tmp_path):
    real = budget_run("real_data", Mix.GENERATED)
    noise = budget_run("uniform_noise", Mix.GENERATED)
    assert real.budgets == [100, 300] and real.generated is None and real.seeds == [0, 1, 2]
    assert real.steps == [10, 10]  # 600 samples in batches of 64: 10 steps; 100 samples: 2 a pass, 5 passes
    assert real.reference_scores == noise.reference_scores  # one reference per seed and budget, shared
    for i in range(2):
        real_cs = sum(real.scores[i]) / sum(real.reference_scores[i])
        noise_cs = sum(noise.scores[i]) / sum(noise.reference_scores[i])
        assert 0.85 < real_cs < 1.15 and noise_cs < real_cs - 0.2
    path = budget_record_path(tmp_path / "results", tiny_suite, "real_data", "tiny", Mix.GENERATED)
    assert path == tmp_path / "results" / tiny_suite.name / "budget" / "real_data.json"
    assert read_record(path) == real and isinstance(real, BudgetRecord)


def test_gan_mc_pairs_real_alone_with_real_plus_generated_at_each_budget(budget_run, tiny_suite, tiny_data, tmp_path):
    record = budget_run("real_data", Mix.REAL_PLUS_GENERATED, budgets=(300, 1_000), seeds=(0,))
    assert record.budgets == [300, 600] and record.generated == 600 and record.mix == "real+generated"
    assert record.steps == [15, 19]  # 900 and 1,200 samples: one pass each, at least the protocol's 10 steps
    # the real-only side at the full budget is the CS reference itself
    teacher, train, test = suite_inputs(tiny_suite, RunOptions(data_root=tiny_data))
    protocol = tiny_suite.protocol()
    assert record.reference_scores[1] == [reference_score(tiny_suite, protocol, teacher, train, test, 0).accuracy]
    assert record.reference_scores[0] == [subset_reference(tiny_suite, protocol, 300, teacher, train, test,
                                                           0).accuracy]
    cs = evaluate(GENERATORS / "real_data.py", tiny_suite.name, suite=tiny_suite, seeds=[0],
                  options=RunOptions(data_root=tiny_data), out_dir=tmp_path / "cs")
    assert cs.reference_scores == record.reference_scores[1]


def test_a_stopped_budget_run_resumes_at_the_seed(tiny_suite, tiny_data, tmp_path, monkeypatch):
    import csbench.budget

    options = RunOptions(data_root=tiny_data)
    data = tuple(split.identity for split in suite_splits(tiny_suite, options))
    kw = dict(seeds=(0, 1), budgets=(100, 600), out_dir=tmp_path / "results", options=options, data=data)
    first = evaluate_budget(GENERATORS / "uniform_noise.py", tiny_suite, tiny_suite.protocol(), Mix.GENERATED, **kw)
    budget_seed_path(tmp_path / "results", tiny_suite, "uniform_noise", "tiny", Mix.GENERATED, 1).unlink()
    ran, original = [], csbench.budget.evaluate_budget_unit
    monkeypatch.setattr(csbench.budget, "evaluate_budget_unit", lambda unit: ran.append(unit.seed) or original(unit))
    again = evaluate_budget(GENERATORS / "uniform_noise.py", tiny_suite, tiny_suite.protocol(), Mix.GENERATED, **kw)
    assert ran == [1] and again.scores == first.scores and again.reference_scores == first.reference_scores


def test_no_budget_below_the_protocol_is_one_line(budget_run):
    with pytest.raises(CsbenchError, match="no budget below the protocol's 600 samples"):
        budget_run("real_data", Mix.GENERATED, budgets=(1_000,))


def test_evaluate_all_schedules_budget_and_gan_mc_units_and_skips_current_records(tiny_suite, tiny_data, tmp_path):
    from csbench.sweep import evaluate_all

    folder = tmp_path / "gens"
    folder.mkdir()
    (folder / "uniform_noise.py").write_text((GENERATORS / "uniform_noise.py").read_text())
    kw = dict(out_dir=tmp_path / "results", seeds=[0], suite=tiny_suite, options=RunOptions(data_root=tiny_data),
              mixes=[Mix.GENERATED, Mix.REAL_PLUS_GENERATED], budgets=(100,))
    first = [(o.kind, o.status) for o in evaluate_all(tiny_suite.name, folder, **kw)]
    assert first == [("cs", "evaluated"), ("budget", "evaluated"), ("gan-mc", "evaluated")]
    gan_mc = read_record(tmp_path / "results" / tiny_suite.name / "gan-mc" / "uniform_noise.json")
    assert gan_mc.budgets == [100, 600] and gan_mc.seeds == [0]
    again = [(o.kind, o.status) for o in evaluate_all(tiny_suite.name, folder, **kw)]
    assert again == [("cs", "current"), ("budget", "current"), ("gan-mc", "current")]
    assert [o.kind for o in evaluate_all(tiny_suite.name, folder, **{**kw, "budgets": (1_000,)})] == ["cs", "gan-mc"]
