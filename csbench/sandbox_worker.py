"""The child side of csbench.sandbox: lock this process down, then import and run one generator file.

Run as `python -I sandbox_worker.py REQUEST.json` (see csbench.sandbox), inside bubblewrap where the harness found
it usable, else directly. Until the locks are in place it uses only the standard library, so no code of the
harness, torch or the generator runs unconfined. It reports the locks it really has on a pipe it closes before
the generator file is imported, so the generator cannot forge that report. Everything else goes back on file
descriptors the harness opened (a marker pipe once the file is imported, a result pipe, a samples file): nothing
the harness reads lies in a folder the child can write to.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import resource
import select
import signal
import struct
import sys

# Linux system call numbers, the same on every architecture that has Landlock (x86_64, arm64, ...).
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 1, 38, 22, 2
CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWPID = 0x10000000, 0x40000000, 0x08000000, 0x20000000
CLONE_NEWCGROUP, CLONE_NEWNS = 0x02000000, 0x00020000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 2, 4, 1 << 14, 1 << 18
NAMESPACES = ("user", "net", "pid", "ipc", "mnt", "cgroup")

# Landlock filesystem rights (include/uapi/linux/landlock.h) and the ABI version that introduced each.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
ABI1_FS = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
NET_TCP = (1 << 0) | (1 << 1)  # BIND_TCP | CONNECT_TCP, ABI 4
SCOPES = (1 << 0) | (1 << 1)  # abstract unix sockets | signals, ABI 6

# System calls a generator has no use for, denied by seccomp with EPERM: sockets (a pathname Unix socket is a file
# Landlock cannot refuse), keyrings, System V IPC (uncounted memory, other users' segments), memfd (memory no limit
# counts), io_uring (its operations bypass seccomp), tracing, mounts and namespaces, BPF, kernel modules, inotify
# instances and AIO contexts (host-wide quotas one user can exhaust).
DENIED = ("socket socketpair keyctl add_key request_key shmget shmat shmctl shmdt semget semop semctl semtimedop "
          "msgget msgsnd msgrcv msgctl memfd_create memfd_secret io_uring_setup io_uring_enter io_uring_register "
          "ptrace process_vm_readv process_vm_writev perf_event_open bpf userfaultfd unshare setns mount umount2 "
          "pivot_root chroot open_tree move_mount fsopen fsconfig fsmount fspick mount_setattr kexec_load "
          "kexec_file_load init_module finit_module delete_module inotify_init1 io_setup").split()
SYSCALLS = {  # (audit architecture, numbers in DENIED's order), from the kernel's unistd headers
    "x86_64": (0xC000003E, (41, 53, 250, 248, 249, 29, 30, 31, 67, 64, 65, 66, 220, 68, 69, 70, 71, 319, 447, 425,
                            426, 427, 101, 310, 311, 298, 321, 323, 272, 308, 165, 166, 155, 161, 428, 429, 430, 431,
                            432, 433, 442, 246, 320, 175, 313, 176, 294, 206)),
    "aarch64": (0xC00000B7, (198, 199, 219, 217, 218, 194, 196, 195, 197, 190, 193, 191, 192, 186, 189, 188, 187, 279,
                             447, 425, 426, 427, 117, 270, 271, 241, 280, 282, 97, 268, 40, 39, 41, 51, 428, 429, 430,
                             431, 432, 433, 442, 104, 294, 105, 273, 106, 26, 0)),
}
LEGACY_DENIED = {"x86_64": (253,)}  # inotify_init, which newer architectures do not have
# clone3 fails as if the kernel lacked it (ENOSYS), so the C library falls back to clone: clone3 alone can start a
# process in another cgroup (CLONE_INTO_CGROUP), and seccomp cannot look into its argument structure.
CLONE3 = 435  # the same number on every architecture
X32_BIT = 0x40000000
SCRATCH_INODES_PER_MIB = 256  # the fallback's scratch tmpfs: files and folders it may hold per MiB of its size


class RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def set_limits(memory_mib: int, file_mib: int, cpu_s: int, open_files: int, tasks: int | None) -> list[str]:
    """Memory via RLIMIT_DATA (heap and private mappings), not RLIMIT_AS: torch and CUDA reserve far more address
    space than they use; the harness watches shared memory and the whole tree. RLIMIT_FSIZE stops one file filling
    the disk; RLIMIT_CPU ends a process that escapes every other kill; RLIMIT_NOFILE and RLIMIT_NPROC (processes
    and threads; the kernel does not apply it to root, whose tasks the harness counts instead) bound what kernel
    memory pipes and open files can hold where no memory cgroup counts it."""
    limits = [("RLIMIT_DATA", resource.RLIMIT_DATA, memory_mib << 20, f"{memory_mib} MiB"),
              ("RLIMIT_FSIZE", resource.RLIMIT_FSIZE, file_mib << 20, f"{file_mib} MiB"),
              ("RLIMIT_CPU", resource.RLIMIT_CPU, cpu_s, f"{cpu_s} s"), ("RLIMIT_CORE", resource.RLIMIT_CORE, 0, "0"),
              ("RLIMIT_NOFILE", resource.RLIMIT_NOFILE, open_files, str(open_files))]
    limits += [("RLIMIT_NPROC", resource.RLIMIT_NPROC, tasks, str(tasks))] if tasks else []
    applied = []
    for name, which, value, text in limits:
        try:
            resource.setrlimit(which, (value, value))
            applied.append(f"{name}={text}")
        except (ValueError, OSError):
            pass
    return applied


def namespace_ids() -> dict[str, int]:
    """This process's namespaces, by inode: compared with the harness's, they show which are new."""
    ids = {}
    for name in NAMESPACES:
        try:
            ids[name] = os.stat(f"/proc/self/ns/{name}").st_ino
        except OSError:
            pass
    return ids


def die_with_parent(libc, parent_alive) -> None:
    """SIGKILL for this process when its parent ends; at once if it already has (`parent_alive()` is False)."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if not parent_alive():
        os._exit(128 + signal.SIGKILL)


