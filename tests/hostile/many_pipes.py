"""Hostile (issue 28): kernel memory in pipes. Starts processes (as many as targets.json asks); each fills pipes
until the kernel refuses one, reports how many and how many bytes they hold, and keeps them open. It raises
with the totals, which a kernel-enforced memory bound keeps under the limit, if it is not stopped first."""

import json
import os
from pathlib import Path

import csbench


def fill_pipes(report: int) -> None:
    pipes = held = 0
    try:
        while True:
            read, write = os.pipe()
            os.set_blocking(write, False)
            pipes += 1
            try:
                while True:
                    held += os.write(write, b"x" * 65536)
            except BlockingIOError:
                pass
    except OSError as exc:
        os.write(2, f"{exc}\n".encode())
    os.write(report, f"{pipes} {held}\n".encode())
    os.close(report)
    os.pause()


@csbench.generator("many_pipes", suites=["*"])
def sample(n, seed, ctx):
    processes = json.loads((Path(ctx.directory) / "targets.json").read_text())["processes"]
    read, write = os.pipe()
    for _ in range(processes):
        try:
            if os.fork() == 0:
                try:
                    os.close(read)
                    fill_pipes(write)
                finally:
                    os._exit(1)
        except OSError:
            break
    os.close(write)
    with os.fdopen(read) as reports:
        counts = [tuple(map(int, line.split())) for line in reports]
    pipes, held = sum(c[0] for c in counts), sum(c[1] for c in counts)
    raise RuntimeError(f"the sandbox let {len(counts)} processes hold {pipes} pipes with {held >> 20} MiB")
