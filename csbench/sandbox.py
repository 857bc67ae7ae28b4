"""Run a generator file in a locked-down child process: the harness never imports code from a pull request.

Where bubblewrap works, the child (csbench/sandbox_worker.py) runs in new user, mount, PID, IPC, network, UTS and
cgroup namespaces and sees only what it needs, read-only: the system's programs and libraries, the Python
installation, the csbench package, its own folder and, if it declares `needs_train_data`, the training split; plus a
size-limited private scratch folder. No folder that holds a suite's data (the cache, the data root, Debian's
/usr/share/datasets...) is granted in either mode. No host socket, /tmp or $HOME exists for it, and every process it
starts ends with it. Where bubblewrap is missing or
cannot create namespaces, the present fallback applies: the worker enters what namespaces it can and restricts
itself with Landlock. In both, the worker sets resource limits and a seccomp filter (no sockets, keyrings, System
V IPC, memfd, io_uring, mounts), then reports which locks it really applied; that report goes into the record.

The harness trusts nothing the child controls: results come back on pipes and a file the harness opened, every
read is bounded by what the request implies, the samples' .npy header is checked before any data is read, every
wait has a deadline, and it measures time, memory and the number of tasks itself. Child text is cleaned of
control characters and markup before it reaches an error message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import json
import math
import os
import re
import selectors
import shlex
import shutil
import signal
import site
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from .cache import home, sha256_file
from .data import dataset_folders
from .errors import GeneratorError, clean
from .generators import (
    Generator,
    SampleContext,
    WeightFile,
    check_generator_name,
    check_labels,
    check_samples,
    declared_weights,
    fetch_generator_weights,
    parse_weights,
)
from .sandbox_worker import namespace_ids  # the standard library only: safe to import in the harness

PACKAGE_DIR = Path(__file__).resolve().parent
WORKER = PACKAGE_DIR / "sandbox_worker.py"
# The system's programs and shared libraries, which Python, torch, the CUDA driver and any program a generator
# starts need: not the rest of /usr, where data lives (Debian's /usr/share/datasets holds Fashion-MNIST's test split).
PROGRAMS_AND_LIBRARIES = ("/bin", "/usr/bin", "/usr/local/bin", "/lib", "/lib64", "/usr/lib", "/usr/lib64",
                          "/usr/local/lib")
# What else they read; the worker adds its own /proc/<pid>. Not all of /proc: other processes' command lines live
# there.
SYSTEM_READ = (*PROGRAMS_AND_LIBRARIES, "/etc/ld.so.cache", "/etc/localtime", "/proc/cpuinfo", "/proc/meminfo",
               "/proc/stat", "/proc/sys", "/proc/driver", "/sys")
# Character devices a generator may use: not all of /dev, where the harness's user (root, on many CI machines) could
# read the disk itself. The GPU's device files are added where they exist.
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
              "OPENBLAS_NUM_THREADS", "CUDA_VISIBLE_DEVICES")
INSIDE = Path("/csbench")  # under bubblewrap: the request, the package and the training split, read-only
SCRATCH = Path("/scratch")  # under bubblewrap: the child's only writable folder, a size-limited tmpfs
SHM_MIB = 64  # /dev/shm under bubblewrap, a tmpfs of its own
MESSAGE_BYTES = 1 << 16  # the most the harness reads of the child's report or result
LOG_BYTES = 4096  # the end of the child's output kept for an error message
NPY_HEADER_BYTES = 4096
POLL_S = 0.1  # how often the harness measures the child's processes
DRAIN_S = 1.0  # how long the harness waits, after the child ends, for its pipes to close


def _import_timeout_default() -> float:
    try:
        return float(os.environ.get("CSBENCH_IMPORT_TIMEOUT", "120"))
    except ValueError:
        raise GeneratorError("CSBENCH_IMPORT_TIMEOUT must be a number of seconds") from None


@dataclass(frozen=True)
class Limits:
    """Per child process. `memory_mib` limits each process's data (heap) memory and all its processes' anonymous
    and shared memory together, and, where the harness can create a memory cgroup, all the memory the kernel
    charges them, its own included; `import_timeout_s` (default $CSBENCH_IMPORT_TIMEOUT or 120) bounds importing
    the file; `tasks` caps processes and threads; `open_files` caps each process's open files (pipes included);
    `scratch_mib` sizes its writable folder, a tmpfs."""

    timeout_s: float = 3600.0
    memory_mib: int = 8192
    import_timeout_s: float = field(default_factory=_import_timeout_default)
    tasks: int = 1024
    scratch_mib: int = 1024
    open_files: int = 256


@dataclass(frozen=True)
class SandboxedGenerator:
    """A generator file as its child process described it, with the protections that child really had."""

    name: str
    suites: tuple[str, ...]
    needs_train_data: bool
    description: str
    path: Path
    sandbox: dict
    import_s: float | None = None  # the harness's wall clock for the describing child: start to exit
    weights: tuple[WeightFile, ...] = ()  # the weight files it declares, fetched by the harness

    supports = Generator.supports


def context(gen: SandboxedGenerator, suite: str, shape: tuple[int, ...], num_classes: int, train=None,
            device: str = "cpu") -> SampleContext:
    """The context a sandboxed generator is called in: the training split only where it declares it needs it,
    and its declared weight files, downloaded and verified here first (the sandbox has no network)."""
    return SampleContext(suite=suite, shape=tuple(shape), num_classes=num_classes, directory=gen.path.parent,
                         device=device, train=train if gen.needs_train_data else None,
                         weights=fetch_generator_weights(gen))


@dataclass(frozen=True)
class ChildResult:
    """What came back, with the harness's own measurements: wall clock from start to the end of every process,
    from start to the child's "imported" marker, from that marker to its result; peak anonymous and shared memory
    of all the child's processes together."""

    meta: dict
    samples: np.ndarray | None
    sandbox: dict
    sampling_s: float | None
    peak_mib: float
    wall_s: float = 0.0
    import_s: float | None = None
    labels: np.ndarray | None = None  # the generator's own class labels, where it returns them


