import subprocess
import sys

from csbench import cli
from csbench.cli import main


def test_suites_lists_teacher_student_and_protocols(capsys, monkeypatch):
    monkeypatch.setattr(cli.stdout, "width", 200)
    assert main(["suites"]) == 0
    out = capsys.readouterr().out
    for text in ("fashion-mnist", "cnn6", "lenet", "paper", "graded", "l2-logits"):
        assert text in out


def test_user_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing.py"), "--suite", "fashion-mnist", "--out",
                 str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "missing.py does not exist" in err and "\n" not in err
    assert main(["evaluate", str(tmp_path / "x.py"), "--suite", "nope"]) == 2
    assert "unknown suite 'nope'" in capsys.readouterr().err


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "csbench.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "evaluate" in out.stdout and "teacher" in out.stdout


def test_preview_runs_one_seed_and_says_so_before_the_work(monkeypatch, capsys, tmp_path):
    import csbench.errors
    import csbench.evaluate

    seen = {}

    def fake_evaluate(file, suite, **kw):
        seen.update(kw)
        raise csbench.errors.CsbenchError("stopped by the test")

    monkeypatch.setattr(csbench.evaluate, "evaluate", fake_evaluate)
    assert main(["evaluate", "generators/real_data.py", "--suite", "fashion-mnist", "--preview",
                 "--out", str(tmp_path)]) == 2
    assert seen["seeds"] == [0] and seen["preview"] is True
    assert main(["evaluate", "generators/real_data.py", "--suite", "fashion-mnist", "--out", str(tmp_path)]) == 2
    assert seen["seeds"] == [0, 1, 2] and seen["preview"] is False
