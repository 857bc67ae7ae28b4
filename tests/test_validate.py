import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import GENERATORS
from test_sandbox import HOSTILE

from csbench.cli import main
from csbench.sandbox import Limits
from csbench.validate import first_problem, sample_checks, validate

SHAPE = (1, 4, 4)


@pytest.mark.parametrize("images, failed, detail", [
    (np.full((3, *SHAPE), np.nan, np.float32), "finite values", "NaN or infinite values"),
    (np.zeros((3, 1, 5, 5), np.float32), "shape", "(1, 5, 5), expected (1, 4, 4)"),
    (np.zeros((3, *SHAPE), np.uint8), "dtype", "uint8, expected floats (divide uint8 by 255)"),
    (np.full((3, *SHAPE), 255.0, np.float32), "value range", "[255, 255], expected within [0, 1]"),
    (np.zeros((2, *SHAPE), np.float32), "requested count", "2 of 3 samples"),
])
def test_sample_checks_name_the_broken_rule(images, failed, detail):
    checks = sample_checks(images, 3, SHAPE)
    assert [c.name for c in checks if not c.passed][0] == failed
    assert first_problem(checks).detail == detail


def test_a_good_generator_passes_every_check():
    # the timeout CI gives validate: time per sample is the harness's wall clock, worker overhead included
    checks = validate(GENERATORS / "uniform_noise.py", "fashion-mnist", n=32, limits=Limits(600, 2048))
    assert [c.name for c in checks] == [
        "imports and registers one generator", "sandbox (this machine)", "declares the suite", "draws 32 samples",
        "requested count", "shape",
        "dtype", "finite values", "value range", "deterministic for a seed", "time per sample", "memory"]
    assert all(c.passed for c in checks), first_problem(checks)
    assert checks[-1].detail.startswith("peak ") and "50,000 samples add 150 MiB (limit 2048 MiB)" in checks[-1].detail


def test_validate_command_fails_a_generator_that_ignores_its_seed(capsys):
    status = main(["validate", str(HOSTILE / "nondeterministic.py"), "--suite", "fashion-mnist", "--samples", "8",
                   "--timeout", "60"])
    assert status == 1
    out, err = capsys.readouterr()
    assert "FAIL deterministic for a seed: two processes, seed 0: different samples; seed every random generator" in err
    assert "value range" in out  # the table shows the checks that passed before it


def test_the_time_limit_bounds_the_whole_validation(tmp_path):
    """Each draw sleeps 9 s: alone under the 15 s limit, but describe and two draws together are over it."""
    folder = tmp_path / "gen"
    folder.mkdir()
    shutil.copy(HOSTILE / "sleeps_under_timeout.py", folder)
    started = time.monotonic()
    checks = validate(folder / "sleeps_under_timeout.py", "fashion-mnist", n=4, limits=Limits(15, 2048))
    assert time.monotonic() - started < 15 + 5
    problem = first_problem(checks)
    assert problem.name.startswith("draws 4 samples") and re.search(
        r"timed out after [\d.]+ s|validation used up its time limit of 15 s", problem.detail)


def test_validate_prints_child_text_without_escapes_or_markup(tmp_path, capsys):
    folder = tmp_path / "gen"
    folder.mkdir()
    shutil.copy(HOSTILE / "markup_message.py", folder)
    status = main(["validate", str(folder / "markup_message.py"), "--suite", "fashion-mnist", "--samples", "4",
                   "--timeout", "60"])
    out, err = capsys.readouterr()
    assert status == 1 and "\x1b" not in out + err and "\u202e" not in out + err
    assert err.count("\n") == 1 and err.startswith("FAIL draws 4 samples (first process): generator markup_message "
                                                   "raised while sampling: ValueError:")
    assert "(green)PASS(/green)" in err  # the markup shows as text: no green, no line of its own


def test_the_sampling_time_counts_a_late_import_marker():
    from csbench.sandbox import ChildResult, SandboxedGenerator
    from csbench.validate import sampling_seconds

    gen = SandboxedGenerator("g", ("*",), False, "", Path("g.py"), {}, import_s=4.0)
    honest = ChildResult({}, None, {}, sampling_s=2.0, peak_mib=0, wall_s=7.0, import_s=3.5)
    late = ChildResult({}, None, {}, sampling_s=0.1, peak_mib=0, wall_s=10.0, import_s=9.0)
    assert sampling_seconds(honest, gen) == 2.0 and sampling_seconds(late, gen) == pytest.approx(1.1)


def test_validate_refuses_labels_as_evaluate_does(tmp_path):
    folder = tmp_path / "gen"
    folder.mkdir()
    shutil.copy(HOSTILE / "bad_labels.py", folder)
    problem = first_problem(validate(folder / "bad_labels.py", "fashion-mnist", n=4, limits=Limits(60, 2048)))
    assert (problem.name, problem.detail) == ("labels", "generator bad_labels returned labels outside [0, 10)")


def test_the_record_shows_the_sampling_timeout_not_the_import_one():
    from csbench.sandbox import describe

    gen = describe(GENERATORS / "uniform_noise.py", Limits(77, 2048, import_timeout_s=30))
    assert (gen.sandbox["timeout_s"], gen.sandbox["import_timeout_s"]) == (77, 30)
