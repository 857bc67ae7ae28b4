"""`csbench validate`: check a generator file against the contract in the sandbox, before anyone evaluates it.

Two child processes draw the same small batch with the same seed; the checks run on what came back. The first
failed check is the one-line verdict. What a suite asks (shape, range, count) is its task kind's `Target`.
The time limit bounds the whole validation (describing the file has the shorter limit for imports), and time and
memory are the harness's own measurements of the child processes, never figures the child reports.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .declarations import DECLARATION_SUFFIX
from .errors import CsbenchError, GeneratorError
from .generators import check_labels
from .sample_files import is_samples_path
from .sandbox import ChildResult, Limits, SandboxedGenerator, context, describe, run_child
from .tasks import Target, task_of


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str = ""


def sample_checks(images: np.ndarray, n: int, shape: tuple[int, ...],
                  value_range: tuple[float, float] | None = (0.0, 1.0)) -> list[Check]:
    """The sample contract, one check per rule: count, shape, dtype, finite values, and `value_range` if any."""
    count = images.shape[0] if images.ndim else 0
    floating = images.dtype.kind == "f"
    finite = floating and bool(np.isfinite(images).all())
    checks = [
        Check("requested count", count == n, f"{count} of {n} samples"),
        Check("shape", tuple(images.shape[1:]) == tuple(shape),
              f"{tuple(images.shape[1:])}" + ("" if tuple(images.shape[1:]) == tuple(shape)
                                              else f", expected {tuple(shape)}")),
        Check("dtype", floating, f"{images.dtype}" + ("" if floating else ", expected floats"
                                                      + (" (divide uint8 by 255)" if value_range else ""))),
        Check("finite values", finite, "no NaN or infinity" if finite else "NaN or infinite values"),
    ]
    if value_range is None:
        return checks
    low, high = value_range
    if images.size and (finite or images.dtype.kind in "biu"):
        lo, hi = float(images.min()), float(images.max())
        in_range, span = finite and low <= lo and hi <= high, f"[{lo:.3g}, {hi:.3g}]"
    else:
        in_range, span = False, "no finite values"
    return checks + [Check("value range", in_range,
                           span + ("" if in_range else f", expected within [{low:g}, {high:g}]"))]


def label_check(labels: np.ndarray, n: int, num_classes: int, name: str) -> Check:
    """The generator's own labels, checked as `evaluate` checks them (csbench.generators.check_labels)."""
    try:
        check_labels(labels, n, num_classes, f"generator {name}")
    except GeneratorError as exc:
        return Check("labels", False, str(exc))
    return Check("labels", True, f"{n} class indices in [0, {num_classes})")


def sampling_seconds(child: ChildResult, gen: SandboxedGenerator) -> float:
    """The harness's wall clock from the child's "imported" marker to its result. A marker later than twice what
    the whole describing child took (slack for a busy machine) counts the difference as sampling: a generator
    cannot hide its work by delaying the marker."""
    late = max(0.0, (child.import_s or 0.0) - 2 * (gen.import_s or child.import_s or 0.0))
    return (child.sampling_s if child.sampling_s is not None else child.wall_s) + late


def budget_checks(child: ChildResult, n: int, suite: Target, limits: Limits, sampling_s: float) -> list[Check]:
    """Time and memory per sample, projected to one default evaluation's draw against the sandbox's limits."""
    total = suite.per_seed
    per_sample = sampling_s / n
    sample_mib = total * 4 * int(np.prod(suite.shape)) / 2**20
    return [
        Check("time per sample", per_sample * total < limits.timeout_s,
              f"{per_sample * 1e3:.3g} ms, about {per_sample * total:.0f} s for {total:,} samples "
              f"(timeout {limits.timeout_s:g} s)"),
        Check("memory", child.peak_mib + sample_mib < limits.memory_mib,
              f"peak {child.peak_mib:.0f} MiB for {n} samples (all processes, measured by the harness); "
              f"{total:,} samples add {sample_mib:.0f} MiB "
              f"(limit {limits.memory_mib} MiB)"),
    ]


def protections(sandbox: dict) -> str:
    """The protections a child process reported, in words."""
    words = ["separate process", "bubblewrap" if sandbox.get("bubblewrap") else "no bubblewrap (fallback)",
             f"timeout {sandbox.get('timeout_s', 0):g} s", *sandbox.get("rlimits", [])]
    words.append(f"Landlock ABI {sandbox['landlock_abi']}" if sandbox.get("landlock") else "no Landlock")
    words.append("seccomp" if sandbox.get("seccomp") else "no seccomp")
    words += [f"cgroup {limit}" for limit in sandbox.get("cgroup", [])]
    for name in ("mount", "pid", "ipc", "network", "cgroup"):
        words.append(f"{name} namespace" if sandbox.get(f"{name}_namespace") else f"no {name} namespace")
    return ", ".join(words)


