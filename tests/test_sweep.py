import json
import shutil

from conftest import GENERATORS

from csbench.evaluate import RunOptions
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
    assert records == ["grids", "real_data.json", "uniform_noise.json"]
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
