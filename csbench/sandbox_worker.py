"""The child side of csbench.sandbox: lock this process down, then import and run one generator file.

Run as `python -I sandbox_worker.py REQUEST.json` (see csbench.sandbox). Until the locks are in place it uses only
the standard library, so no code of the harness, torch or the generator runs unconfined. It reports the locks it
really managed to apply on a pipe it closes before the generator file is imported, so the generator cannot forge
that report; everything else comes back as files in the output folder, which the parent checks.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys
import time

# Linux system call numbers, the same on every architecture that has Landlock (x86_64, arm64, ...).
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000

# Landlock filesystem rights (include/uapi/linux/landlock.h) and the ABI version that introduced each.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
ABI1_FS = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
NET_TCP = (1 << 0) | (1 << 1)  # BIND_TCP | CONNECT_TCP, ABI 4
SCOPES = (1 << 0) | (1 << 1)  # abstract unix sockets | signals, ABI 6


class RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def set_limits(memory_mib: int, file_mib: int, cpu_s: int) -> list[str]:
    """Memory via RLIMIT_DATA (heap and anonymous mappings), not RLIMIT_AS: torch and CUDA reserve far more
    address space than they use. RLIMIT_FSIZE stops a generator filling the disk; RLIMIT_CPU ends any process it
    starts that escapes the timeout's process-group kill."""
    limits = [("RLIMIT_DATA", resource.RLIMIT_DATA, memory_mib << 20, f"{memory_mib} MiB"),
              ("RLIMIT_FSIZE", resource.RLIMIT_FSIZE, file_mib << 20, f"{file_mib} MiB"),
              ("RLIMIT_CPU", resource.RLIMIT_CPU, cpu_s, f"{cpu_s} s"), ("RLIMIT_CORE", resource.RLIMIT_CORE, 0, "0")]
    applied = []
    for name, which, value, text in limits:
        try:
            resource.setrlimit(which, (value, value))
            applied.append(f"{name}={text}")
        except (ValueError, OSError):
            pass
    return applied


def enter_namespaces(libc) -> dict:
    """A new user namespace (drops the harness's capabilities, so the limits cannot be raised again) holding a
    new network namespace with no interfaces but a loopback that is down: no network at all."""
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        try:
            for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
        except OSError:
            pass
        return {"user_namespace": True, "network_namespace": True}
    return {"user_namespace": False, "network_namespace": libc.unshare(CLONE_NEWNET) == 0}


def landlock_abi(libc=None) -> int:
    """The kernel's Landlock ABI version; 0 where there is none (not Linux, older kernel, disabled)."""
    if not sys.platform.startswith("linux"):
        return 0
    libc = libc or ctypes.CDLL(None, use_errno=True)
    return max(0, libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, 0, LANDLOCK_CREATE_RULESET_VERSION))


def landlock(libc, read: list[str], write: list[str], devices: list[str]) -> int:
    """Allow reading only `read`, writing only `write` and using only `devices`; deny TCP and foreign signals.

    Returns the Landlock ABI version applied, 0 where the kernel has no Landlock."""
    abi = landlock_abi(libc)
    if abi < 1:
        return 0
    fs = ABI1_FS | (REFER if abi >= 2 else 0) | (TRUNCATE if abi >= 3 else 0) | (IOCTL_DEV if abi >= 5 else 0)
    attr = RulesetAttr(fs, NET_TCP if abi >= 4 else 0, SCOPES if abi >= 6 else 0)
    ruleset = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.sizeof(attr), 0)
    if ruleset < 0:
        return 0
    grants = [(p, EXECUTE | READ_FILE | READ_DIR) for p in read] + [(p, fs) for p in write]
    grants += [(p, READ_FILE | WRITE_FILE | READ_DIR | (IOCTL_DEV if abi >= 5 else 0)) for p in devices]
    for path, rights in grants:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if not os.path.isdir(path):
                rights &= FILE_RIGHTS
            rule = PathBeneathAttr(rights & fs, fd)
            if libc.syscall(SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0):
                raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
        finally:
            os.close(fd)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) or libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0):
        raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    os.close(ruleset)
    return abi


