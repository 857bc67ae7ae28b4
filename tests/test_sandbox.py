"""Hostile generator files (tests/hostile/) run in the sandbox: each is stopped with a one-line error naming the
cause, and the harness goes on. Every child process imports torch (2-3 s), so each case launches one; the holes
of issue 21 have one file each, with the outcome it must get."""

import ctypes
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from csbench import sandbox
from csbench.errors import GeneratorError
from csbench.evaluate import RunOptions
from csbench.generators import SampleContext
from csbench.sandbox import (
    Limits,
    SandboxedGenerator,
    clean,
    describe,
    generator_folder,
    installation,
    readable,
    run_child,
    sample,
)
from csbench.sandbox_worker import SYSCALLS, landlock_abi

HOSTILE = Path(__file__).parent / "hostile"
SHAPE = (1, 28, 28)
FAST = Limits(timeout_s=60, memory_mib=2048)
BWRAP = pytest.mark.skipif(sandbox.bubblewrap() is None,
                           reason="bubblewrap is not installed here or cannot create namespaces (the fallback runs)")
SECCOMP = pytest.mark.skipif(platform.machine() not in SYSCALLS, reason="no seccomp numbers for this architecture")


@pytest.fixture(params=["bubblewrap", "fallback"])
def mode(request, monkeypatch):
    """Both sandboxes: bubblewrap where it works here, and the Landlock/namespaces fallback."""
    if request.param == "bubblewrap" and sandbox.bubblewrap() is None:
        pytest.skip("bubblewrap is not installed here or cannot create namespaces")
    if request.param == "fallback":
        monkeypatch.setattr(sandbox, "bubblewrap", lambda: None)
    return request.param