def validate(file: Path | str, suite_name: str, *, n: int = 64, seed: int = 0, limits: Limits = Limits(),
             data_root: Path | None = None, unverified_data: bool = False) -> list[Check]:
    """The checks in order; a failure that makes later checks meaningless ends the list. `unverified_data`: a
    generator that needs the training split gets it from a copy that fails the release's checksums."""
    if Path(file).name.endswith(DECLARATION_SUFFIX) or is_samples_path(file):
        return validate_samples(file, suite_name, n=n, limits=limits)
    deadline = time.monotonic() + limits.timeout_s
    suite = task_of(suite_name).target(suite_name, data_root, unverified_data)
    protected = [data_root] if data_root else []
    checks: list[Check] = []
    try:
        gen = describe(file, limits, protected)
    except GeneratorError as exc:
        return [Check("imports and registers one generator", False, str(exc))]
    checks.append(Check("imports and registers one generator", True, f"{gen.name}: {gen.description}"))
    checks.append(Check("sandbox (this machine)", True, protections(gen.sandbox)))
    checks.append(Check("declares the suite", gen.supports(suite.name),
                        f"declares {', '.join(gen.suites)}" + ("" if gen.supports(suite.name)
                                                               else f", not {suite.name}")))
    if not checks[-1].passed:
        return checks
    train = suite.train() if gen.needs_train_data else None  # missing or mismatched data: the command's error
    try:
        ctx = context(gen, suite.name, suite.shape, suite.num_classes, train)
    except CsbenchError as exc:
        return checks + [Check("weight files match their pins", False, str(exc))]
    if gen.weights:
        pins = ", ".join(f"{w.name} ({w.pin})" for w in gen.weights)
        checks.append(Check("weight files match their pins", True, pins))
    draws = []
    for attempt in ("first", "second"):
        left = deadline - time.monotonic()
        try:
            if left <= 0:
                raise GeneratorError(f"validation used up its time limit of {limits.timeout_s:g} s")
            draws.append(run_child(gen.path, dataclasses.replace(limits, timeout_s=left), n=n, seed=seed, ctx=ctx,
                                   protected=protected, value_range=suite.value_range))
        except GeneratorError as exc:
            return checks + [Check(f"draws {n} samples ({attempt} process)", False, str(exc))]
    sampling_s = sampling_seconds(draws[0], gen)
    checks.append(Check(f"draws {n} samples", True, f"seed {seed}, in {sampling_s:.2f} s"))
    checks += sample_checks(draws[0].samples, n, suite.shape, suite.value_range)
    if draws[0].labels is not None:
        checks.append(label_check(draws[0].labels, n, suite.num_classes, gen.name))
    first, second = draws[0].samples, draws[1].samples
    same = first.shape == second.shape and np.array_equal(first.view(np.uint32), second.view(np.uint32))
    checks.append(Check("deterministic for a seed", same, "two processes, seed " + str(seed) + ": " +
                        ("bitwise identical" if same else "different samples; seed every random generator")))
    return checks + budget_checks(draws[0], n, suite, limits, sampling_s)


def validate_samples(file: Path | str, suite_name: str, *, n: int = 64, limits: Limits = Limits()) -> list[Check]:
    """The checks of a samples folder, file or declaration: it reads as the suite needs, it holds a seed's worth
    of samples, and its first `n` decode within the contract."""
    from .evaluate import RunOptions
    from .sources import open_source
    from .suites import get_suite

    if task_of(suite_name).name != "image":
        raise CsbenchError(f"samples files are scored on image suites; {suite_name} is a {task_of(suite_name).name} "
                           "suite")
    suite = get_suite(suite_name)
    try:
        source = open_source(file, suite, limits=limits)
    except CsbenchError as exc:
        return [Check("reads as samples for the suite", False, str(exc))]
    data = source.data
    shape = f"{data.count:,} samples, {data.format}, {data.layout}, {data.dtype}"
    checks = [Check("reads as samples for the suite", True, shape),
              Check("labels", True, "labelled: CAS is scored too" if data.labelled else "none (no CAS)")]
    per_seed = suite.protocol().samples
    enough = data.count >= per_seed
    checks.append(Check("a seed's worth of samples", enough,
                        f"{data.count // per_seed} disjoint slice(s) of the {per_seed:,} a seed needs" if enough else
                        f"{data.count:,} of the {per_seed:,} a seed needs (--samples {data.count} scores a smaller "
                        "protocol)"))
    try:
        source.draw(suite, min(n, data.count), 0, RunOptions(limits=limits), None)
    except CsbenchError as exc:
        return checks + [Check(f"first {min(n, data.count)} samples decode", False, str(exc))]
    return checks + [Check(f"first {min(n, data.count)} samples decode", True, "finite, within [0, 1]")]


def first_problem(checks: list[Check]) -> Check | None:
    return next((c for c in checks if c.passed is False), None)