def readable(grants: Iterable[Path | str], protected: Iterable[Path | str]) -> list[str]:
    """The existing `grants`, with every folder that holds a protected path replaced by its other entries. An
    entry that is a symbolic link out of its grant is left out: granting it would grant its target."""
    protected = [Path(p).resolve() for p in protected]
    out: list[str] = []

    def add(path: Path, within: Path) -> None:
        real = path.resolve()
        if not real.exists() or not real.is_relative_to(within) or any(real.is_relative_to(p) for p in protected):
            return
        if real.is_dir() and any(p.is_relative_to(real) for p in protected):
            for entry in sorted(real.iterdir()):
                add(entry, within)
        elif str(real) not in out:
            out.append(str(real))

    for grant in grants:
        add(Path(grant), Path(grant).resolve())
    return out


def _too_wide(folder: Path) -> str | None:
    """Why granting `folder` would grant more than a generator's own files, if it would."""
    if folder == Path(folder.anchor) or folder == Path.home().resolve():
        return "is the file system's root or the home folder"
    if (folder / ".git").exists():
        return "holds .git (a repository's root)"
    return None


def installation() -> list[Path]:
    """The Python installation the child needs, from the resolved interpreter and its configuration: the
    interpreter, the standard library, the site-packages folders and, for a virtual environment, its pyvenv.cfg.
    Never the working directory, $HOME or PYTHONPATH, which `sys.path` may hold."""
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
    paths = [Path(sys.executable), Path(sys.executable).resolve(), Path(sys.prefix) / "pyvenv.cfg",
             *(Path(sysconfig.get_path(name, vars=base)) for name in ("stdlib", "platstdlib")),
             Path(sysconfig.get_config_var("LIBDIR") or sys.base_prefix), *map(Path, site.getsitepackages())]
    out = []
    for path in paths:
        if path.exists() and path.is_absolute() and (path.is_file() or not _too_wide(path.resolve())):
            out.append(path if path == Path(sys.executable) else path.resolve())
    return list(dict.fromkeys(out))


def runtime(protected: Iterable[Path | str]) -> list[str]:
    """What the child's Python needs, read-only, less every protected folder in it: the interpreter (at its own
    path, where a virtual environment links it), the system's programs and libraries and the Python installation."""
    return list(dict.fromkeys([sys.executable, *readable([*PROGRAMS_AND_LIBRARIES, *installation()], protected)]))


def protected_folders(extra: Iterable[Path | str] = ()) -> list[Path]:
    """What no generator may see, in either sandbox: the cache, every folder known to hold a suite's data files
    and the caller's own (a --data-dir, the results)."""
    return [home(), *dataset_folders(), *map(Path, extra)]


def generator_folder(file: Path | str) -> Path:
    """The resolved folder of a generator file, the one folder of it the sandbox grants. The file must be a
    regular file, not a symbolic link (a link would grant the folder it points into), in a folder that is not a
    repository's root."""
    path = Path(file)
    name = clean(path.name, 100)
    try:
        mode = path.lstat().st_mode
    except OSError:
        raise GeneratorError(f"generator file {name} does not exist") from None
    if stat.S_ISLNK(mode):
        raise GeneratorError(f"generator file {name} is a symbolic link; the sandbox runs only regular files")
    if not stat.S_ISREG(mode):
        raise GeneratorError(f"generator file {name} is not a regular file")
    folder = path.parent.resolve()
    problem = _too_wide(folder)
    if problem is None and PACKAGE_DIR.is_relative_to(folder):
        problem = "holds the csbench package"
    if problem:
        raise GeneratorError(f"generator file {name} is in a folder that {problem}; the sandbox grants a "
                             "generator its folder, so put it in a folder of its own (under generators/)")
    return folder


