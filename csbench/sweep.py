"""Evaluate every registered generator of a suite, skipping those whose record is current.

One failing generator is reported in one line and the sweep goes on; records of others are untouched. Each
file is described and run in the sandbox (csbench.sandbox), never imported here.

With a backend (csbench.backends) the seeds of every generator run as separate units elsewhere; each unit's
seed record is written here as it arrives (`<out>/<suite>/seeds/`), and a generator's record is merged from
them once all its seeds are in. A re-run skips the units whose seed records are current.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from . import __version__
from .backends import Failed, RayBackend, SlurmBackend
from .errors import CsbenchError
from .evaluate import RunOptions, Unit, cs_summary, evaluate, evaluate_unit, merge_seed_records, unit_reference
from .progress import progress_bar
from .registry import Choice
from .results import (
    CsRecord,
    CsSeedRecord,
    Record,
    as_stored,
    generator_provenance,
    readable_record,
    record_path,
    refuse_foreign_record,
    seed_record_path,
    write_record,
)
from .sandbox import SandboxedGenerator, clean, describe
from .suites import Protocol, Suite, get_suite


class Status(Choice):
    EVALUATED = "evaluated"
    CURRENT = "current"
    UNSUPPORTED = "unsupported"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    file: Path
    status: Status
    detail: str = ""


FOREIGN_REMEDY = ", or move that record away to evaluate this file under its name"


def generator_files(directory: Path | str) -> list[Path]:
    """Every generator file below `directory`; files and folders starting with "_" are helpers, not generators."""
    root = Path(directory)
    return sorted(p for p in root.rglob("*.py") if not any(part.startswith("_") for part in p.relative_to(root).parts))


def failure(exc: Exception) -> CsbenchError:
    """Any exception from one generator's unit as a one-line error: csbench's own as they are, others (a bug one
    input revealed) named by type, so that one file cannot stop a sweep or print a traceback."""
    if isinstance(exc, CsbenchError):
        return exc
    return CsbenchError(clean(f"unexpected {type(exc).__name__}: {exc}", 500))


def teacher_pin(record: CsRecord | CsSeedRecord) -> str:
    """The pin of the teacher a record was made with: a published teacher's file pin, else its state dict's."""
    return record.teacher.get("pin", f"sha256:{record.teacher.get('sha256')}")


def _same_inputs(record: CsRecord | CsSeedRecord, generator: dict, suite: Suite, protocol: Protocol) -> bool:
    """Same generator identity (`results.generator_provenance`: file, path, weights, siblings), teacher and
    protocol, and made by this csbench version (bumped when results change)."""
    return (record.provenance.csbench_version == __version__
            and record.generator == generator
            and teacher_pin(record) == str(suite.teacher.pin)
            and record.protocol == as_stored(protocol.to_dict()))


def is_current(record: Record | None, generator: dict, suite: Suite, protocol: Protocol,
               seeds: Sequence[int]) -> bool:
    """A record is current when every input that can change the samples (the generator's identity, `generator`)
    and the teacher, protocol and seeds are all the ones asked for, and it holds the sample-quality metrics
    (records written before they existed are redone)."""
    return (isinstance(record, CsRecord) and _same_inputs(record, generator, suite, protocol)
            and record.seeds == list(seeds) and record.metrics is not None)


def seed_is_current(record: Record | None, generator: dict, suite: Suite, protocol: Protocol, seed: int,
                    metrics: bool) -> bool:
    """A seed record is current for the same inputs and seed, with metrics where its record takes them from it."""
    return (isinstance(record, CsSeedRecord) and _same_inputs(record, generator, suite, protocol)
            and record.seed == seed and (record.metrics is not None or not metrics))


def evaluate_all(suite_name: str, generator_dir: Path | str = "generators", *, out_dir: Path | str = "results",
                 protocol_name: str | None = None, seeds: Sequence[int] | None = None, samples: int | None = None,
                 on_outcome: Callable[[Outcome], None] = lambda outcome: None,
                 backend: RayBackend | SlurmBackend | None = None, only: Sequence[str] = (),
                 options: RunOptions = RunOptions(), suite: Suite | None = None) -> list[Outcome]:
    """Evaluate each generator file of `generator_dir` that declares the suite, in this process or, with
    `backend`, seed by seed on its workers; `only`: just the generators of these names, in this order (a re-run
    of part of a board)."""
    suite = suite or get_suite(suite_name)
    protocol = suite.protocol(protocol_name)
    if samples is not None:
        protocol = dataclasses.replace(protocol, samples=samples)
    seeds = list(seeds if seeds is not None else protocol.seeds)
    described: dict[Path, SandboxedGenerator | Exception] = {}
    for path in generator_files(generator_dir):
        try:
            described[path] = describe(path, options.limits, [out_dir])
        except Exception as exc:  # one bad file is one failed line; the sweep goes on with the rest
            described[path] = failure(exc)
    files_by_name = defaultdict(list)  # a name names a record: two files with one name would overwrite each other
    for path, gen in described.items():
        if isinstance(gen, SandboxedGenerator):
            files_by_name[gen.name].append(str(path.relative_to(generator_dir)))
    if only:
        unknown = sorted(set(only) - set(files_by_name))
        if unknown:
            raise CsbenchError(f"no generator file under {generator_dir} registers {', '.join(unknown)}")
        rank = {name: i for i, name in enumerate(only)}
        described = dict(sorted(((p, g) for p, g in described.items()
                                 if isinstance(g, SandboxedGenerator) and g.name in rank),
                                key=lambda item: rank[item[1].name]))
    outcomes, remote = [], []
    for path, gen in described.items():
        try:
            if isinstance(gen, Exception):
                outcome = Outcome(path, Status.FAILED, str(gen))
            elif len(files_by_name[gen.name]) > 1:
                outcome = Outcome(path, Status.FAILED, f"generator name {gen.name!r} is registered by "
                                                  f"{len(files_by_name[gen.name])} files: "
                                                  f"{', '.join(files_by_name[gen.name])}")
            elif not gen.supports(suite.name):
                outcome = Outcome(path, Status.UNSUPPORTED)
            else:
                existing = record_path(out_dir, suite.name, gen.name, protocol.name, suite.default_protocol)
                identity = generator_provenance(gen)
                refuse_foreign_record(existing, identity, FOREIGN_REMEDY)
                if is_current(readable_record(existing), identity, suite, protocol, seeds):
                    outcome = Outcome(path, Status.CURRENT, existing.name)
                elif backend is not None:
                    for seed in seeds:
                        refuse_foreign_record(seed_record_path(out_dir, suite.name, gen.name, protocol.name,
                                                               suite.default_protocol, seed), identity, FOREIGN_REMEDY)
                    remote.append((path, gen))
                    continue
                else:
                    record = evaluate(path, suite.name, protocol=protocol, seeds=seeds, out_dir=out_dir, suite=suite,
                                      options=options)
                    outcome = Outcome(path, Status.EVALUATED, cs_summary(record))
        except Exception as exc:
            outcome = Outcome(path, Status.FAILED, str(failure(exc)))
        on_outcome(outcome)
        outcomes.append(outcome)
    if remote:
        for outcome in run_units(backend, remote, suite, protocol, seeds, Path(out_dir), options):
            on_outcome(outcome)
            outcomes.append(outcome)
    return outcomes


def run_units(backend: RayBackend | SlurmBackend, generators: Sequence[tuple[Path, SandboxedGenerator]],
              suite: Suite, protocol: Protocol, seeds: Sequence[int], out_dir: Path, options: RunOptions):
    """Yield an outcome per generator as its last unit comes back from `backend`.

    First one unit per seed computes (or reads from its worker's cache) the reference score, so that units of
    different generators do not each train the same reference student; then every missing (generator, seed)."""
    def seed_path(gen: SandboxedGenerator, seed: int) -> Path:
        return seed_record_path(out_dir, suite.name, gen.name, protocol.name, suite.default_protocol, seed)

    done: dict[Path, dict[int, CsSeedRecord]] = {path: {} for path, _ in generators}
    todo = []
    for path, gen in generators:
        identity = generator_provenance(gen)
        for i, seed in enumerate(seeds):
            existing = seed_path(gen, seed)
            if seed_is_current(record := readable_record(existing), identity, suite, protocol, seed, metrics=i == 0):
                done[path][seed] = record
            else:
                todo.append(Unit(path, suite, protocol, seed, metrics=i == 0, options=options, protected=(out_dir,)))
    gens = dict(generators)
    failures: dict[Path, list[str]] = defaultdict(list)

    def outcome(path: Path) -> Outcome:
        if failures[path]:
            return Outcome(path, Status.FAILED, failures[path][0])
        record = merge_seed_records([done[path][seed] for seed in seeds])
        write_record(record_path(out_dir, suite.name, gens[path].name, protocol.name, suite.default_protocol), record)
        return Outcome(path, Status.EVALUATED, cs_summary(record))

    need = sorted({u.seed for u in todo})
    with progress_bar() as bar:
        task = bar.add_task(f"{suite.name}: references, then units", total=len(need) + len(todo))
        references = {}
        for i, value in backend.map(unit_reference, [next(u for u in todo if u.seed == s) for s in need]):
            references[need[i]] = value
            bar.advance(task)
        runnable = []
        for unit in todo:
            if isinstance(references[unit.seed], Failed):
                failures[unit.generator_file].append(f"reference seed {unit.seed}: {references[unit.seed].message}")
                bar.advance(task)
            else:
                runnable.append(dataclasses.replace(unit, reference=references[unit.seed]))
        left = Counter(u.generator_file for u in runnable)
        for path in gens:
            if not left[path]:
                yield outcome(path)
        for i, value in backend.map(evaluate_unit, runnable):
            unit = runnable[i]
            bar.advance(task)
            if isinstance(value, Failed):
                failures[unit.generator_file].append(f"seed {unit.seed}: {value.message}")
            else:
                write_record(seed_path(gens[unit.generator_file], unit.seed), value)
                done[unit.generator_file][unit.seed] = value
            left[unit.generator_file] -= 1
            if not left[unit.generator_file]:
                yield outcome(unit.generator_file)