def hostile_in(folder: Path, name: str, targets: dict | None = None) -> Path:
    """A copy of a hostile file in a folder of its own, with what it is told in targets.json."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(HOSTILE / f"{name}.py", folder)
    if targets is not None:
        (folder / "targets.json").write_text(json.dumps(targets))
    return folder / f"{name}.py"


def first_pixels(path: Path, limits: Limits = FAST, n: int = 4) -> list[float]:
    ctx = SampleContext(suite="fashion-mnist", shape=SHAPE, num_classes=10, directory=path.parent)
    return run_child(path, limits, n=n, ctx=ctx).samples.reshape(n, -1)[:, 0].tolist()


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
    ("uint8_pixels", r"^generator uint8_pixels returned dtype torch.uint8, expected floats in \[0, 1\] \(divide uint8 "
                     r"images by 255\)$"),
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
def test_the_test_split_is_out_of_reach_by_any_path(tmp_path, mode, monkeypatch):
    """A tiny test split, in torchvision's and Debian's on-disk formats, wherever the sandbox must hide it: the data
    root ($CSBENCH_DATA), the cache ($CSBENCH_HOME), a Debian-like dataset folder and a --data-dir. Each lies inside
    the generator's own folder, which the sandbox grants, so only the rule that carves them out hides them; every
    file of the real dataset folders csbench knows (Debian's package, scikit-learn's bundled tables) is hunted for
    too where they are installed. The generator declares needs_train_data, so the training
    split lies in its reach as well. The one copy it must find is the one planted as its own file (a generator can ship
the test split in its own files: only the copy test catches that)."""
    import hashlib

    import torch
    from conftest import write_fashion_mnist

    from csbench import data
    from csbench.data import Split

    real = [f for folder in data.dataset_folders() if folder.is_dir() for f in sorted(folder.rglob("*"))
            if f.is_file() and f.stat().st_size >= 64]  # Debian's package, scikit-learn's tables, where present
    gen = tmp_path / "gen"
    places = {"data": gen / "data" / "FashionMNIST" / "raw", "home": gen / "home" / "data" / "FashionMNIST" / "raw",
              "debian": gen / "datasets" / "fashion-mnist", "given": gen / "given" / "FashionMNIST" / "raw"}
    for name, folder in places.items():
        write_fashion_mnist(folder, n_train=20, n_test=10, gz=name == "debian")
    monkeypatch.setenv("CSBENCH_DATA", str(gen / "data"))
    monkeypatch.setenv("CSBENCH_HOME", str(gen / "home"))
    monkeypatch.setattr(data, "DEBIAN_DATASETS", gen / "datasets")
    control = gen / "control.bin"
    shutil.copy(places["data"] / "t10k-images-idx3-ubyte", control)
    test_files = [f for folder in places.values() for f in sorted(folder.iterdir()) if f.name.startswith("t10k")]
    test_files += real
    files: dict[int, list[str]] = {}
    for f in test_files:
        files.setdefault(f.stat().st_size, []).append(hashlib.sha256(f.read_bytes()).hexdigest())
    path = hostile_in(gen, "finds_test_split", {"files": files, "paths": list(map(str, [*test_files, control]))})
    train = Split(torch.rand(20, *SHAPE), torch.arange(20) % 10)
    ctx = SampleContext(suite="fashion-mnist", shape=SHAPE, num_classes=10, directory=gen, train=train)
    with pytest.raises(GeneratorError, match=r"RuntimeError: visited \d+ entries; found: ") as error:
        run_child(path, FAST, n=4, ctx=ctx, protected=[gen / "given"])
    visited, found = re.search(r"visited (\d+) entries; found: (.*)$", str(error.value)).groups()
    assert found == str(control.resolve()) and int(visited) > 1000, str(error.value)


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
    assert child.sandbox["process"]
    assert child.sandbox["rlimits"][:2] == ["RLIMIT_DATA=2048 MiB", "RLIMIT_FSIZE=1024 MiB"]


def test_folders_holding_a_protected_path_are_granted_without_it(tmp_path):
    for sub in ("generators/gan", "results/suite", "data", "weights.pt"):
        (tmp_path / sub).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / sub).mkdir() if "." not in sub else (tmp_path / sub).write_bytes(b"")
    (tmp_path / "generators" / "escape").symlink_to("/etc")  # a link out of the grant is no grant
    granted = readable([tmp_path, tmp_path / "missing"], [tmp_path / "results", tmp_path / "data"])
    assert granted == [str(tmp_path / "generators"), str(tmp_path / "weights.pt")]
    assert readable([tmp_path / "generators"], [tmp_path / "results"]) == [str(tmp_path / "generators")]


def test_evaluate_all_reports_a_hang_and_keeps_the_old_record(tiny_suite, tiny_data, tmp_path):
    from csbench.sweep import evaluate_all

    folder = tmp_path / "generators"
    folder.mkdir()
    shutil.copy(HOSTILE / "sleeps_forever.py", folder)
    record = tmp_path / "results" / tiny_suite.name / "sleeps_forever.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"cs": 0.5}')
    outcomes = evaluate_all(tiny_suite.name, folder, out_dir=tmp_path / "results", seeds=[0], suite=tiny_suite,
                            options=RunOptions(data_root=tiny_data, inception=False,
                                                               limits=Limits(timeout_s=3, memory_mib=2048)))
    assert [(o.status, o.detail) for o in outcomes] == [
        ("failed", "generator file sleeps_forever.py timed out after 3 s")]
    assert record.read_text() == '{"cs": 0.5}' and [p.name for p in record.parent.iterdir()] == [record.name]


def test_a_file_not_declaring_the_suite_is_refused_in_one_line(tmp_path):
    from csbench.sandbox import describe_for

    folder = tmp_path / "generators"
    folder.mkdir()
    (folder / "cifar_only.py").write_text("import csbench\n@csbench.generator('cifar_only', suites=['cifar10'])\n"
                                          "def sample(n, seed, ctx):\n    return None\n")
    assert describe_for(folder / "cifar_only.py", "cifar10", FAST).name == "cifar_only"
    with pytest.raises(GeneratorError, match=r"^generator cifar_only does not declare suite 'fashion-mnist' "
                                             r"\(it supports cifar10\)$"):
        describe_for(folder / "cifar_only.py", "fashion-mnist", FAST)


def test_evaluate_all_refuses_a_name_two_files_register_or_one_that_leaves_the_results(tmp_path):
    from csbench.sweep import evaluate_all

    folder = tmp_path / "generators"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(HOSTILE / "returns_nan.py", folder / "a.py")
    shutil.copy(HOSTILE / "returns_nan.py", folder / "sub" / "b.py")
    (folder / "evil.py").write_text("import csbench\n@csbench.generator('../evil', suites=['*'])\n"
                                    "def sample(n, seed, ctx):\n    return None\n")
    outcomes = evaluate_all("fashion-mnist", folder, out_dir=tmp_path / "results", options=RunOptions(limits=FAST))
    assert [(o.file.name, o.status, o.detail) for o in outcomes] == [
        ("a.py", "failed", "generator name 'returns_nan' is registered by 2 files: a.py, sub/b.py"),
        ("evil.py", "failed", "generator file evil.py registers the name '../evil'; a name (it names the result "
                              "file) is words of letters, digits, '_' and '.' joined by single hyphens ('--' "
                              "separates a record's name from its protocol)"),
        ("b.py", "failed", "generator name 'returns_nan' is registered by 2 files: a.py, sub/b.py")]
    assert not (tmp_path / "results").exists()


# Issue 21: one hostile file per hole, each with the outcome it must get.

@SECCOMP
def test_hole_1_pathname_unix_sockets_are_unreachable(tmp_path, mode):
    path = tempfile.mktemp(prefix="csbench-hole1-", dir="/tmp")  # a short path, under /tmp, as the attack had it
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen()
        server.settimeout(0.1)
        try:
            pixels = first_pixels(hostile_in(tmp_path / "gen", "unix_socket", {"socket": path}))
            with pytest.raises(socket.timeout):
                server.accept()
        finally:
            os.unlink(path)
    assert pixels[0] == 0


def test_hole_2_the_harness_reads_nothing_the_child_plants(tmp_path, monkeypatch):
    secret = tmp_path / "id_ed25519"
    secret.write_text("PRIVATE-KEY-hole2")
    harness_tmp = tmp_path / "harness-tmp"
    harness_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(harness_tmp))
    started = time.monotonic()
    with pytest.raises(GeneratorError, match=r"^generator file plants_files.py exited with code 0 before reporting"
                                             r"(: see .*)?$") as error:
        first_pixels(hostile_in(tmp_path / "gen", "plants_files", {"secret": str(secret)}), Limits(30, 2048))
    assert "PRIVATE-KEY" not in str(error.value) and time.monotonic() - started < 30
    assert list(harness_tmp.iterdir()) == []  # its temporary folder is gone


def test_hole_3_the_harness_sys_path_grants_nothing(tmp_path, monkeypatch):
    private = tmp_path / "home"
    private.mkdir()
    (private / "id_rsa").write_text("PRIVATE-KEY-hole3")
    monkeypatch.syspath_prepend(str(private))
    monkeypatch.chdir(private)
    assert not any(path.is_relative_to(private) for path in installation())
    assert any((path / "numpy").is_dir() for path in installation())  # site-packages, even where csbench lies
    assert first_pixels(hostile_in(tmp_path / "gen", "reads_sys_path", {"secret": str(private / "id_rsa")}))[0] == 0


def test_hole_4_a_linked_generator_file_or_a_repository_folder_is_refused(tmp_path):
    repo = tmp_path / "checkout"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "config").write_text("[remote] token = hole4")
    evil = hostile_in(repo, "reads_repository")
    (repo / "generators").mkdir()
    (repo / "generators" / "x.py").symlink_to("../reads_repository.py")
    with pytest.raises(GeneratorError, match=r"^generator file x.py is a symbolic link; the sandbox runs only "
                                             r"regular files$"):
        describe(repo / "generators" / "x.py", FAST)
    with pytest.raises(GeneratorError, match=r"^generator file reads_repository.py is in a folder that holds .git "
                                             r"\(a repository's root\)"):
        first_pixels(evil)
    assert generator_folder(HOSTILE / "snoops.py") == HOSTILE.resolve()


def libc_syscall(name: str, *args) -> int:
    numbers = {"shmget": {"x86_64": 29, "aarch64": 194}, "shmctl": {"x86_64": 31, "aarch64": 195}}
    return ctypes.CDLL(None, use_errno=True).syscall(numbers[name][platform.machine()], *args)


@SECCOMP
def test_hole_5_keyrings_and_system_v_ipc_are_out_of_reach(tmp_path, mode):
    key = 0x21C5B000 + os.getpid() % 4096
    segment = libc_syscall("shmget", ctypes.c_int(key), 4096, 0o1000 | 0o600)  # IPC_CREAT, root's own
    assert segment >= 0
    try:
        pixels = first_pixels(hostile_in(tmp_path / "gen", "keyring_ipc", {"shm_key": key}))
    finally:
        libc_syscall("shmctl", segment, 0, None)  # IPC_RMID
    assert pixels[:2] == [0, 0]


def test_hole_6_shared_memory_counts_against_the_memory_limit(tmp_path):
    with pytest.raises(GeneratorError, match=r"^generator file shared_memory.py used more than 1024 MiB of memory "
                                             r"\(all its processes together\) and was stopped$"):
        first_pixels(hostile_in(tmp_path / "gen", "shared_memory"), Limits(60, 1024))


@BWRAP
def test_hole_6_the_scratch_folder_is_size_limited_in_all(tmp_path):
    with pytest.raises(GeneratorError, match=r"^generator fills_scratch raised while sampling: OSError: \(Errno 28\) "
                                             r"No space left on device"):
        first_pixels(hostile_in(tmp_path / "gen", "fills_scratch"), Limits(60, 2048, scratch_mib=48))


def test_hole_6_processes_and_threads_are_capped(tmp_path):
    with pytest.raises(GeneratorError, match=r"^generator (file )?many_tasks(.py)? started more than 64 processes or "
                                             r"threads, the sandbox's limit"):
        first_pixels(hostile_in(tmp_path / "gen", "many_tasks"), Limits(60, 2048, tasks=64))


def daemons() -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"time.sleep(31.4159)" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    return found


def test_hole_6_no_process_of_the_sandbox_outlives_it(tmp_path, mode):
    assert first_pixels(hostile_in(tmp_path / "gen", "daemon")) == [0, 0, 0, 0]
    deadline = time.monotonic() + 5
    while daemons() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert daemons() == []


def test_hole_7_the_harness_reads_only_what_the_request_implies(tmp_path):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(GeneratorError, match=r"^generator floods_harness returned a samples file of 587,202,560 "
                                             r"bytes; 4 samples of shape \(1, 28, 28\) take 12,672$"):
        first_pixels(hostile_in(tmp_path / "gen", "floods_harness"))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 << 10  # KiB: under 100 MiB more


@pytest.mark.parametrize("name, targets, message", [
    ("forged_result", None, r"^generator file forged_result.py returned a malformed result$"),
    ("malformed_meta", None, r"^generator file malformed_meta.py raised on import: TypeError: 'int' object is not "
                             r"iterable$"),
    ("bad_npy", {"mode": "npz"}, r"^generator bad_npy returned samples that are not a float32 .npy array of shape "
                                 r"\(4, 1, 28, 28\)$"),
    ("bad_npy", {"mode": "float128"}, r"^generator bad_npy returned samples that are not a float32 .npy array"),
    ("bad_npy", {"mode": "header"}, r"^generator bad_npy returned samples that are not a float32 .npy array"),
    ("markup_message", None, r"^generator markup_message raised while sampling: ValueError: \[2K \[1A \[32mPASS \[0m "
                             r"\(green\)PASS\(/green\) looks fine \(/red\)$"),
])
def test_hole_8_malformed_output_is_one_line(tmp_path, name, targets, message):
    with pytest.raises(GeneratorError, match=message) as error:
        first_pixels(hostile_in(tmp_path / "gen", name, targets))
    assert "\n" not in str(error.value) and "\x1b" not in str(error.value)


def test_hole_9_a_file_that_hangs_on_import_fails_at_the_import_limit(tmp_path):
    started = time.monotonic()
    with pytest.raises(GeneratorError, match=r"^generator file hangs_on_import.py was still importing after 5 s, "
                                             r"the sandbox's limit for importing a file"):
        describe(hostile_in(tmp_path / "gen", "hangs_on_import"), Limits(3600, 2048, import_timeout_s=5))
    assert time.monotonic() - started < 15


def test_hole_9_time_and_memory_are_the_harness_measurements(tmp_path):
    path = hostile_in(tmp_path / "gen", "uses_memory")
    ctx = SampleContext(suite="fashion-mnist", shape=SHAPE, num_classes=10, directory=path.parent)
    child = run_child(path, FAST, n=4, ctx=ctx)
    assert child.peak_mib >= 400 and 1.5 <= child.sampling_s < child.wall_s


def test_child_text_is_cleaned_of_control_characters_and_markup():
    assert clean("\x1b[31m[bold red]x[/] [0, 1]\r\n\u202eok\x00") == "[31m(bold red)x(/) [0, 1] ok"
    assert len(clean("x" * 10_000)) == 300


def test_the_pull_request_workflow_judges_with_the_base_branchs_harness():
    workflow = (Path(__file__).parents[1] / ".github" / "workflows" / "generators.yml").read_text()
    job = workflow[workflow.index("\n  generators:"):]
    assert "pip install -e" not in job and "github.event.pull_request.base.sha" in job
    assert "base/scripts/pr_generators.py" in job and "bubblewrap" in job


def test_evaluate_all_goes_on_after_any_error_of_one_file(tmp_path, monkeypatch):
    from csbench import sweep

    folder = tmp_path / "generators"
    folder.mkdir()
    for name in ("a.py", "b.py"):
        (folder / name).write_text("")

    def describe(path, limits, protected):
        if path.name == "a.py":
            raise RecursionError("maximum recursion depth exceeded \x1b[31m[red]")
        return SandboxedGenerator("b", ("other-suite",), False, "", path, {})

    monkeypatch.setattr(sweep, "describe", describe)
    outcomes = sweep.evaluate_all("fashion-mnist", folder, out_dir=tmp_path / "results",
                                  options=RunOptions(limits=FAST))
    assert [(o.file.name, o.status, o.detail) for o in outcomes] == [
        ("a.py", "failed", "unexpected RecursionError: maximum recursion depth exceeded [31m(red)"),
        ("b.py", "unsupported", "")]


@pytest.mark.skipif(os.geteuid() != 0, reason="the refusal is for a root harness")
def test_root_without_a_user_namespace_is_refused_up_front():
    from csbench.sandbox_worker import refusal

    assert refusal({"user_namespace": True}) is None
    assert refusal({"user_namespace": False}).startswith("the sandbox refuses to run a generator as root")


@pytest.mark.skipif("weights" not in SampleContext.__dataclass_fields__, reason="no declared weights in this csbench")
def test_a_generator_reads_its_granted_weight_file_and_nothing_beside_it(tmp_path, mode, monkeypatch):
    cache = tmp_path / "cache"
    (cache / "weights" / "pin1").mkdir(parents=True)
    (cache / "weights" / "pin1" / "w.bin").write_bytes(b"weights")
    (cache / "weights" / "secret.txt").write_bytes(b"not granted")
    monkeypatch.setattr(sandbox, "home", lambda: cache)
    path = hostile_in(tmp_path / "gen", "reads_weights", {"neighbour": "secret.txt"})
    ctx = SampleContext(suite="fashion-mnist", shape=SHAPE, num_classes=10, directory=path.parent,
                        weights={"w.bin": cache / "weights" / "pin1" / "w.bin"})
    assert run_child(path, FAST, n=4, ctx=ctx).samples.reshape(4, -1)[:2, 0].tolist() == [1, 0]


# Issue 28: processes and memory outside the limits, one hostile file per hole.

def memory_cgroup() -> bool:
    """Whether the harness can create a memory cgroup here (root, or a delegated cgroup v2 subtree)."""
    cgroup = sandbox.Cgroup.create(64, 1)
    if cgroup:
        cgroup.remove()
    return cgroup is not None


HARNESS = """
import sys
from pathlib import Path
from csbench import sandbox
from csbench.generators import SampleContext
if sys.argv[2] == "fallback":
    sandbox.bubblewrap = lambda: None
