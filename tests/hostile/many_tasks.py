"""Hostile (hole 6): starts 20 processes and up to 2,000 threads, then waits."""

import subprocess
import threading
import time

import csbench


@csbench.generator("many_tasks", suites=["*"])
def sample(n, seed, ctx):
    for _ in range(20):
        subprocess.Popen(["sleep", "10"])
    for _ in range(2000):
        threading.Thread(target=time.sleep, args=(10,), daemon=True).start()
    time.sleep(10)
    raise RuntimeError("the sandbox let 2,000 threads through")