def pass_status_on(status: int) -> None:
    """End this process as the waited one ended: its exit code, or 128 + the signal that ended it."""
    os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))


def scratch_tmpfs(libc, folder: str, mib: int, inodes: int) -> bool:
    """A private tmpfs of `mib` MiB and `inodes` files and folders on the scratch folder, in this process's own
    mount namespace: what the generator writes is bounded, never reaches the disk and ends with the sandbox."""
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:  # nothing mounted here reaches the host
        return False
    options = f"size={mib << 20},nr_inodes={inodes},mode=700".encode()
    if libc.mount(b"tmpfs", folder.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options) != 0:
        return False
    for sub in ("home", "tmp"):
        os.mkdir(os.path.join(folder, sub))
    os.chdir(folder)  # the working directory, too, is the tmpfs, not the folder under it
    return True


def enter_namespaces(libc, request: dict) -> dict:
    """Without bubblewrap: new user, mount, network, IPC, cgroup and PID namespaces where the kernel allows them
    (the user namespace drops the harness's capabilities; the mount one holds only the scratch folder's tmpfs; the
    network one has no interface up; the cgroup one roots the sandbox's view at its own cgroup). This process then
    only waits and passes the exit status on. Its child is the PID namespace's first process, an init of csbench's
    own: it starts the process that goes on to run the generator, reaps every orphan, and ends when that process
    ends, and with it, the kernel ends every process in the namespace. Each gets SIGKILL when its parent ends, so
    the namespace ends with the harness: a generator that clears its own parent-death signal and leaves its
    session still dies with the namespace's init. Returns what it applied to the scratch folder."""
    uid, gid = os.getuid(), os.getgid()
    others = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWCGROUP
    scratch = {}
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | others) == 0:
        try:
            for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
        except OSError:
            pass
        inodes = request["scratch_mib"] * SCRATCH_INODES_PER_MIB
        if scratch_tmpfs(libc, request["scratch"], request["scratch_mib"], inodes):
            scratch = {"scratch_mib": request["scratch_mib"], "scratch_inodes": inodes}
    elif libc.unshare(others) != 0 and libc.unshare(others & ~CLONE_NEWCGROUP) != 0:
        return scratch
    passed_fds = request["passed_fds"]
    alive, hold = os.pipe()  # EOF on `alive` once this process has ended
    init = os.fork()
    if init == 0:
        os.close(hold)
        die_with_parent(libc, lambda: not select.select([alive], [], [], 0)[0])
        os.close(alive)
        generator = os.fork()
        if generator == 0:
            die_with_parent(libc, lambda: os.getppid() == 1)
            return scratch
        for fd in passed_fds:
            os.close(fd)
        while True:  # reap every process the namespace orphans, until the generator's own ends
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                os._exit(1)
            if pid == generator:
                pass_status_on(status)
    for fd in [*passed_fds, alive]:
        os.close(fd)
    pass_status_on(os.waitpid(init, 0)[1])


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


