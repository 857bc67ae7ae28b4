"""Hostile (issue 28): starts a process in the root cgroup with clone3(CLONE_INTO_CGROUP), moves itself there
through cgroup.procs, and opens an inotify instance and an AIO context (host-wide quotas).

Sample i's first pixel is 1 where attempt i succeeded (clone3, the move, inotify, AIO); sample 4's is 1 where a
thread still starts (the C library falls back from clone3 to clone)."""

import ctypes
import os
import platform
import threading

import torch

import csbench

CLONE_INTO_CGROUP = 0x200000000
SYSCALLS = {"clone3": {"x86_64": 435, "aarch64": 435}, "io_setup": {"x86_64": 206, "aarch64": 0}}
libc = ctypes.CDLL(None, use_errno=True)


def clone3_into_root_cgroup() -> bool:
    try:
        root = os.open("/sys/fs/cgroup", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        root = -1
    args = (ctypes.c_uint64 * 11)(CLONE_INTO_CGROUP, 0, 0, 0, 17, 0, 0, 0, 0, 0, max(root, 0))  # exit SIGCHLD
    pid = libc.syscall(SYSCALLS["clone3"][platform.machine()], ctypes.byref(args), ctypes.sizeof(args))
    if pid == 0:
        os._exit(0)
    return pid > 0 or ctypes.get_errno() != 38  # not ENOSYS: the kernel looked at the call


def moved_to_root_cgroup() -> bool:
    for procs in ("/sys/fs/cgroup/cgroup.procs", "/sys/fs/cgroup/memory/cgroup.procs",
                  "/sys/fs/cgroup/pids/cgroup.procs"):
        try:
            with open(procs, "w") as f:
                f.write("0")
            return True
        except OSError:
            pass
    return False


def aio_context() -> bool:
    context = ctypes.c_ulong(0)
    return libc.syscall(SYSCALLS["io_setup"][platform.machine()], 1, ctypes.byref(context)) == 0


def thread_starts() -> bool:
    ran = []
    thread = threading.Thread(target=ran.append, args=(1,))
    thread.start()
    thread.join()
    return ran == [1]


@csbench.generator("clone3_cgroup", suites=["*"])
def sample(n, seed, ctx):
    images = torch.zeros((n, *ctx.shape))
    outcomes = [clone3_into_root_cgroup(), moved_to_root_cgroup(), libc.inotify_init1(0) >= 0, aio_context(),
                thread_starts()]
    for i, outcome in enumerate(outcomes):
        images[i].view(-1)[0] = float(outcome)
    return images
