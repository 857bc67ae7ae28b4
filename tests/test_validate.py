import numpy as np
import pytest

from csbench.cli import main
from csbench.sandbox import Limits
from csbench.validate import first_problem, sample_checks, validate
from conftest import GENERATORS

from test_sandbox import HOSTILE

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
    checks = validate(GENERATORS / "uniform_noise.py", "fashion-mnist", n=32, limits=Limits(60, 2048))
    assert [c.name for c in checks] == [
        "imports and registers one generator", "sandbox (this machine)", "declares the suite", "draws 32 samples", "requested count", "shape",
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
