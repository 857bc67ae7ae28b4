"""Sweeps on Ray (a local two-worker cluster) and through submitit's local executor give the local records."""

import functools
import os
import sys
from collections import Counter

import pytest
import torch

import csbench.sweep
from csbench.backends import RayBackend, SlurmBackend, require
from csbench.errors import CsbenchError
from csbench.evaluate import evaluate_unit
from csbench.results import read_record, write_record
from csbench.sweep import evaluate_all
from conftest import GENERATORS

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
                            data_root=tiny_data, backend=backend)
    return {o.file.stem: o.status for o in outcomes}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two worker processes, one torch thread each, a cache of their own."""
    env = {"CSBENCH_HOME": str(tmp_path_factory.mktemp("ray-home")), "CSBENCH_QUIET": "1", "OMP_NUM_THREADS": "1"}
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
        assert record["seeds"] == SEEDS
        assert record["raw_scores"] == local["raw_scores"]
        assert record["reference_scores"] == local["reference_scores"]
        assert (record["cs"], record["cs_stderr"]) == (local["cs"], local["cs_stderr"])
        assert record["metrics"] == local["metrics"]
    assert sorted(p.name for p in (out / suite.name / "seeds").iterdir()) == [
        f"{name}--seed{seed}.json" for name in names for seed in SEEDS]


def test_ray_sweep_gives_the_local_records_and_reruns_skip_its_units(cluster, tiny_suite, tiny_data, tmp_path,
                                                                     local_records, monkeypatch):
    folder, out = generator_dir(tmp_path), tmp_path / "results"
    assert local_records["real_data"]["cs"] > local_records["uniform_noise"]["cs"] + 0.2
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
                                                      suite=tiny_suite, data_root=tiny_data, backend=RayBackend())}
    assert marker.exists()
    assert outcomes["uniform_noise"].status == "evaluated" and outcomes["broken"].status == "failed"
    assert outcomes["broken"].detail.startswith("seed ") and "RuntimeError: out of ideas" in outcomes["broken"].detail
    assert writes == Counter(["uniform_noise--seed0.json", "uniform_noise--seed1.json", "uniform_noise.json"])
    assert_same_scores(out, tiny_suite, local_records, ["uniform_noise"])


def test_submitit_local_executor_gives_the_local_records(tiny_suite, tiny_data, tmp_path, local_records):
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
