"""Run a generator file in a locked-down child process: the harness never imports code from a pull request.

The child (csbench/sandbox_worker.py) gets a scrubbed environment, a temporary home, a wall-clock timeout, memory
and file-size limits, and only what it needs: its own folder, the seed, the count, the suite's sample shape and
number of classes, and the training split only if the generator declares `needs_train_data`. Where Linux offers
them it also enters a new user and network namespace (no network) and restricts itself with Landlock (files
outside its grants, the test split and the results among them, cannot be opened; no TCP). It reports which of
these it really applied; that report goes into the result record. Samples come back as a .npy file, loaded
without pickle and checked against the contract before use.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from .cache import data_root, home, sha256_file
from .errors import GeneratorError
from .generators import Generator, SampleContext, check_samples

PACKAGE_DIR = Path(__file__).resolve().parent
WORKER = PACKAGE_DIR / "sandbox_worker.py"
# What Python, torch and the CUDA driver read; the worker adds its own /proc/<pid>. Not all of /proc: other
# processes' command lines live there.
SYSTEM_READ = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/etc/ld.so.cache", "/etc/localtime",
               "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/sys", "/proc/driver", "/sys")
# Character devices a generator may use: not all of /dev, where the harness's user (root, on many CI machines) could
# read the disk itself. The GPU's device files are added where they exist.
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
              "OPENBLAS_NUM_THREADS", "CUDA_VISIBLE_DEVICES")
LOG_MIB = 64  # room for the child's own output beyond the samples file


@dataclass(frozen=True)
class Limits:
    """Per child process. The memory limit is on data (heap) memory, not address space; see sandbox_worker."""

    timeout_s: float = 3600.0
    memory_mib: int = 8192


@dataclass(frozen=True)
class SandboxedGenerator:
    """A generator file as its child process described it, with the protections that child really had."""

    name: str
    suites: tuple[str, ...]
    needs_train_data: bool
    description: str
    path: Path
    sandbox: dict

    supports = Generator.supports


@dataclass(frozen=True)
class ChildResult:
    meta: dict
    samples: np.ndarray | None
    sandbox: dict
    sampling_s: float | None
    peak_mib: float  # peak resident memory, as the child reports it
    labels: np.ndarray | None = None  # the generator's own class labels, where it returns them


def readable(grants: Iterable[Path | str], protected: Iterable[Path | str]) -> list[str]:
    """The existing `grants`, with every folder that holds a protected path replaced by its other entries."""
    protected = [Path(p).resolve() for p in protected]
    out: list[str] = []

    def add(path: Path) -> None:
        if not path.exists() or any(path.is_relative_to(p) for p in protected):
            return
        if path.is_dir() and any(p.is_relative_to(path) for p in protected):
            for entry in sorted(path.iterdir()):
                add(entry)
        elif str(path) not in out:
            out.append(str(path))

    for grant in grants:
        add(Path(grant).resolve())
    return out


def _python_paths() -> list[Path]:
    return [Path(p) for p in sys.path if p and Path(p).is_absolute()]


def _write_train(train, path: Path) -> None:
    """An image split as images/labels, a table (csbench.tabular.data.Table) as rows/labels: the worker rebuilds
    the same type from the array names, without pickle."""
    if hasattr(train, "rows"):
        np.savez(path, rows=np.asarray(train.rows), labels=np.asarray(train.labels))
    else:
        np.savez(path, images=train.images.numpy(), labels=train.labels.numpy())


def _child_env(tmp: Path) -> dict:
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.update(HOME=str(tmp / "home"), TMPDIR=str(tmp / "tmp"))
    return env


def _wait(proc: subprocess.Popen, timeout_s: float) -> int | None:
    """The exit status, None on timeout; in every case, Ctrl-C included, the whole process group is killed."""
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()


def one_line(message: object, limit: int = 500) -> str:
    """A child's message as one line of bounded length: it cannot forge extra lines in the harness's output."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _crash_message(who: str, status: int, log: Path, file_mib: int) -> str:
    if status < 0:
        sig = signal.Signals(-status)
        if sig == signal.SIGXCPU:
            return f"{who} used more CPU time than the sandbox allows and was stopped"
        if sig == signal.SIGXFSZ:
            return f"{who} wrote more than {file_mib} MiB to a file and was stopped"
        if sig == signal.SIGKILL:
            return f"{who} was killed (SIGKILL), most likely by the system for using too much memory"
        return f"{who} crashed with signal {sig.name}"
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()] if log.is_file() else []
    return f"{who} exited with code {status} before reporting" + (f": {lines[-1].strip()[:300]}" if lines else "")