def seccomp_program(arch: int, numbers: tuple[int, ...], x32: bool, missing: tuple[int, ...] = ()) -> bytes:
    """A classic BPF program: another architecture's calls (and x86's x32 ones) and `numbers` fail with EPERM,
    `missing` with ENOSYS."""
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, deny, absent = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38  # ALLOW, ERRNO | EPERM, ERRNO | ENOSYS
    tests = ([(jge, X32_BIT)] if x32 else []) + [(jeq, nr) for nr in numbers]
    insns = [(ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, deny), (ld, 0, 0, 0)]
    insns += [(op, len(tests) + len(missing) - i, 0, k) for i, (op, k) in enumerate(tests)]  # to the deny
    insns += [(jeq, len(missing) + 1 - i, 0, nr) for i, nr in enumerate(missing)]  # to the ENOSYS
    insns += [(ret, 0, 0, allow), (ret, 0, 0, deny), (ret, 0, 0, absent)]
    return b"".join(struct.pack("=HBBI", *insn) for insn in insns)


def seccomp(libc) -> bool:
    """Deny DENIED (and clone3) for this process and all it starts; False where the architecture's numbers are
    unknown."""
    machine = platform.machine()
    if machine not in SYSCALLS:
        return False
    arch, numbers = SYSCALLS[machine]
    program = seccomp_program(arch, numbers + LEGACY_DENIED.get(machine, ()), x32=machine == "x86_64",
                              missing=(CLONE3,))
    prog = SockFprog(len(program) // 8, program)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) or libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
                                                                   ctypes.byref(prog), 0, 0):
        return False
    return True


def lock_down(request: dict) -> dict:
    """Apply every lock this platform has; return what was really applied."""
    applied = {"process": True, "environment": "scrubbed", "bubblewrap": request["bubblewrap"]}
    if not sys.platform.startswith("linux"):  # the calls below are Linux system calls
        applied.update({f"{name}_namespace": False for name in ("user", "network", "pid", "ipc", "mount", "cgroup")},
                       landlock=False, landlock_abi=0, seccomp=False,
                       rlimits=set_limits(request["memory_mib"], request["file_mib"], request["cpu_s"],
                                          request["open_files"], None))
        return applied
    libc = ctypes.CDLL(None, use_errno=True)
    if request["bubblewrap"]:  # its parent is bubblewrap's init, which ends with the harness (--die-with-parent)
        die_with_parent(libc, lambda: os.getppid() != 0)
    else:
        die_with_parent(libc, lambda: os.getppid() == request["harness_pid"])
        applied.update(enter_namespaces(libc, request))
    own, harness = namespace_ids(), request["harness_namespaces"]
    new = {name: name in own and own[name] != harness.get(name) for name in NAMESPACES}
    applied.update(user_namespace=new["user"], network_namespace=new["net"], pid_namespace=new["pid"],
                   ipc_namespace=new["ipc"], mount_namespace=new["mnt"], cgroup_namespace=new["cgroup"])
    # RLIMIT_NPROC counts a user's processes in its user namespace: outside a new one, all of the harness user's
    applied["rlimits"] = set_limits(request["memory_mib"], request["file_mib"], request["cpu_s"],
                                    request["open_files"], request["tasks"] if new["user"] else None)
    pid = os.readlink("/proc/self")  # this process in the /proc it sees, also inside a new PID namespace
    abi = landlock(libc, [*request["read"], f"/proc/{pid}"], request["write"], request["devices"])
    applied.update(landlock=abi > 0, landlock_abi=abi, seccomp=seccomp(libc))
    return applied


def refusal(applied: dict) -> str | None:
    """Root without a user namespace keeps every capability: it could lift each limit, so nothing is run."""
    if hasattr(os, "geteuid") and os.geteuid() == 0 and not applied.get("user_namespace"):
        return ("the sandbox refuses to run a generator as root without a user namespace (it could lift every "
                "limit): install bubblewrap, allow user namespaces or run as another user")
    return None


def granted(path, request: dict) -> bool:
    """Whether `path` lies under something the sandbox grants: outside, a missing file may be one it hides."""
    path = os.path.abspath(str(path))
    return any(path == g or path.startswith(g.rstrip("/") + "/") for g in [*request["read"], *request["write"]])


def explain(exc: BaseException, name: str, request: dict, applied: dict) -> str | None:
    """One line naming the cause for the errors the sandbox itself produces (blocked file, memory, tasks)."""
    cause = exc.__context__ if exc.__suppress_context__ and exc.__context__ is not None else exc
    hidden = isinstance(cause, FileNotFoundError) and applied["bubblewrap"] and not granted(cause.filename,
                                                                                               request)
    if (isinstance(cause, PermissionError) and applied["landlock"] or hidden) and cause.filename:
        return (f"{name} tried to open {cause.filename}, which the sandbox blocks (a generator may read only its "
                "own folder and, if it declares needs_train_data, the training split)")
    number = getattr(cause, "errno", None)
    if isinstance(cause, MemoryError) or "can't allocate memory" in str(cause) or number == errno.ENOMEM:
        return f"{name} ran out of memory: the sandbox allows {request['memory_mib']} MiB ({type(cause).__name__})"
    if number == errno.EMFILE:
        return f"{name} opened more than {request['open_files']} files at once, the sandbox's limit"
    if "can't start new thread" in str(cause) or isinstance(cause, BlockingIOError):
        return f"{name} started more than {request['tasks']} processes or threads, the sandbox's limit"
    return None


