"""Where a sweep's units run: Ray tasks, or Slurm jobs through submitit. No scheduling of our own.

A backend maps a function over items and yields `(index, value)` as each finishes; a unit that fails with a
csbench error comes back as `Failed`, one line. Workers return values and never write records: the sweep
(csbench.sweep) writes them, atomically, so a worker that dies leaves nothing half-written, and a unit retried
after its worker died is written once. Ray and submitit are optional extras, imported only here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .errors import CsbenchError


@dataclass(frozen=True)
class Resources:
    """What one unit asks of its worker; torch in the worker uses `cpus` threads."""

    cpus: int = 1
    gpus: float = 0
    memory_gib: float | None = None


@dataclass(frozen=True)
class Failed:
    message: str


def call(fn: Callable, item, threads: int):
    """Run in the worker: `fn(item)`, or `Failed` with the one-line message of a csbench error."""
    import torch

    torch.set_num_threads(threads)
    try:
        return fn(item)
    except CsbenchError as exc:
        return Failed(str(exc))


def require(module: str, extra: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise CsbenchError(f"the {extra} backend needs {module}, an optional extra: "
                           f"pip install 'csbench[{extra}]'") from None


@dataclass(frozen=True)
class RayBackend:
    """Each item a Ray task: on the cluster this process is connected to, else the one at `address`, else a fresh
    local one.

    Ray reruns a task whose worker process or node died, up to `max_retries` times."""

    address: str | None = None
    resources: Resources = Resources()
    max_retries: int = 3

    def map(self, fn: Callable, items: Sequence) -> Iterator[tuple[int, object]]:
        ray = require("ray", "ray")
        if not ray.is_initialized():  # stays up for the sweep's next map; Ray shuts it down when the process exits
            ray.init(address=self.address, log_to_driver=False,  # outcomes come back as values, not worker logs
                     **({} if self.address else {"include_dashboard": False}))
        memory = {"memory": int(self.resources.memory_gib * 2**30)} if self.resources.memory_gib else {}
        task = ray.remote(call).options(num_cpus=self.resources.cpus, num_gpus=self.resources.gpus,
                                        max_retries=self.max_retries, **memory)
        pending = {task.remote(fn, item, self.resources.cpus): i for i, item in enumerate(items)}
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            index = pending.pop(ref)
            try:
                yield index, ray.get(ref)
            except ray.exceptions.RayTaskError:
                raise
            except ray.exceptions.RayError as exc:
                yield index, Failed(f"its Ray worker was lost {self.max_retries + 1} times ({type(exc).__name__})")


@dataclass(frozen=True)
class SlurmBackend:
    """Items as one Slurm job array through submitit; `folder` holds submitit's pickles and logs and must be
    on a file system the nodes share. A job that ends without a result (node failure, preemption, killed) is
    submitted again, up to `max_retries` times. `cluster="local"` runs the jobs as local processes instead."""

    folder: Path
    resources: Resources = Resources()
    partition: str | None = None
    time_limit_min: int = 240
    max_retries: int = 3
    cluster: str = "slurm"
    poll_s: float = 10.0

    def map(self, fn: Callable, items: Sequence) -> Iterator[tuple[int, object]]:
        submitit = require("submitit", "slurm")
        as_completed = importlib.import_module("submitit.helpers").as_completed
        from submitit.core.utils import FailedJobError, UncompletedJobError

        try:
            executor = submitit.AutoExecutor(folder=self.folder, cluster=self.cluster)
        except (RuntimeError, ValueError) as exc:
            raise CsbenchError(f"submitit cannot use the {self.cluster} cluster here: {exc}") from None
        executor.update_parameters(
            name="csbench", timeout_min=self.time_limit_min, cpus_per_task=self.resources.cpus,
            gpus_per_node=int(self.resources.gpus), tasks_per_node=1, nodes=1,
            **({"mem_gb": self.resources.memory_gib} if self.resources.memory_gib else {}),
            **({"slurm_partition": self.partition} if self.partition else {}))
        threads = self.resources.cpus
        pending = executor.map_array(call, [fn] * len(items), list(items), [threads] * len(items))
        index_of = {id(job): i for i, job in enumerate(pending)}
        attempts = dict.fromkeys(range(len(items)), 0)
        while pending:
            resubmitted = []
            for job in as_completed(pending, poll_frequency=self.poll_s):
                index = index_of[id(job)]
                try:
                    value = job.result()
                except FailedJobError:
                    raise
                except UncompletedJobError as exc:
                    if attempts[index] < self.max_retries:
                        attempts[index] += 1
                        retry = executor.submit(call, fn, items[index], threads)
                        index_of[id(retry)] = index
                        resubmitted.append(retry)
                        continue
                    value = Failed(f"its Slurm job ended without a result {self.max_retries + 1} times: "
                                   f"{' '.join(str(exc).split())[:200]}")
                yield index, value
            pending = resubmitted
