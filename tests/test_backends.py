"""Sweeps on Ray (a local two-worker cluster) and through submitit's local executor give the local records."""

import functools
import json
import os
import sys
from collections import Counter

import pytest
import torch
from conftest import GENERATORS

import csbench.sweep
from csbench.backends import RayBackend, SlurmBackend, require
from csbench.cache import atomic_write_text
from csbench.errors import CsbenchError
from csbench.evaluate import RunOptions, evaluate_unit
from csbench.results import CsSeedRecord, parse_record, read_record, write_record
from csbench.sweep import evaluate_all

ray = pytest.importorskip("ray")
NAMES = ("real_data", "uniform_noise")
SEEDS = [0, 1]


def generator_dir(tmp_path, names=NAMES):
    folder = tmp_path / "gens"
    folder.mkdir()
    for name in names:
        (folder / f"{name}.py").write_text((GENERATORS / f"{name}.py").read_text())
    return folder


def sweep(tiny_suite, tiny_data, out, folder, backend=None):
    outcomes = evaluate_all(tiny_suite.name, folder, out_dir=out, seeds=SEEDS, suite=tiny_suite,
                            options=RunOptions(data_root=tiny_data), backend=backend)
    return {o.file.stem: o.status for o in outcomes}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, workers_trust_tiny_data):
    """Two worker processes, one torch thread each, a cache of their own."""
    env = {"CSBENCH_HOME": str(tmp_path_factory.mktemp("ray-home")), "CSBENCH_QUIET": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": workers_trust_tiny_data}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def local_records(tiny_suite, tiny_data, tmp_path_factory):
    """The local backend's records, with one torch thread like the workers: thread counts can change the sums."""
    tmp = tmp_path_factory.mktemp("local")
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as mp:  # module scope: the autouse per-test home is not set yet
        mp.setenv("CSBENCH_HOME", str(tmp / "home"))
        torch.set_num_threads(1)
        try:
            assert sweep(tiny_suite, tiny_data, tmp / "results", generator_dir(tmp)) == dict.fromkeys(NAMES,
                                                                                                   "evaluated")
        finally:
            torch.set_num_threads(threads)
    return {name: read_record(tmp / "results" / tiny_suite.name / f"{name}.json") for name in NAMES}


def assert_same_scores(out, suite, local_records, names=NAMES):
    for name in names:
        record = read_record(out / suite.name / f"{name}.json")
        local = local_records[name]
        assert record.seeds == SEEDS
        assert record.raw_scores == local.raw_scores
        assert record.reference_scores == local.reference_scores
        assert (record.cs, record.cs_half_width) == (local.cs, local.cs_half_width)
        assert record.metrics == local.metrics
    assert sorted(p.name for p in (out / suite.name / "seeds").iterdir()) == [
        f"{name}--seed{seed}.json" for name in names for seed in SEEDS]


def test_ray_sweep_gives_the_local_records_and_reruns_skip_its_units(cluster, tiny_suite, tiny_data, tmp_path,
                                                                     local_records, monkeypatch):
    folder, out = generator_dir(tmp_path), tmp_path / "results"
    assert local_records["real_data"].cs > local_records["uniform_noise"].cs + 0.2
    assert sweep(tiny_suite, tiny_data, out, folder, RayBackend()) == dict.fromkeys(NAMES, "evaluated")
    assert_same_scores(out, tiny_suite, local_records)

    (out / tiny_suite.name / "uniform_noise.json").unlink()  # merged again from its seed records, no unit runs
    monkeypatch.setattr(csbench.sweep, "evaluate_unit", None)
    assert sweep(tiny_suite, tiny_data, out, folder, RayBackend()) == {"real_data": "current",
                                                                       "uniform_noise": "evaluated"}
    assert_same_scores(out, tiny_suite, local_records)


def die_once(marker, unit):
    """The first unit to get here kills its Ray worker process; later ones, retries included, run normally."""
    try:
        open(marker, "x").close()
    except FileExistsError:
        return evaluate_unit(unit)
    os._exit(1)


def test_a_killed_worker_is_retried_and_a_failing_unit_fails_only_its_generator(cluster, tiny_suite, tiny_data,
                                                                                tmp_path, local_records, monkeypatch):
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker, out, folder = tmp_path / "died", tmp_path / "results", generator_dir(tmp_path, ["uniform_noise"])
    (folder / "broken.py").write_text("import csbench\n@csbench.generator('broken', suites=['*'])\n"
                                      "def sample(n, seed, ctx):\n    raise RuntimeError('out of ideas')\n")
    monkeypatch.setattr(csbench.sweep, "evaluate_unit", functools.partial(die_once, str(marker)))
    writes = Counter()

    def counted(path, record):
        writes[path.name] += 1
        write_record(path, record)

    monkeypatch.setattr(csbench.sweep, "write_record", counted)
    outcomes = {o.file.stem: o for o in evaluate_all(tiny_suite.name, folder, out_dir=out, seeds=SEEDS,
                                                      suite=tiny_suite, options=RunOptions(data_root=tiny_data),
                                                      backend=RayBackend())}
    assert marker.exists()
    assert outcomes["uniform_noise"].status == "evaluated" and outcomes["broken"].status == "failed"
    assert outcomes["broken"].detail.startswith("seed ") and "RuntimeError: out of ideas" in outcomes["broken"].detail
    assert writes == Counter(["uniform_noise--seed0.json", "uniform_noise--seed1.json", "uniform_noise.json"])
    assert_same_scores(out, tiny_suite, local_records, ["uniform_noise"])


def test_submitit_local_executor_gives_the_local_records(tiny_suite, tiny_data, tmp_path, local_records,
                                                        workers_trust_tiny_data):
    pytest.importorskip("submitit")
    out = tmp_path / "results"
    backend = SlurmBackend(folder=tmp_path / "submitit", cluster="local", poll_s=0.5)
    folder = generator_dir(tmp_path, ["uniform_noise"])
    assert sweep(tiny_suite, tiny_data, out, folder, backend) == {"uniform_noise": "evaluated"}
    assert_same_scores(out, tiny_suite, local_records, ["uniform_noise"])


def test_a_missing_extra_names_its_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "submitit", None)
    with pytest.raises(CsbenchError, match=r"^the slurm backend needs submitit, an optional extra: "
                                           r"pip install 'csbench\[slurm\]'$"):
        require("submitit", "slurm")