def run_child(file: Path | str, limits: Limits = Limits(), *, n: int | None = None, seed: int = 0,
              ctx: SampleContext | None = None, protected: Sequence[Path | str] = ()) -> ChildResult:
    """Import `file` in a sandboxed child; with `n`, also draw `n` samples for `seed` in context `ctx`.

    Raises GeneratorError naming the cause for a crash, a hang, a blocked file or an error in the generator.
    """
    file = Path(file).resolve()
    if not file.is_file():
        raise GeneratorError(f"generator file {file} does not exist")
    who = f"generator file {file.name}"
    tmp = Path(tempfile.mkdtemp(prefix="csbench-sandbox-"))
    try:
        for sub in ("lib", "out", "home", "tmp"):
            (tmp / sub).mkdir()
        (tmp / "lib" / "csbench").symlink_to(PACKAGE_DIR, target_is_directory=True)
        train = None
        if ctx is not None and ctx.train is not None:
            train = tmp / "train.npz"
            _write_train(ctx.train, train)
        file_mib = limits.memory_mib + LOG_MIB  # the samples file holds an array the child had in memory
        protected = [home(), data_root(), *protected]
        status_read, status_write = os.pipe()
        request = {
            "file": str(file), "lib": str(tmp / "lib"), "out": str(tmp / "out"), "n": n, "seed": seed,
            "suite": ctx.suite if ctx else None, "shape": list(ctx.shape) if ctx else None,
            "num_classes": ctx.num_classes if ctx else None, "device": ctx.device if ctx else "cpu",
            "train": str(train) if train else None, "memory_mib": limits.memory_mib, "file_mib": file_mib,
            "cpu_s": math.ceil(limits.timeout_s * (os.cpu_count() or 1)),
            "read": readable([*SYSTEM_READ, *_python_paths(), PACKAGE_DIR, file.parent], protected),
            "write": [str(tmp)], "devices": [*DEVICES, *map(str, Path("/dev").glob("nvidia*"))],
            "status_fd": status_write,
        }
        (tmp / "request.json").write_text(json.dumps(request))
        log = tmp / "log.txt"
        with open(log, "wb") as log_file:
            proc = subprocess.Popen([sys.executable, "-I", str(WORKER), str(tmp / "request.json")], cwd=tmp,
                                    env=_child_env(tmp), stdin=subprocess.DEVNULL, stdout=log_file,
                                    stderr=subprocess.STDOUT, pass_fds=(status_write,), start_new_session=True)
        os.close(status_write)
        status = _wait(proc, limits.timeout_s)
        with os.fdopen(status_read) as pipe:
            report = pipe.read()
        sandbox = {**(json.loads(report) if report else {}), "timeout_s": limits.timeout_s}
        if status is None:
            raise GeneratorError(f"{who} timed out after {limits.timeout_s:g} s")
        result_path = tmp / "out" / "result.json"
        try:
            result = json.loads(result_path.read_text())
        except (OSError, ValueError):
            raise GeneratorError(_crash_message(who, status, log, file_mib)) from None
        if not isinstance(result, dict):
            raise GeneratorError(f"{who} overwrote the sandbox's result file")
        if "error" in result:
            raise GeneratorError(one_line(result["error"]))
        samples = labels = None
        if n is not None:
            try:
                samples = np.load(tmp / "out" / "samples.npy", allow_pickle=False)
                if (tmp / "out" / "labels.npy").is_file():
                    labels = np.load(tmp / "out" / "labels.npy", allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise GeneratorError(f"{who} returned no readable samples ({type(exc).__name__}: {exc})") from None
        return ChildResult(result.get("meta", {}), samples, sandbox, result.get("sampling_s"),
                           result.get("peak_mib", 0.0), labels)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
DESCRIBED: dict[tuple[Path, str, Limits], SandboxedGenerator] = {}


def describe(file: Path | str, limits: Limits = Limits(), protected: Sequence[Path | str] = ()) -> SandboxedGenerator:
    """What a generator file registers (name, suites, needs_train_data), learnt without importing it here.

    Remembered per file content for this process: a sweep would otherwise pay a child process per file twice."""
    path = Path(file).resolve()
    key = (path, sha256_file(path) if path.is_file() else "", limits)
    if key not in DESCRIBED:
        child = run_child(path, limits, protected=protected)
        meta = child.meta
        if not {"name", "suites", "needs_train_data", "description"} <= set(meta):
            raise GeneratorError(f"generator file {path.name} did not report what it registers")
        if not SAFE_NAME.fullmatch(str(meta["name"])):
            raise GeneratorError(f"generator file {path.name} registers the name {one_line(meta['name'], 80)!r}; a "
                                 "name (it names the result file) may use letters, digits, '_', '-' and '.'")
        DESCRIBED[key] = SandboxedGenerator(name=str(meta["name"]), suites=tuple(meta["suites"]),
                                            needs_train_data=bool(meta["needs_train_data"]),
                                            description=str(meta["description"]), path=path, sandbox=child.sandbox)
    return DESCRIBED[key]


def sample(gen: SandboxedGenerator, ctx: SampleContext, n: int, seed: int, limits: Limits = Limits(),
           protected: Sequence[Path | str] = (), value_range: tuple[float, float] | None = (0.0, 1.0)) -> torch.Tensor:
    """`n` checked samples for `seed`, drawn in a sandboxed child; the training split goes only to generators
    that declare they need it. `value_range` as in check_samples: None for standardised table rows."""
    return sample_labelled(gen, ctx, n, seed, limits, protected, value_range)[0]


def sample_labelled(gen: SandboxedGenerator, ctx: SampleContext, n: int, seed: int, limits: Limits = Limits(),
                    protected: Sequence[Path | str] = (), value_range: tuple[float, float] | None = (0.0, 1.0)
                    ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """As `sample`, with the generator's own labels (int64, checked to be class indices), or None without them."""
    if ctx.train is not None and not gen.needs_train_data:
        raise ValueError("the training split is handed only to generators that declare needs_train_data")
    child = run_child(gen.path, limits, n=n, seed=seed, ctx=ctx, protected=protected)
    samples, labels = child.samples, child.labels
    if labels is not None and (labels.shape != (n,) or labels.dtype != np.int64 or labels.min(initial=0) < 0
                               or labels.max(initial=0) >= ctx.num_classes):
        raise GeneratorError(f"generator {gen.name} returned labels that are not {n} class indices in "
                             f"[0, {ctx.num_classes})")
    if samples.dtype.kind not in "biuf":
        expected = f" in [{value_range[0]:g}, {value_range[1]:g}]" if value_range else ""
        raise GeneratorError(f"generator {gen.name} returned dtype {samples.dtype}, expected floats{expected}")
    samples = check_samples(samples.astype(samples.dtype.newbyteorder("="), copy=False), n, ctx.shape,
                            name=f"generator {gen.name}", value_range=value_range)
    return samples, None if labels is None else torch.from_numpy(labels)
