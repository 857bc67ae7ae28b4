"""benchmarks/bench_evaluation.py: its tables and files, and one tiny run of the whole script."""

from __future__ import annotations

import dataclasses
import importlib.util
import json

import pytest
import torch
from conftest import GENERATORS, ROOT

from csbench import suites
from csbench.evaluate import RunOptions, Unit, evaluate_unit
from csbench.sources import SandboxedFile

spec = importlib.util.spec_from_file_location("bench_evaluation", ROOT / "benchmarks" / "bench_evaluation.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_machine_name_is_a_plain_file_name():
    assert bench.machine_name({"cpu": "AMD EPYC 9R14 96-Core Processor", "cores": 2}) == \
        "cpu-2c-amd-epyc-9r14-96-core-processor"
    assert bench.machine_name({"gpu": "NVIDIA H100 80GB HBM3", "cores": 16, "cpu": "x"}) == "cuda-nvidia-h100-80gb-hbm3"


def test_tiny_run_writes_json_and_markdown_with_every_stage(tiny_suite, tiny_data, tmp_path, monkeypatch):
    monkeypatch.setitem(suites.SUITES, tiny_suite.name, tiny_suite)
    monkeypatch.setenv("CSBENCH_DATA", str(tiny_data))
    result = bench.main(["--suite", tiny_suite.name, "--samples", "200", "--seeds", "0", "--feature-images", "64",
                         "--feature-repeats", "1", "--generator", str(GENERATORS / "real_data.py"),
                         "--out-dir", str(tmp_path), "--name", "tiny"])
    assert json.loads((tmp_path / "tiny.json").read_text()) == json.loads(json.dumps(result))
    seed = result["evaluation"]["per_seed_s"][0]
    assert {"sampling", "labelling", "training", "scoring", "reference", "metrics.teacher.kid", "total"} <= set(seed)
    assert seed["total"] >= seed["training"] > 0
    fp = result["feature_pass"]
    assert set(fp["images_per_s"]) == {"csbench", "pytorch_fid_files", "pytorch_fid_loop_in_memory"}
    assert fp["max_abs_feature_difference"]["pytorch_fid_loop_in_memory"] == 0.0
    assert fp["max_abs_feature_difference"]["pytorch_fid_files"] < 1e-5  # 8-bit images survive PNG exactly
    assert result["peak_rss_mib"]["harness"] > 100 and "stability" not in result
    md = (tmp_path / "tiny.md").read_text()
    assert "| student training |" in md and "pytorch-fid `get_activations`" in md
    assert f"{fp['images_per_s']['csbench']:.0f}" in md


def test_budget_and_gan_mc_units_are_timed_apart_from_their_references(tiny_suite, tiny_data, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setitem(suites.SUITES, tiny_suite.name, tiny_suite)
    monkeypatch.setenv("CSBENCH_DATA", str(tiny_data))
    result = bench.main(["--suite", tiny_suite.name, "--seeds", "0", "--skip-evaluation", "--feature-images", "0",
                         "--units", "budget", "gan-mc", "--budgets", "100", "300", "--generator",
                         str(GENERATORS / "uniform_noise.py"), "--out-dir", str(tmp_path), "--name", "tiny"])
    budget, gan_mc = result["units"]
    assert (budget["mix"], budget["budgets"], gan_mc["mix"], gan_mc["budgets"]) == \
        ("generated", [100, 300], "real+generated", [100, 300, 600])
    for unit in (budget, gan_mc):
        (seed,) = unit["seeds"]
        assert len(seed["scores"]) == len(seed["reference_scores"]) == len(unit["budgets"])
        assert seed["cpu_s"] > 0 and seed["references_cpu_s"] > 0 and seed["timings_s"]["sampling"] > 0
        assert seed["timings_s"]["reference"] < 0.5 * seed["references_wall_s"]  # the unit read them, not trained
    md = (tmp_path / "tiny.md").read_text()
    assert "## CS by budget: N generated samples: uniform_noise" in md and "## GAN-MC: N real images alone" in md


def test_seed_summary_reports_cs_per_seed_in_points(tmp_path):
    st = bench.seed_summary([0, 1, 2], [0.80, 0.84, 0.82], [0.80, 0.80, 0.82], [10.0, 12.0, 14.0])
    assert st["cs_points_per_seed"] == [100.0, 105.0, 100.0]
    assert st["cs_points_mean"] == pytest.approx(101.667) and st["cs_points_std"] == pytest.approx(2.887)
    assert st["raw_points_std"] == pytest.approx(2.0)
    assert st["cs_points_std_fixed_reference"] == pytest.approx(2.479)  # 2 points over a mean reference of 0.8067
    result = {"name": "x", "machine": {"cpu": "c", "cores": 2, "torch_threads": 2, "device": "cpu", "torch": "t"},
              "date": "d", "load_average_before": 1.0, "load_average_after": 2.0,
              "stability": {"workers": 2, "threads_per_worker": 1, "wall_s": 30.0, "generators": {"real_data": st}}}
    json_path, md_path = bench.write(result, tmp_path)
    assert json.loads(json_path.read_text()) == json.loads(json.dumps(result))
    md = md_path.read_text()
    assert "| real_data | 3 | 101.67 | 2.89 | 2.48 | 2.00 | 12 |" in md
    assert "2 process(es) of 1 thread(s); wall 30 s" in md


def test_stability_units_in_worker_processes_match_in_process_scores(tiny_suite, tiny_data, monkeypatch,
                                                                    workers_trust_tiny_data):
    monkeypatch.setenv("CSBENCH_DATA", str(tiny_data))
    protocol = dataclasses.replace(tiny_suite.protocol(), samples=200)
    st = bench.stability(tiny_suite, protocol, [GENERATORS / "real_data.py", GENERATORS / "uniform_noise.py"],
                         [0, 1], "cpu", tiny_data, workers=2)
    assert st["workers"] == 2 and set(st["generators"]) == {"real_data", "uniform_noise"}
    torch.set_num_threads(st["threads_per_worker"])
    here = evaluate_unit(Unit(SandboxedFile(GENERATORS / "uniform_noise.py"), tiny_suite, protocol, 1,
                                   options=RunOptions(data_root=tiny_data)))
    assert st["generators"]["uniform_noise"]["raw_scores"][1] == here.raw_score
    assert st["generators"]["uniform_noise"]["reference_scores"][1] == here.reference_score
    stages = st["generators"]["uniform_noise"]["stages_s_per_seed"][1]
    assert stages["training"] > 0 and stages["total"] >= stages["training"]


def test_training_flops_count_the_authors_student_layer_by_layer():
    """Multiply-adds per image: conv1 24·24·64·25, conv2 8·8·128·64·25, FC 2048·1024 and 1024·10; a training
    step is the forward, the weight gradients and the input gradients but the first layer's."""
    suite = suites.get_suite("fashion-mnist")
    forward = 2 * (24 * 24 * 64 * 25 + 8 * 8 * 128 * 64 * 25 + 2048 * 1024 + 1024 * 10)
    paper = dataclasses.replace(suite.protocol("paper"), samples=600)  # two full batches of 256: the rest dropped
    assert bench.training_flops(suite, paper) == 512 * (3 * forward - 2 * 24 * 24 * 64 * 25)