@functools.cache
def bubblewrap() -> str | None:
    """The bwrap executable, if it is installed and can create every namespace here (it cannot where, for
    example, AppArmor forbids unprivileged user namespaces); None means the fallback applies."""
    exe = shutil.which("bwrap")
    if not exe or not sys.platform.startswith("linux"):
        return None
    command = [exe, *_bwrap_args(runtime(protected_folders()), [], 1, []), sys.executable, "-I", "-c", ""]
    try:
        ok = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return exe if ok else None


def _bwrap_args(read: Sequence[Path | str], binds: Sequence[tuple[str, str]], scratch_mib: int,
                devices: Sequence[str]) -> list[str]:
    """bubblewrap's options: new namespaces, and a root holding only `read` (at their own paths), `binds`
    (source, destination inside), `devices`, a fresh /proc and /dev and a size-limited scratch folder."""
    args = ["--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--disable-userns", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--hostname", "sandbox"]
    for top in ("/bin", "/lib", "/lib64"):  # on systems where they link into /usr
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
    for path in ("/etc/ld.so.cache", "/etc/localtime", "/sys/devices/system"):
        args += ["--ro-bind-try", path, path]
    if devices:
        args += ["--ro-bind", "/sys", "/sys"]  # the CUDA driver reads the PCI topology
    for path in sorted(map(str, read)):  # a folder before what lies in it
        args += ["--ro-bind", path, path]
    for source, destination in binds:
        args += ["--ro-bind", source, destination]
    args += ["--proc", "/proc", "--dev", "/dev"]
    for device in devices:
        args += ["--dev-bind", device, device]
    args += ["--size", str(SHM_MIB << 20), "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
             "--size", str(scratch_mib << 20), "--tmpfs", str(SCRATCH), "--dir", str(SCRATCH / "home"),
             "--dir", str(SCRATCH / "tmp")]
    if not any(Path(path).is_relative_to("/tmp") for path in [*map(str, read), *(d for _, d in binds)]):
        args += ["--symlink", str(SCRATCH / "tmp"), "/tmp"]  # else /tmp holds a bound folder, read-only
    return args + ["--remount-ro", "/", "--chdir", str(SCRATCH), "--"]


def _write_train(train, path: Path) -> None:
    """A split's arrays, and whether they were tensors: the worker rebuilds the same split, without pickle."""
    tensors = isinstance(train.data, torch.Tensor)
    np.savez(path, data=np.asarray(train.data), labels=np.asarray(train.labels), tensors=np.bool_(tensors))


class _Channel:
    """One pipe from the child, read without blocking: its first `limit` bytes (or last, with `tail`), and when
    its first byte came."""

    def __init__(self, fd: int, limit: int, tail: bool = False):
        self.fd, self.limit, self.tail = fd, limit, tail
        self.data, self.first_at, self.open, self.overflow = b"", None, True, False

    def read(self) -> None:
        """What is there now, up to 1 MiB."""
        for _ in range(16):
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return
            if not chunk:
                self.open = False
                return
            self.first_at = self.first_at or time.monotonic()
            self.data = (self.data + chunk)[-self.limit:] if self.tail else self.data + chunk
            if not self.tail and len(self.data) > self.limit:  # the rest is never read: the writer gets EPIPE
                self.data, self.overflow = self.data[: self.limit], True
                self.close()
                return

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
        self.fd, self.open = -1, False


def _pump(channels: list[_Channel], timeout: float) -> None:
    with selectors.DefaultSelector() as selector:
        for channel in channels:
            if channel.open:
                selector.register(channel.fd, selectors.EVENT_READ, channel)
        if not selector.get_map():
            time.sleep(max(0.0, timeout))
            return
        for key, _ in selector.select(max(0.0, timeout)):
            key.data.read()


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants, from /proc/<pid>/task/<tid>/children."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo += [int(child) for child in f.read().split()]
        except OSError:
            pass
    return out


def _usage(pid: int) -> tuple[float, int]:
    """Anonymous and shared memory (MiB, proportional: shared pages are counted once) and tasks (threads) of
    `pid`'s tree. File pages (libraries, page cache) are not counted; tmpfs files are bounded by their size."""
    kib, tasks = 0, 0
    for member in _tree(pid):
        try:
            with open(f"/proc/{member}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
            tasks += int(status.get("Threads", "1"))
            try:
                with open(f"/proc/{member}/smaps_rollup") as f:
                    rollup = dict(line.split(":", 1) for line in f if ":" in line)
                kib += sum(int(rollup.get(key, "0 kB").split()[0]) for key in ("Pss_Anon", "Pss_Shmem"))
            except OSError:
                kib += sum(int(status.get(key, "0 kB").split()[0]) for key in ("RssAnon", "RssShmem"))
        except (OSError, ValueError):
            pass
    return kib / 1024, tasks


CGROUPS = Path("/sys/fs/cgroup")
SANDBOX_PROCESSES = 3  # beside the generator's tasks: bubblewrap's two, or the fallback's waiting process and init


def _cgroup_paths() -> dict[str, Path]:
    """The harness's own cgroup folder per hierarchy: "" for cgroup v2, else a v1 controller's name."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return {}
    paths = {}
    for line in lines:
        _, controllers, path = line.split(":", 2)
        mount = CGROUPS if not controllers else CGROUPS / controllers
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = mount / path.lstrip("/")
    return paths


def _write(folder: Path, name: str, value: object) -> None:
    (folder / name).write_text(str(value))


class Cgroup:
    """The sandbox's own cgroups, where the harness may create them (root, or a delegated cgroup v2 subtree): the
    kernel then bounds all the sandbox's memory, the kernel's own for its pipes, files and folders included, and
    its tasks, and the harness ends every process in them, however it detached itself. One folder on cgroup v2;
    the memory and pids hierarchies' on v1."""

    def __init__(self, folders: list[Path], limits: list[str]):
        self.folders, self.limits = folders, limits

    @classmethod
    def create(cls, memory_mib: int, tasks: int) -> Cgroup | None:
        """New cgroups with these limits, or None where this machine lets the harness create none."""
        name = f"csbench-sandbox-{os.getpid()}-{next(_COUNTER)}"
        paths = _cgroup_paths()
        v2 = paths.get("")
        for parent in [v2, v2.parent] if v2 and (CGROUPS / "cgroup.controllers").exists() else []:
            try:
                delegated = (parent / "cgroup.subtree_control").read_text().split()
            except OSError:
                continue
            if "memory" in delegated:
                pids = tasks + SANDBOX_PROCESSES if "pids" in delegated else None
                made = cls._make(parent / name, {"memory.max": memory_mib << 20, "memory.swap.max": 0,
                                                 "pids.max": pids})
                if made:
                    return cls([made], [f"memory={memory_mib} MiB"] + ([f"tasks={pids}"] if pids else []))
        folders, limits = [], []
        for controller, settings, text in (
                ("memory", {"memory.limit_in_bytes": memory_mib << 20, "memory.memsw.limit_in_bytes": memory_mib << 20},
                 f"memory={memory_mib} MiB"),
                ("pids", {"pids.max": tasks + SANDBOX_PROCESSES}, f"tasks={tasks + SANDBOX_PROCESSES}")):
            made = cls._make(paths[controller] / name, settings) if controller in paths else None
            if made:
                folders.append(made)
                limits.append(text)
        if not any(text.startswith("memory") for text in limits):
            cls(folders, limits).remove()
            return None
        return cls(folders, limits)

    @staticmethod
    def _make(folder: Path, settings: dict[str, int | None]) -> Path | None:
        """The folder, made and set; None where that failed. The first setting is the limit itself and must take;
        the others (swap) where the kernel has them, and a None value is left out. Empty
        sandbox cgroups a killed harness left beside it are removed first (a cgroup with processes cannot be)."""
        for stale in folder.parent.glob("csbench-sandbox-*-*"):
            with contextlib.suppress(OSError, ValueError):
                if not Path(f"/proc/{int(stale.name.split('-')[2])}").exists():
                    stale.rmdir()
        try:
            folder.mkdir()
        except OSError:
            return None
        try:
            for i, (key, value) in enumerate(settings.items()):
                if value is not None and (i == 0 or (folder / key).exists()):
                    _write(folder, key, value)
            return folder
        except OSError:
            folder.rmdir()
            return None

    def command(self, command: list[str]) -> list[str]:
        """`command`, started in these cgroups: the shell moves itself in, then becomes the command."""
        joins = "".join(f"echo 0 > {shlex.quote(str(folder / 'cgroup.procs'))} && " for folder in self.folders)
        return ["/bin/sh", "-c", joins + 'exec "$@"', "csbench-sandbox", *command]

    def out_of_memory(self) -> bool:
        """Whether the kernel ended a process here for using more memory than the limit."""
        for folder in self.folders:
            for events in ("memory.events", "memory.oom_control"):
                try:
                    fields = dict(line.split() for line in (folder / events).read_text().splitlines())
                except (OSError, ValueError):
                    continue
                if int(fields.get("oom_kill", 0)):
                    return True
        return False

    def kill(self) -> None:
        """SIGKILL to every process in these cgroups."""
        for folder in self.folders:
            try:
                if (folder / "cgroup.kill").exists():
                    _write(folder, "cgroup.kill", 1)
                    continue
                for pid in (folder / "cgroup.procs").read_text().split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            except OSError:
                pass

    def remove(self) -> None:
        """End every process in these cgroups, then remove them (each once its last process has ended)."""
        deadline = time.monotonic() + DRAIN_S
        for folder in self.folders:
            while folder.exists():
                self.kill()
                try:
                    folder.rmdir()
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.01)


_COUNTER = itertools.count()


def _kill(proc: subprocess.Popen, cgroup: Cgroup | None) -> None:
    """The whole process group, whose PID namespace ends with it, and every process in the sandbox's cgroups."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if cgroup:
        cgroup.kill()
    proc.wait()


@dataclass
class _Run:
    status: int | None
    stopped: str | None  # "timeout", "import", "memory" or "tasks" when the harness stopped the child
    wall_s: float
    import_s: float | None  # start to the child's "imported" marker
    result_s: float | None  # start to the first byte of its result
    peak_mib: float


def _supervise(proc: subprocess.Popen, channels: dict[str, _Channel], limits: Limits, started: float,
               import_limit_s: float, cgroup: Cgroup | None = None) -> _Run:
    """Wait for the child with every deadline, reading its pipes and measuring its tree; then kill what is left
    and give its pipes DRAIN_S to close. Ctrl-C included, nothing of the child outlives this."""
    stopped, peak, measured = None, 0.0, 0.0
    marker, pipes = channels["marker"], list(channels.values())
    try:
        while proc.poll() is None:
            now = time.monotonic()
            if marker.first_at is None and now >= started + import_limit_s:
                stopped = "import"
            elif now >= started + limits.timeout_s:
                stopped = "timeout"
            elif now >= measured + POLL_S:
                mib, tasks = _usage(proc.pid)
                peak, measured = max(peak, mib), now
                stopped = "memory" if mib > limits.memory_mib else "tasks" if tasks > limits.tasks else None
            if stopped:
                break
            _pump(pipes, min(POLL_S, started + limits.timeout_s - now))
        ended = time.monotonic()
    finally:
        _kill(proc, cgroup)
    drain_until = time.monotonic() + DRAIN_S
    while any(c.open for c in pipes) and time.monotonic() < drain_until:
        _pump(pipes, drain_until - time.monotonic())
    def since_start(at: float | None) -> float | None:
        return at - started if at else None

    return _Run(proc.returncode if stopped is None else None, stopped, ended - started,
                since_start(marker.first_at), since_start(channels["result"].first_at), peak)


def _json(data: bytes) -> object:
    """Parsed JSON, or None for anything malformed (too deep included)."""
    try:
        return json.loads(data.decode())
    except (ValueError, RecursionError, MemoryError):
        return None


def _report(data: bytes) -> dict:
    """The worker's report of its locks, keeping only plain values: it is written before the generator runs."""
    report = _json(data)
    if not isinstance(report, dict):
        return {}
    return {str(k): v if isinstance(v, (bool, int)) else [clean(x) for x in v] if isinstance(v, list) else clean(v)
            for k, v in report.items()}


def _meta(meta: object, who: str) -> dict:
    """The registration the child reported, type-checked and cleaned."""
    if not (isinstance(meta, dict) and isinstance(meta.get("name"), str) and isinstance(meta.get("suites"), list)
            and all(isinstance(s, str) for s in meta["suites"]) and isinstance(meta.get("needs_train_data"), bool)
            and isinstance(meta.get("description"), str)):
        raise GeneratorError(f"{who} did not report what it registers")
    return {"name": meta["name"], "suites": [clean(s, 80) for s in meta["suites"]],
            "needs_train_data": meta["needs_train_data"], "description": clean(meta["description"]),
            "weights": parse_weights(meta.get("weights", {}), who)}


def _signal_name(status: int) -> signal.Signals | None:
    """The signal that ended the child: Popen's negative status, or 128 + signal as bubblewrap and the fallback's
    waiting process pass it on."""
    number = -status if status < 0 else status - 128 if 128 < status < 128 + signal.NSIG else 0
    try:
        return signal.Signals(number) if number else None
    except ValueError:
        return None


def _crash_message(who: str, status: int, log: bytes, file_mib: int) -> str:
    sig = _signal_name(status)
    if sig == signal.SIGXCPU:
        return f"{who} used more CPU time than the sandbox allows and was stopped"
    if sig == signal.SIGXFSZ:
        return f"{who} wrote more than {file_mib} MiB to a file and was stopped"
    if sig == signal.SIGKILL:
        return f"{who} was killed (SIGKILL), most likely by the system for using too much memory"
    if sig is not None:
        return f"{who} crashed with signal {sig.name}"
    lines = [line for line in log.decode(errors="replace").splitlines() if line.strip()]
    return f"{who} exited with code {status} before reporting" + (f": {clean(lines[-1])}" if lines else "")


def _stopped_message(who: str, run: _Run, limits: Limits, import_limit_s: float) -> str:
    return {"timeout": f"{who} timed out after {limits.timeout_s:g} s",
            "import": f"{who} was still importing after {import_limit_s:g} s, the sandbox's limit for importing a "
                      "file (CSBENCH_IMPORT_TIMEOUT)",
            "memory": f"{who} used more than {limits.memory_mib} MiB of memory (all its processes together) and "
                      "was stopped",
            "tasks": f"{who} started more than {limits.tasks} processes or threads, the sandbox's limit, and was "
                     "stopped"}[run.stopped]


NPY_HEADER = rb"\{'descr': '%s', 'fortran_order': False, 'shape': \((\d+(?:, \d+)*),?\), \} *\n"


def _read_npy(f, expected: tuple[int, ...], descr: str, who: str, what: str) -> np.ndarray:
    """An .npy file the harness opened, read only as far as an array of `expected` shape and `descr` (<f4, <i8)
    goes: the header (that dtype, C order, exactly that shape) and the file's size are checked before any data."""
    dtype = np.dtype(descr)
    wrong = GeneratorError(f"{who} returned {what} that are not a {dtype.name} .npy array of shape {expected}")
    fd = f.fileno()
    info = os.fstat(fd)
    head = os.pread(fd, 12, 0)
    if not stat.S_ISREG(info.st_mode) or len(head) < 10 or head[:6] != b"\x93NUMPY" or head[6] not in (1, 2, 3):
        raise wrong
    size, start = (int.from_bytes(head[8:10], "little"), 10) if head[6] == 1 else (
        int.from_bytes(head[8:12], "little"), 12)
    if size > NPY_HEADER_BYTES:
        raise wrong
    header = re.fullmatch(NPY_HEADER % descr.encode(), os.pread(fd, size, start))
    if not header or tuple(int(d) for d in header.group(1).split(b",")) != expected:
        raise wrong
    data_bytes = math.prod(expected) * dtype.itemsize
    if info.st_size != start + size + data_bytes:
        raise GeneratorError(f"{who} returned a {what} file of {info.st_size:,} bytes; {expected[0]} {what} of "
                             f"shape {tuple(expected[1:])} take {start + size + data_bytes:,}")
    array = np.empty(expected, dtype=dtype)
    view, offset = memoryview(array).cast("B"), 0
    while offset < data_bytes:
        got = os.preadv(fd, [view[offset:]], start + size + offset)
        if not got:
            raise wrong
        offset += got
    return array


def _remove(folder: Path) -> None:
    try:
        shutil.rmtree(folder, ignore_errors=True)
    except RecursionError:  # a folder nested deeper than Python recurses: left for the system's cleaner
        pass


def weight_files(ctx: SampleContext | None) -> dict[str, Path]:
    """The verified weight files the harness fetched for a generator (`ctx.weights`, under the cache, which is
    otherwise protected): each granted on its own, read-only, so each must be a regular file."""
    weights = {str(name): Path(path) for name, path in (getattr(ctx, "weights", None) or {}).items()}
    for name, path in weights.items():
        if path.is_symlink() or not path.is_file():
            raise GeneratorError(f"weight file {clean(name, 100)} is not a regular file at {clean(path)}")
    return {name: path.resolve() for name, path in weights.items()}


def _command(tmp: Path, exe: str | None, folder: Path, train: Path | None, weights: Sequence[Path],
             protected: Sequence[Path | str], devices: list[str], scratch_mib: int) -> tuple[list[str], dict, dict]:
    """The command that starts the worker, the request's paths and grants (as the child sees them), and its
    environment. Under bubblewrap the child sees fixed paths; in the fallback, the harness's own."""
    grants = [*runtime(protected), *readable([folder], protected), *weights]
    if exe:
        request = {"lib": str(INSIDE / "lib"), "request": str(INSIDE / "request.json"),
                   "train": str(INSIDE / "train.npz") if train else None, "scratch": str(SCRATCH),
                   "read": [*SYSTEM_READ, *map(str, grants), str(INSIDE)], "write": [str(SCRATCH), "/dev/shm"]}
        binds = [(str(PACKAGE_DIR), f"{INSIDE}/lib/csbench"), (str(tmp / "request.json"), request["request"])]
        binds += [(str(train), request["train"])] if train else []
        prefix = [exe, *_bwrap_args(grants, binds, scratch_mib, devices)]
    else:
        (tmp / "lib" / "csbench").symlink_to(PACKAGE_DIR, target_is_directory=True)
        request = {"lib": str(tmp / "lib"), "request": str(tmp / "request.json"),
                   "train": str(train) if train else None, "scratch": str(tmp / "scratch"),
                   "read": readable([*SYSTEM_READ, *grants, PACKAGE_DIR, tmp / "lib", tmp / "request.json",
                                     *([train] if train else [])], protected) + list(map(str, weights)),
                   "write": [str(tmp / "scratch")]}
        prefix = []
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.update(HOME=f"{request['scratch']}/home", TMPDIR=f"{request['scratch']}/tmp")
    command = [*prefix, sys.executable, "-I", f"{request['lib']}/csbench/{WORKER.name}", request.pop("request")]
    return command, request, env


def _result(run: _Run, channels: dict[str, _Channel], samples_file, labels_file, n: int | None,
            ctx: SampleContext | None, who: str, file_mib: int) -> tuple[dict, np.ndarray | None, np.ndarray | None]:
    """The child's metadata, samples and labels (None where it returned none), or the one-line reason it has
    none."""
    result = None if channels["result"].overflow else _json(channels["result"].data)
    if not isinstance(result, dict):
        raise GeneratorError(f"{who} returned a malformed result" if channels["result"].data
                             else _crash_message(who, run.status, channels["log"].data, file_mib))
    if "error" in result:
        raise GeneratorError(clean(result["error"], 500))
    meta = _meta(result.get("meta"), who)
    if n is None:
        return meta, None, None
    name = f"generator {clean(meta['name'], 100)}"
    samples = _read_npy(samples_file, (n, *map(int, ctx.shape)), "<f4", name, "samples")
    labels = _read_npy(labels_file, (n,), "<i8", name, "labels") if os.fstat(labels_file.fileno()).st_size else None
    return meta, samples, labels


TEARDOWN_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


@contextlib.contextmanager
def _ended_by_signals():
    """While a sandbox runs, SIGTERM and SIGHUP end the harness as Ctrl-C does, through its `finally` blocks, so
    the sandbox is torn down and its folder removed first (the default action would leave both). Only where Python
    may handle signals (the main thread), and only in place of the default action, never of a handler of the
    program's own."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def end(signum, frame):
        raise SystemExit(128 + signum)

    replaced = [sig for sig in TEARDOWN_SIGNALS[:2] if signal.getsignal(sig) == signal.SIG_DFL]
    for sig in replaced:
        signal.signal(sig, end)
    try:
        yield
    finally:
        for sig in replaced:
            signal.signal(sig, signal.SIG_DFL)


def run_child(file: Path | str, limits: Limits = Limits(), *, n: int | None = None, seed: int = 0,
              ctx: SampleContext | None = None, protected: Sequence[Path | str] = (),
              value_range: tuple[float, float] | None = (0.0, 1.0)) -> ChildResult:
    """Import `file` in a sandboxed child; with `n`, also draw `n` samples for `seed` in context `ctx`.

    Raises GeneratorError naming the cause for a crash, a hang, a blocked file or an error in the generator."""
    with _ended_by_signals():
        return _run_child(file, limits, n, seed, ctx, protected, value_range)


def _run_child(file: Path | str, limits: Limits, n: int | None, seed: int, ctx: SampleContext | None,
               protected: Sequence[Path | str], value_range: tuple[float, float] | None) -> ChildResult:
    folder = generator_folder(file)
    file = folder / Path(file).name
    who = f"generator file {clean(file.name, 100)}"
    exe = bubblewrap()
    # the import limit applies where it is the shorter one; else the child simply times out
    import_limit_s = limits.import_timeout_s if limits.import_timeout_s < limits.timeout_s else math.inf
    sampling_timeout_s = limits.timeout_s  # what the record shows: describing the file has the import limit
    if n is None:
        limits = dataclasses.replace(limits, timeout_s=min(limits.import_timeout_s, limits.timeout_s))
    file_mib = max(limits.scratch_mib, math.ceil((n or 0) * math.prod(ctx.shape if ctx else ()) * 4 / 2**20) + 1)
    devices = [*map(str, Path("/dev").glob("nvidia*"))]
    tmp = Path(tempfile.mkdtemp(prefix="csbench-sandbox-"))  # the harness's own: the child never writes here
    pipes = {name: os.pipe() for name in ("status", "marker", "result", "log")}
    channels = {"status": _Channel(pipes["status"][0], MESSAGE_BYTES), "marker": _Channel(pipes["marker"][0], 16),
                "result": _Channel(pipes["result"][0], MESSAGE_BYTES),
                "log": _Channel(pipes["log"][0], LOG_BYTES, tail=True)}
    write_ends = [w for _, w in pipes.values()]
    cgroup = None
    try:
        for sub in ("lib", "scratch/home", "scratch/tmp"):
            (tmp / sub).mkdir(parents=True)
        train = None
        if ctx is not None and ctx.train is not None:
            train = tmp / "train.npz"
            _write_train(ctx.train, train)
        weights = weight_files(ctx)
        command, paths, env = _command(tmp, exe, folder, train, list(dict.fromkeys(weights.values())),
                                       protected_folders(protected), devices, limits.scratch_mib)
        with tempfile.TemporaryFile(dir=tmp) as samples_file, tempfile.TemporaryFile(dir=tmp) as labels_file:
            fds = [pipes[name][1] for name in ("status", "marker", "result")]
            fds += [samples_file.fileno(), labels_file.fileno()]
            request = {
                "file": str(file), "n": n, "seed": seed, "suite": ctx.suite if ctx else None,
                "shape": list(ctx.shape) if ctx else None, "num_classes": ctx.num_classes if ctx else None,
                "device": ctx.device if ctx else "cpu", "value_range": list(value_range) if value_range else None,
                "memory_mib": limits.memory_mib, "file_mib": file_mib, "tasks": limits.tasks,
                "open_files": limits.open_files, "scratch_mib": limits.scratch_mib, "harness_pid": os.getpid(),
                "cpu_s": math.ceil(sampling_timeout_s * (os.cpu_count() or 1)), "devices": [*DEVICES, *devices],
                "bubblewrap": bool(exe), "harness_namespaces": namespace_ids(), "passed_fds": fds,
                **{f"{name}_fd": pipes[name][1] for name in ("status", "marker", "result")},
                "samples_fd": samples_file.fileno(), "labels_fd": labels_file.fileno(),
                "weights": {name: str(path) for name, path in weights.items()}, **paths,
            }
            (tmp / "request.json").write_text(json.dumps(request))
            for channel in channels.values():
                os.set_blocking(channel.fd, False)
            cgroup = Cgroup.create(limits.memory_mib, limits.tasks)
            started = time.monotonic()
            proc = subprocess.Popen(cgroup.command(command) if cgroup else command, cwd=tmp / "scratch", env=env,
                                    stdin=subprocess.DEVNULL, stdout=pipes["log"][1], stderr=pipes["log"][1],
                                    pass_fds=fds, start_new_session=True)
            while write_ends:
                os.close(write_ends.pop())
            run = _supervise(proc, channels, limits, started, import_limit_s, cgroup)
            if run.stopped is None and cgroup and cgroup.out_of_memory():  # the kernel ended one of its processes
                run.stopped = "memory"
            if run.stopped:
                raise GeneratorError(_stopped_message(who, run, limits, import_limit_s))
            meta, samples, labels = _result(run, channels, samples_file, labels_file, n, ctx, who, file_mib)
        sandbox = {**_report(channels["status"].data), "timeout_s": sampling_timeout_s,
                   "import_timeout_s": min(import_limit_s, limits.timeout_s),
                   "memory_mib_all_processes": limits.memory_mib, "cgroup": cgroup.limits if cgroup else [],
                   "tasks": limits.tasks, **({"scratch_mib": limits.scratch_mib} if exe else {})}
        sampling_s = max(0.0, (run.result_s or run.wall_s) - run.import_s) if run.import_s is not None else None
        return ChildResult(meta, samples, sandbox, sampling_s, run.peak_mib, run.wall_s, run.import_s, labels)
    finally:
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, TEARDOWN_SIGNALS)  # no second signal cuts the teardown
        for fd in write_ends:
            os.close(fd)
        for channel in channels.values():
            channel.close()
        if cgroup:
            cgroup.remove()
        _remove(tmp)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


DESCRIBED: dict[tuple[Path, str, Limits], SandboxedGenerator] = {}


def describe(file: Path | str, limits: Limits = Limits(), protected: Sequence[Path | str] = ()) -> SandboxedGenerator:
    """What a generator file registers (name, suites, needs_train_data), learnt without importing it here, within
    the limit for importing a file.

    Remembered per file content for this process: a sweep would otherwise pay a child process per file twice."""
    folder = generator_folder(file)
    path = folder / Path(file).name
    key = (path, sha256_file(path), limits)
    if key not in DESCRIBED:
        weights = declared_weights(path)  # before the child runs: it can change nothing that is downloaded
        child = run_child(path, limits, protected=protected)
        meta = child.meta
        check_generator_name(meta["name"], f"generator file {clean(path.name, 100)}")
        if tuple(meta["weights"]) != weights:
            raise GeneratorError(f"generator file {clean(path.name, 100)} registers weight files other than its "
                                 "source declares: the weights= of its generator(...) call must be literal")
        DESCRIBED[key] = SandboxedGenerator(name=meta["name"], suites=tuple(meta["suites"]),
                                            needs_train_data=meta["needs_train_data"],
                                            description=meta["description"], path=path, sandbox=child.sandbox,
                                            import_s=child.wall_s, weights=weights)
    return DESCRIBED[key]


def describe_for(file: Path | str, suite: str, limits: Limits = Limits(),
                 protected: Sequence[Path | str] = ()) -> SandboxedGenerator:
    """`describe`, refusing a file that does not declare `suite`."""
    gen = describe(file, limits, protected)
    if not gen.supports(suite):
        raise GeneratorError(f"generator {gen.name} does not declare suite {suite!r} (it supports "
                             f"{', '.join(gen.suites)})")
    return gen


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
    child = run_child(gen.path, limits, n=n, seed=seed, ctx=ctx, protected=protected, value_range=value_range)
    name = f"generator {gen.name}"
    samples = check_samples(child.samples, n, ctx.shape, name=name, value_range=value_range)
    return samples, None if child.labels is None else check_labels(child.labels, n, ctx.num_classes, name)