def dtype_problem(dtype: str, value_range, name: str) -> str:
    return (f"{name} returned dtype {dtype}, expected floats"
            + (" in [0, 1] (divide uint8 images by 255)" if value_range == [0.0, 1.0] else ""))


def contract_problem(images, n: int, shape: list[int], value_range, name: str) -> str | None:
    """The structural rules (array of floats, count, shape), named as csbench.generators.check_samples names them."""
    import numpy as np

    if not isinstance(images, np.ndarray) or images.dtype == object:
        return f"{name} returned {type(images).__name__}, expected a float tensor or array"
    if images.dtype.kind != "f":
        return dtype_problem(str(images.dtype), value_range, name)
    if images.ndim >= 1 and images.shape[0] != n:
        return f"{name} returned {images.shape[0]} samples, {n} were requested"
    if list(images.shape[1:]) != list(shape):
        return f"{name} returned samples of shape {tuple(images.shape[1:])}, expected {tuple(shape)}"
    return None


def run(request: dict, applied: dict) -> dict:
    """Import the generator file, mark that on the marker pipe and, if asked, write samples (and the generator's
    labels, if it returns them); return the result."""
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
    try:
        os.write(request["marker_fd"], b"i")
        os.close(request["marker_fd"])
    except OSError:
        pass
    name = f"generator {gen.name}"
    meta = {"name": gen.name, "suites": list(gen.suites), "needs_train_data": gen.needs_train_data,
            "description": gen.description, "weights": [w.to_json() for w in gen.weights]}
    if request.get("n") is None:
        return {"meta": meta}
    train = None
    if request.get("train"):
        with np.load(request["train"], allow_pickle=False) as arrays:
            wrap = torch.from_numpy if arrays["tensors"] else np.asarray
            train = Split(wrap(arrays["data"]), wrap(arrays["labels"]))
    weights = {"weights": {k: Path(v) for k, v in request["weights"].items()}} if request.get("weights") else {}
    ctx = SampleContext(suite=request["suite"], shape=tuple(request["shape"]), num_classes=request["num_classes"],
                        directory=Path(request["file"]).parent, device=request["device"], train=train, **weights)
    try:
        out = gen.sample(request["n"], request["seed"], ctx)
    except BaseException as exc:
        return {"meta": meta, "error": explain(exc, name, request, applied)
                or f"{name} raised while sampling: {type(exc).__name__}: {exc}"}
    images, labels = out if isinstance(out, tuple) and len(out) == 2 else (out, None)
    if isinstance(images, torch.Tensor):
        if not images.is_floating_point():
            return {"meta": meta, "error": dtype_problem(str(images.dtype), request["value_range"], name)}
        images = images.detach().cpu().float().numpy()
    problem = contract_problem(images, request["n"], request["shape"], request["value_range"], name)
    if labels is not None:
        labels = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
        if not problem and (labels.shape != (len(images),) or labels.dtype.kind not in "iu"):
            problem = (f"{name} returned labels of shape {labels.shape} and dtype {labels.dtype}, expected "
                       f"{len(images)} integer class indices")
    if problem:
        return {"meta": meta, "error": problem}
    with os.fdopen(request["samples_fd"], "wb") as f:
        np.save(f, np.ascontiguousarray(images, dtype="<f4"), allow_pickle=False)
    if labels is not None:  # the generator's own class labels, for CAS
        with os.fdopen(request["labels_fd"], "wb") as f:
            np.save(f, np.ascontiguousarray(labels, dtype="<i8"), allow_pickle=False)
    return {"meta": meta}


def main(request_path: str) -> None:
    with open(request_path) as f:
        request = json.load(f)
    applied = lock_down(request)
    with os.fdopen(request["status_fd"], "w") as status:
        status.write(json.dumps(applied))
    problem = refusal(applied)
    try:
        result = {"error": problem} if problem else run(request, applied)
    except BaseException as exc:  # the generator broke something of the worker's own (its metadata, numpy...)
        name = f"generator file {os.path.basename(request['file'])}"
        result = {"error": explain(exc, name, request, applied)
                  or f"{name} broke the sandbox's worker: {type(exc).__name__}: {exc}"}
    with os.fdopen(request["result_fd"], "w") as f:
        f.write(json.dumps(result, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