path = Path(sys.argv[1])
ctx = SampleContext(suite="fashion-mnist", shape=(1, 28, 28), num_classes=10, directory=path.parent)
sandbox.run_child(path, sandbox.Limits(120, 2048), n=4, ctx=ctx)
"""


def sleepers() -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"time.sleep(27.1828)" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    return found


def harness_with_detached_sandbox(tmp_path: Path, mode: str) -> subprocess.Popen:
    """A harness process running outlives_harness.py, once both its processes have detached."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "TMPDIR": str(tmp_path / "harness-tmp")}
    (tmp_path / "harness-tmp").mkdir()
    path = hostile_in(tmp_path / "gen", "outlives_harness")
    harness = subprocess.Popen([sys.executable, "-c", HARNESS, str(path), mode], env=env)
    deadline = time.monotonic() + 90
    while len(sleepers()) < 2 and harness.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(sleepers()) == 2, "the hostile generator did not start its two processes"
    return harness


def gone_within(seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while sleepers() and time.monotonic() < deadline:
        time.sleep(0.1)
    return sleepers()


def test_a_generator_that_clears_its_parent_death_signal_ends_with_the_harness(tmp_path, mode):
    harness = harness_with_detached_sandbox(tmp_path, mode)
    harness.kill()  # SIGKILL: the harness cleans nothing up; the kernel must end the sandbox
    harness.wait()
    assert gone_within(5) == []


def test_sigterm_to_the_harness_tears_the_sandbox_down(tmp_path, mode):
    harness = harness_with_detached_sandbox(tmp_path, mode)
    harness.terminate()
    assert harness.wait(timeout=10) == 128 + signal.SIGTERM
    assert gone_within(5) == []
    assert list((tmp_path / "harness-tmp").iterdir()) == []  # its scratch and copy of the request are removed
    assert not [folder for parent in sandbox._cgroup_paths().values() if parent.is_dir()
                for folder in parent.glob(f"csbench-sandbox-{harness.pid}-*")]


@SECCOMP
def test_clone3_cgroup_moves_inotify_and_aio_are_refused(tmp_path, mode):
    # clone3 into the root cgroup, a move there, inotify, AIO; threads still start (libc falls back to clone)
    assert first_pixels(hostile_in(tmp_path / "gen", "clone3_cgroup"), n=5) == [0, 0, 0, 0, 1]


def test_kernel_memory_in_pipes_is_bounded(tmp_path, mode):
    processes, limits = 8, Limits(60, 1024, tasks=64, open_files=4096)
    started = time.monotonic()
    with pytest.raises(GeneratorError) as error:
        first_pixels(hostile_in(tmp_path / "gen", "many_pipes", {"processes": processes}), limits)
    # stopped at the memory cgroup's limit, or bounded by the caps on tasks and open files (a pipe takes two)
    if str(error.value) != ("generator file many_pipes.py used more than 1024 MiB of memory (all its processes "
                            "together) and was stopped"):
        got = re.fullmatch(r"generator many_pipes raised while sampling: RuntimeError: the sandbox let (\d+) "
                           r"processes hold (\d+) pipes with \d+ MiB", str(error.value))
        assert got and int(got[1]) == processes and int(got[2]) <= processes * (limits.open_files // 2)
    assert time.monotonic() - started < 60


def test_kernel_memory_in_folders_is_bounded(tmp_path, mode):
    if mode == "bubblewrap" and not memory_cgroup():
        pytest.skip("bubblewrap's tmpfs has no inode limit, and the harness cannot create a memory cgroup here")
    path = hostile_in(tmp_path / "gen", "many_folders", {"folders": 2_000_000, "ballast_mib": 512})
    with pytest.raises(GeneratorError) as error:
        first_pixels(path, Limits(60, 1024, scratch_mib=600))
    if mode == "fallback":  # its own tmpfs holds 256 inodes per MiB: the root, home, tmp and the ballast file
        assert str(error.value) == ("generator many_folders raised while sampling: RuntimeError: made 153596 "
                                    "folders, then No space left on device")
    else:
        assert str(error.value) == ("generator file many_folders.py used more than 1024 MiB of memory (all its "
                                    "processes together) and was stopped")