def test_a_missing_extra_fails_the_command_before_any_work(monkeypatch, capsys, tmp_path):
    from csbench.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)
    args = ["evaluate-all", "--suite", "fashion-mnist", "--generators", str(tmp_path), "--out", str(tmp_path)]
    assert main([*args, "--backend", "ray"]) == 2
    assert "error: the ray backend needs ray, an optional extra: pip install 'csbench[ray]'" in capsys.readouterr().err
    assert main([*args, "--address", "auto"]) == 2
    assert "--address is the Ray cluster's: use it with --backend ray" in capsys.readouterr().err


def seed_record(seed, raw, reference, **extra):
    return CsSeedRecord.from_json({
            "generator": {"name": "g", "file": "g.py", "sha256": "ab"}, "sandbox": {"landlock": True}, "suite": "s",
            "teacher": {"sha256": "cd"}, "student": "st", "protocol": {"name": "p"}, "seed": seed, "raw_score": raw,
            "reference_score": reference, "metrics": {"teacher": {"is": 2.0}} if seed == 4 else None,
            "per_class": {"raw": [raw], "reference": [reference], "classes": ["c"]}, "cas": None, "copying": None,
            "timings_s": {"sampling": 1.25, "total": 2.5}, "peak_memory_mib": 100 + seed,
            "csbench_version": "0", "torch_version": "2", "device": "cpu", "date": f"2026-01-0{seed}T00:00:00Z",
            **extra})


def test_merge_takes_scores_in_seed_order_and_metrics_of_the_first_seed():
    from csbench.evaluate import merge_seed_records

    record = merge_seed_records([seed_record(4, 0.6, 0.8), seed_record(2, 0.4, 0.8)])
    assert record.seeds == [4, 2] and record.raw_scores == [0.6, 0.4] and record.reference_scores == [0.8, 0.8]
    assert record.cs == pytest.approx(0.625)
    # paired residuals 0.6 - 0.5 and 0.4 - 0.5: sd 0.1414, SE 0.1414 / (sqrt 2 * 0.8), t(0.975, 1) = 12.706
    assert record.cs_half_width == pytest.approx(12.7062 * 0.1 / 0.8, rel=1e-4)
    assert record.metrics == {"teacher": {"is": 2.0}}
    assert record.timings_s == {"sampling": 2.5, "total": 5.0} and record.peak_memory_mib == 104
    assert record.provenance.date == "2026-01-04T00:00:00Z"
    with pytest.raises(CsbenchError, match="disagree on the generator file, teacher, protocol or data"):
        merge_seed_records([seed_record(4, 0.6, 0.8), seed_record(2, 0.4, 0.8, protocol={"name": "q"})])


def test_merge_accepts_a_seed_record_read_back_from_json_beside_a_fresh_one():
    from csbench.evaluate import merge_seed_records

    fresh = seed_record(1, 0.5, 0.8, protocol={"name": "p", "seeds": (0, 1, 2)})
    read_back = parse_record(json.loads(json.dumps(seed_record(0, 0.6, 0.8, protocol={"name": "p", "seeds": (0, 1, 2)})
                                                   .to_json())))
    assert merge_seed_records([read_back, fresh]).protocol == {"name": "p", "seeds": [0, 1, 2]}


def test_reference_scores_are_cached_one_file_per_seed(tiny_suite, tmp_path):
    from csbench.data import Split
    from csbench.evaluate import StudentScore, protocol_key, reference_score, reference_score_path

    protocol = tiny_suite.protocol()
    for seed, accuracy in ((0, 0.75), (1, 0.5)):
        atomic_write_text(reference_score_path(tiny_suite, protocol, seed, "", tmp_path),
                          json.dumps({"seed": seed, "accuracy": accuracy, "per_class": [accuracy] * 10}))
    official = Split([], [])  # no identity: counts as the official data, whose cache files carry no data tag
    scores = [reference_score(tiny_suite, protocol, None, official, official, seed, cache_dir=tmp_path)
              for seed in (0, 1)]
    assert scores == [StudentScore(0.75, (0.75,) * 10), StudentScore(0.5, (0.5,) * 10)]
    key = protocol_key(tiny_suite, protocol)
    expected = tmp_path / tiny_suite.name / f"cs-{key}-seed1.json"
    assert reference_score_path(tiny_suite, protocol, 1, "", tmp_path) == expected