def lock_down(request: dict) -> dict:
    libc = ctypes.CDLL(None, use_errno=True)
    applied = {"process": True, "environment": "scrubbed",
               "rlimits": set_limits(request["memory_mib"], request["file_mib"], request["cpu_s"])}
    if not sys.platform.startswith("linux"):  # the namespace and Landlock calls below are Linux system calls
        applied.update(user_namespace=False, network_namespace=False, landlock=False, landlock_abi=0)
        return applied
    applied.update(enter_namespaces(libc))
    abi = landlock(libc, [*request["read"], f"/proc/{os.getpid()}"], request["write"], request["devices"])
    applied.update(landlock=abi > 0, landlock_abi=abi)
    return applied


def explain(exc: BaseException, name: str, request: dict, applied: dict) -> str | None:
    """One line naming the cause for the errors the sandbox itself produces (blocked file, memory limit)."""
    cause = exc.__context__ if exc.__suppress_context__ and exc.__context__ is not None else exc
    if isinstance(cause, PermissionError) and cause.filename and applied["landlock"]:
        return (f"{name} tried to open {cause.filename}, which the sandbox blocks (a generator may read only its "
                "own folder and, if it declares needs_train_data, the training split)")
    if isinstance(cause, MemoryError) or "can't allocate memory" in str(cause):
        return f"{name} ran out of memory: the sandbox allows {request['memory_mib']} MiB ({type(cause).__name__})"
    return None


def peak_mib() -> float:
    """This process's peak resident memory. Not ru_maxrss on Linux: that carries over from the parent across exec
    (macOS, without /proc, reports it in bytes)."""
    try:
        with open("/proc/self/status") as f:
            return next((int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:")), 0.0)
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run(request: dict, applied: dict) -> dict:
    """Import the generator file and, if asked, draw samples into samples.npy; return what to report."""
    sys.path.insert(0, request["lib"])
    from pathlib import Path

    import numpy as np
    import torch

    from csbench.data import Split
    from csbench.errors import GeneratorError
    from csbench.generators import SampleContext, load_generator_file

    name = f"generator file {Path(request['file']).name}"
    try:
        gen = load_generator_file(request["file"])
    except GeneratorError as exc:
        return {"error": explain(exc, name, request, applied) or str(exc)}
    name = f"generator {gen.name}"
    meta = {"name": gen.name, "suites": list(gen.suites), "needs_train_data": gen.needs_train_data,
            "description": gen.description}
    if request.get("n") is None:
        return {"meta": meta}
    train = None
    if request.get("train"):
        with np.load(request["train"], allow_pickle=False) as arrays:
            if "rows" in arrays:  # a table: the split object tabular generators expect
                from csbench.tabular.data import Table

                train = Table(arrays["rows"], arrays["labels"])
            else:
                train = Split(torch.from_numpy(arrays["images"]), torch.from_numpy(arrays["labels"]))
    ctx = SampleContext(suite=request["suite"], shape=tuple(request["shape"]), num_classes=request["num_classes"],
                        directory=Path(request["file"]).parent, device=request["device"], train=train)
    t0 = time.perf_counter()
    try:
        out = gen.sample(request["n"], request["seed"], ctx)
    except BaseException as exc:
        return {"meta": meta, "error": explain(exc, name, request, applied)
                or f"{name} raised while sampling: {type(exc).__name__}: {exc}"}
    seconds = time.perf_counter() - t0
    images, labels = out if isinstance(out, tuple) and len(out) == 2 else (out, None)
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu()
        images = (images.float() if images.dtype == torch.bfloat16 else images).numpy()
    if not isinstance(images, np.ndarray) or images.dtype == object:
        return {"meta": meta, "error": f"{name} returned {type(images).__name__}, expected a float tensor or array"}
    np.save(Path(request["out"]) / "samples.npy", images, allow_pickle=False)
    if labels is not None:
        labels = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
        if labels.shape != (len(images),) or labels.dtype.kind not in "iu":
            return {"meta": meta, "error": f"{name} returned labels of shape {labels.shape} and dtype {labels.dtype}, "
                    f"expected {len(images)} integer class indices"}
        np.save(Path(request["out"]) / "labels.npy", labels.astype(np.int64), allow_pickle=False)
    return {"meta": meta, "sampling_s": seconds, "peak_mib": peak_mib()}


def main(request_path: str) -> None:
    with open(request_path) as f:
        request = json.load(f)
    applied = lock_down(request)
    with os.fdopen(request["status_fd"], "w") as status:
        status.write(json.dumps(applied))
    result = run(request, applied)
    path = os.path.join(request["out"], "result.json")
    with open(path + ".tmp", "w") as f:
        json.dump(result, f)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main(sys.argv[1])
