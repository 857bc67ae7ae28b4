"""Hostile generator files (tests/hostile/) run in the sandbox: each is stopped with a one-line error naming the
cause, and the harness goes on. Every child process imports torch (2-3 s), so each case launches one."""

import json
import shutil
import socket
from pathlib import Path

import pytest

from csbench.errors import GeneratorError
from csbench.generators import SampleContext
from csbench.sandbox import Limits, SandboxedGenerator, readable, run_child, sample
from csbench.sandbox_worker import landlock_abi

HOSTILE = Path(__file__).parent / "hostile"
SHAPE = (1, 28, 28)
FAST = Limits(timeout_s=60, memory_mib=2048)


def draw(path: Path, limits: Limits = FAST, n: int = 16, protected=()):
    gen = SandboxedGenerator(path.stem, ("*",), False, "", path, {})
    ctx = SampleContext(suite="fashion-mnist", shape=SHAPE, num_classes=10, directory=path.parent)
    return sample(gen, ctx, n, 0, limits, protected)


@pytest.mark.parametrize("name, message", [
    ("raises_on_import", r"^generator file raises_on_import.py raised on import: RuntimeError: hostile generator "
                         r"broke at import$"),
    ("raises_in_sampling", r"^generator raises_in_sampling raised while sampling: ValueError: hostile generator "
                           r"broke while sampling$"),
    ("returns_nan", r"^generator returns_nan returned NaN or infinite values$"),
    ("wrong_shape", r"^generator wrong_shape returned samples of shape \(1, 32, 32\), expected \(1, 28, 28\)$"),
    ("uint8_pixels", r"^generator uint8_pixels returned dtype torch.uint8, expected floats in \[0, 1\]"),
    ("fewer_samples", r"^generator fewer_samples returned 8 samples, 16 were requested$"),
    ("too_much_memory", r"^generator too_much_memory ran out of memory: the sandbox allows 2048 MiB"),
])
def test_hostile_generator_is_rejected_with_its_cause(name, message):
    with pytest.raises(GeneratorError, match=message) as error:
        draw(HOSTILE / f"{name}.py")
    assert "\n" not in str(error.value)


def test_a_generator_that_hangs_is_killed_at_the_timeout():
    with pytest.raises(GeneratorError, match=r"^generator file sleeps_forever.py timed out after 3 s$"):
        draw(HOSTILE / "sleeps_forever.py", Limits(timeout_s=3, memory_mib=2048))


@pytest.mark.skipif(landlock_abi() < 1, reason="no filesystem isolation here: the kernel has no Landlock")
def test_reading_the_test_split_is_blocked():
    data = Path("/tmp/csbench-hostile-data")
    images = data / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte"
    images.parent.mkdir(parents=True, exist_ok=True)
    images.write_bytes(bytes(16) + bytes(range(256)) * 49)  # 16 images of 28x28, readable by anyone not sandboxed
    try:
        with pytest.raises(GeneratorError, match=rf"^generator reads_test_split tried to open {images}, which the "
                                                 r"sandbox blocks \(a generator may read only its own folder"):
            draw(HOSTILE / "reads_test_split.py", protected=[data])
    finally:
        shutil.rmtree(data)


@pytest.mark.skipif(landlock_abi() < 1, reason="no filesystem isolation here: the kernel has no Landlock")
def test_secrets_network_and_results_are_out_of_reach(tmp_path, monkeypatch):
    monkeypatch.setenv("CSBENCH_TEST_SECRET", "hunter2")
    record = tmp_path / "results" / "fashion-mnist" / "someone.json"
    record.parent.mkdir(parents=True)
    record.write_text("{}")
    folder = tmp_path / "generator"
    folder.mkdir()
    shutil.copy(HOSTILE / "snoops.py", folder)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        (folder / "targets.json").write_text(json.dumps({"port": server.getsockname()[1], "record": str(record)}))
        ctx = SampleContext(suite="fashion-mnist", shape=SHAPE, num_classes=10, directory=folder)
        child = run_child(folder / "snoops.py", FAST, n=4, ctx=ctx, protected=[tmp_path / "results"])
    tcp_blocked = child.sandbox["network_namespace"] or child.sandbox["landlock_abi"] >= 4
    # secret in the environment, TCP to the host, another record, the parent's environment
    assert child.samples.reshape(4, -1)[:, 0].tolist() == [0, 0 if tcp_blocked else 1, 0, 0]
    assert child.sandbox["landlock"] and child.sandbox["landlock_abi"] == landlock_abi()
    assert child.sandbox["process"] and child.sandbox["rlimits"][:2] == ["RLIMIT_DATA=2048 MiB", "RLIMIT_FSIZE=2112 MiB"]


def test_folders_holding_a_protected_path_are_granted_without_it(tmp_path):
    for sub in ("generators/gan", "results/suite", "data", "weights.pt"):
        (tmp_path / sub).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / sub).mkdir() if "." not in sub else (tmp_path / sub).write_bytes(b"")
    granted = readable([tmp_path, tmp_path / "missing"], [tmp_path / "results", tmp_path / "data"])
    assert granted == [str(tmp_path / "generators"), str(tmp_path / "weights.pt")]


def test_evaluate_all_reports_a_hang_and_keeps_the_old_record(tiny_suite, tiny_data, tmp_path):
    from csbench.sweep import evaluate_all

    folder = tmp_path / "generators"
    folder.mkdir()
    shutil.copy(HOSTILE / "sleeps_forever.py", folder)
    record = tmp_path / "results" / tiny_suite.name / "sleeps_forever.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"cs": 0.5}')
    outcomes = evaluate_all(tiny_suite.name, folder, out_dir=tmp_path / "results", seeds=[0], suite=tiny_suite,
                            data_root=tiny_data, inception=False, limits=Limits(timeout_s=3, memory_mib=2048))
    assert [(o.status, o.detail) for o in outcomes] == [
        ("failed", "generator file sleeps_forever.py timed out after 3 s")]
    assert record.read_text() == '{"cs": 0.5}' and [p.name for p in record.parent.iterdir()] == [record.name]


def test_evaluate_all_refuses_a_name_two_files_register_or_one_that_leaves_the_results(tmp_path):
    from csbench.sweep import evaluate_all

    folder = tmp_path / "generators"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(HOSTILE / "returns_nan.py", folder / "a.py")
    shutil.copy(HOSTILE / "returns_nan.py", folder / "sub" / "b.py")
    (folder / "evil.py").write_text("import csbench\n@csbench.generator('../evil', suites=['*'])\n"
                                    "def sample(n, seed, ctx):\n    return None\n")
    outcomes = evaluate_all("fashion-mnist", folder, out_dir=tmp_path / "results", limits=FAST)
    assert [(o.file.name, o.status, o.detail) for o in outcomes] == [
        ("a.py", "failed", "generator name 'returns_nan' is registered by 2 files: a.py, sub/b.py"),
        ("evil.py", "failed", "generator file evil.py registers the name '../evil'; a name (it names the result "
                              "file) may use letters, digits, '_', '-' and '.'"),
        ("b.py", "failed", "generator name 'returns_nan' is registered by 2 files: a.py, sub/b.py")]
    assert not (tmp_path / "results").exists()
