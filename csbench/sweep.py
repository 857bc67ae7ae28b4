"""Evaluate every registered generator of a suite, skipping those whose record is current.

One failing generator is reported in one line and the sweep goes on; records of others are untouched. Each
file is described and run in the sandbox (csbench.sandbox), never imported here.

Every seed's record is written as it finishes (`<out>/<suite>/seeds/`), and a generator's record is merged
from them once all its seeds are in; a re-run skips the seeds whose records are current, so a stopped sweep
resumes at the seed. Here the seeds of a generator run together (csbench.evaluate); with a backend
(csbench.backends) they run as separate units elsewhere, and their records are written here as they arrive.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .backends import Failed, RayBackend, SlurmBackend
from .budget import (
    BudgetUnit,
    Mix,
    budget_is_current,
    budget_record_path,
    budget_seed_is_current,
    budget_seed_path,
    budgets_for,
    evaluate_budget,
    evaluate_budget_unit,
    merge_budget_records,
    unit_references,
)
from .data import DataIdentity
from .declarations import DECLARATION_SUFFIX, Declaration, fetch_declared, read_declaration
from .errors import CsbenchError
from .evaluate import (
    RunOptions,
    Unit,
    cs_summary,
    evaluate,
    evaluate_unit,
    is_current,
    merge_seed_records,
    seed_is_current,
    suite_splits,
    unit_reference,
)
from .grids import GRID_SEED, refresh_grid
from .progress import progress_bar
from .registry import Choice
from .results import (
    BudgetRecord,
    Record,
    generator_provenance,
    readable_record,
    record_path,
    refuse_foreign_record,
    seed_record_path,
    write_record,
)
from .sandbox import SandboxedGenerator, clean, describe
from .sources import SandboxedFile, Source
from .suites import BUDGETS, Protocol, Suite, get_suite


class Status(Choice):
    EVALUATED = "evaluated"
    CURRENT = "current"
    UNSUPPORTED = "unsupported"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """What became of one generator file's record of one kind: "cs", or a budget kind ("budget", "gan-mc")."""

    file: Path
    status: Status
    detail: str = ""
    kind: str = "cs"


FOREIGN_REMEDY = ", or move that record away to evaluate this file under its name"


def generator_files(directory: Path | str) -> list[Path]:
    """Every generator file and samples declaration below `directory`; files and folders starting with "_" are
    helpers, not generators."""
    root = Path(directory)
    return sorted(p for pattern in ("*.py", f"*{DECLARATION_SUFFIX}") for p in root.rglob(pattern)
                  if not any(part.startswith("_") for part in p.relative_to(root).parts))


def describe_entry(path: Path, options: RunOptions, out_dir: Path | str) -> SandboxedGenerator | Declaration:
    """What a board entry declares, learnt without running it here and without downloading anything."""
    if path.name.endswith(DECLARATION_SUFFIX):
        return read_declaration(path)
    return describe(path, options.limits, [out_dir])


def entry_identity(entry: SandboxedGenerator | Declaration) -> dict:
    """What a current record of the entry names: the generator file's identity (`results.generator_provenance`),
    or what a declaration pins (name, file, URL and the samples' sha256), known before anything is downloaded."""
    return entry.identity() if isinstance(entry, Declaration) else generator_provenance(entry)


def entry_source(path: Path, suite: Suite, options: RunOptions, out_dir: Path) -> Source:
    """The entry's source for its units: declared samples are downloaded and pin-checked here, once."""
    if path.name.endswith(DECLARATION_SUFFIX):
        return fetch_declared(path, suite)
    return SandboxedFile(path, (out_dir,), options.limits)


def failure(exc: Exception) -> CsbenchError:
    """Any exception from one generator's unit as a one-line error: csbench's own as they are, others (a bug one
    input revealed) named by type, so that one file cannot stop a sweep or print a traceback."""
    if isinstance(exc, CsbenchError):
        return exc
    return CsbenchError(clean(f"unexpected {type(exc).__name__}: {exc}", 500))


def evaluate_all(suite_name: str, generator_dir: Path | str = "generators", *, out_dir: Path | str = "results",
                 protocol_name: str | None = None, seeds: Sequence[int] | None = None, samples: int | None = None,
                 on_outcome: Callable[[Outcome], None] = lambda outcome: None,
                 backend: RayBackend | SlurmBackend | None = None, only: Sequence[str] = (),
                 options: RunOptions = RunOptions(), suite: Suite | None = None,
                 mixes: Sequence[Mix] = (Mix.GENERATED,), budgets: Sequence[int] = BUDGETS) -> list[Outcome]:
    """Evaluate each generator file of `generator_dir` that declares the suite, in this process or, with
    `backend`, seed by seed on its workers; `only`: just the generators of these names, in this order (a re-run
    of part of a board). Then, for each of `mixes`, the students at `budgets` (csbench.budget) of every generator
    whose CS did not fail, skipping current records; every such generator's sample grid (csbench.grids) is drawn
    where it is not current."""
    suite = suite or get_suite(suite_name)
    protocol = suite.protocol(protocol_name)
    if samples is not None:
        protocol = dataclasses.replace(protocol, samples=samples)
    seeds = list(seeds if seeds is not None else protocol.seeds)
    described: dict[Path, SandboxedGenerator | Declaration | Exception] = {}
    for path in generator_files(generator_dir):
        try:
            described[path] = describe_entry(path, options, out_dir)
        except Exception as exc:  # one bad file is one failed line; the sweep goes on with the rest
            described[path] = failure(exc)
    files_by_name = defaultdict(list)  # a name names a record: two files with one name would overwrite each other
    for path, gen in described.items():
        if not isinstance(gen, Exception):
            files_by_name[gen.name].append(str(path.relative_to(generator_dir)))
    if only:
        unknown = sorted(set(only) - set(files_by_name))
        if unknown:
            raise CsbenchError(f"no generator file under {generator_dir} registers {', '.join(unknown)}")
        rank = {name: i for i, name in enumerate(only)}
        described = dict(sorted(((p, g) for p, g in described.items()
                                 if not isinstance(g, Exception) and g.name in rank),
                                key=lambda item: rank[item[1].name]))
    wanted = [g for g in described.values()
              if not isinstance(g, Exception) and len(files_by_name[g.name]) == 1 and g.supports(suite.name)]
    # the data's identities, and a mismatched copy refused, before any unit; none needed where nothing will run
    data = tuple(split.identity for split in suite_splits(suite, options)) if wanted else None
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
                identity = entry_identity(gen)
                refuse_foreign_record(existing, identity, FOREIGN_REMEDY)
                if is_current(readable_record(existing), identity, suite, protocol, seeds, data):
                    outcome = Outcome(path, Status.CURRENT, existing.name)
                elif backend is not None:
                    for seed in seeds:
                        refuse_foreign_record(seed_record_path(out_dir, suite.name, gen.name, protocol.name,
                                                               suite.default_protocol, seed), identity, FOREIGN_REMEDY)
                    source = entry_source(path, suite, options, Path(out_dir))
                    remote.append((path, gen, [Unit(source, suite, protocol, seed, metrics=i == 0, options=options,
                                                    data=data) for i, seed in enumerate(seeds)]))
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
        for outcome in run_units(backend, cs_units(suite, protocol, Path(out_dir), data), remote):
            on_outcome(outcome)
            outcomes.append(outcome)
    scored = [(o.file, described[o.file]) for o in outcomes if o.status in (Status.EVALUATED, Status.CURRENT)]
    sources: dict[Path, Source] = {}

    def source_of(path: Path) -> Source:
        if path not in sources:
            sources[path] = entry_source(path, suite, options, Path(out_dir))
        return sources[path]

    for path, gen in scored:
        try:
            refresh_grid(Unit(source_of(path), suite, protocol, GRID_SEED, options=options, data=data),
                         entry_identity(gen), out_dir)
        except Exception as exc:  # the CS record stands; the grid is named as what failed
            outcome = Outcome(path, Status.FAILED, f"sample grid: {failure(exc)}", "grid")
            on_outcome(outcome)
            outcomes.append(outcome)
    for mix in mixes:
        for outcome in evaluate_budgets(scored, suite, protocol, mix, seeds, budgets, Path(out_dir), options,
                                        backend, source_of, data):
            on_outcome(outcome)
            outcomes.append(outcome)
    return outcomes


def evaluate_budgets(generators: Sequence[tuple[Path, SandboxedGenerator | Declaration]], suite: Suite,
                     protocol: Protocol, mix: Mix, seeds: Sequence[int], budgets: Sequence[int], out_dir: Path,
                     options: RunOptions, backend: RayBackend | SlurmBackend | None,
                     source_of: Callable[[Path], Source], data: tuple[DataIdentity, DataIdentity]):
    """Yield an outcome per generator for its budget record under `mix` on `data` (the harness's verified
    identities): current, or evaluated here or on `backend` (drawing from `source_of(file)`); nothing where no
    budget lies below the protocol's sample count."""
    chosen = budgets_for(protocol, mix, budgets)
    if not chosen:
        return
    kind, remote = budget_units(suite, protocol, mix, out_dir, data), []
    for path, gen in generators:
        identity = entry_identity(gen)
        existing = kind.record_path(gen)
        try:
            refuse_foreign_record(existing, identity, FOREIGN_REMEDY)
            if budget_is_current(readable_record(existing), identity, suite, protocol, mix, chosen, seeds, data):
                yield Outcome(path, Status.CURRENT, existing.name, kind.label)
            elif backend is not None:
                remote.append((path, gen, [BudgetUnit(source_of(path), suite, protocol, seed, mix, chosen, options,
                                                      data=data) for seed in seeds]))
            else:
                record = evaluate_budget(path, suite, protocol, mix, seeds=seeds, budgets=budgets, out_dir=out_dir,
                                         options=options, data=data)
                yield Outcome(path, Status.EVALUATED, budget_summary(record), kind.label)
        except Exception as exc:
            yield Outcome(path, Status.FAILED, str(failure(exc)), kind.label)
    if remote:
        yield from run_units(backend, kind, remote)


@dataclass(frozen=True)
class UnitKind:
    """How the sweep schedules one kind of per-seed unit on a backend: the reference a seed needs (computed once
    per seed, before the units), the unit's run, and where its seed records and the merged record go."""

    label: str
    reference: Callable  # unit -> the seed's reference, computed on a worker
    with_reference: Callable  # (unit, reference) -> the unit that carries it
    run: Callable  # unit -> seed record, on a worker
    seed_current: Callable  # (record or None, generator identity, unit) -> bool
    seed_path: Callable  # (generator, unit) -> Path
    merge: Callable  # seed records in seed order -> record
    record_path: Callable  # generator -> Path
    summary: Callable  # record -> one line


def cs_units(suite: Suite, protocol: Protocol, out_dir: Path, data: tuple[DataIdentity, DataIdentity]) -> UnitKind:
    """The Compression Score's seed units; looked up at call time, so that tests can replace `evaluate_unit`."""
    return UnitKind(
        label="cs", reference=unit_reference, with_reference=lambda u, ref: dataclasses.replace(u, reference=ref),
        run=evaluate_unit,
        seed_current=lambda record, identity, u: seed_is_current(record, identity, suite, protocol, u.seed, u.metrics,
                                                                 data),
        seed_path=lambda gen, u: seed_record_path(out_dir, suite.name, gen.name, protocol.name,
                                                  suite.default_protocol, u.seed),
        merge=merge_seed_records,
        record_path=lambda gen: record_path(out_dir, suite.name, gen.name, protocol.name, suite.default_protocol),
        summary=cs_summary)


def budget_units(suite: Suite, protocol: Protocol, mix: Mix, out_dir: Path,
                 data: tuple[DataIdentity, DataIdentity]) -> UnitKind:
    return UnitKind(
        label=mix.folder, reference=unit_references,
        with_reference=lambda u, refs: dataclasses.replace(u, references=refs), run=evaluate_budget_unit,
        seed_current=lambda record, identity, u: budget_seed_is_current(record, identity, suite, u, data),
        seed_path=lambda gen, u: budget_seed_path(out_dir, suite, gen.name, protocol.name, mix, u.seed),
        merge=merge_budget_records,
        record_path=lambda gen: budget_record_path(out_dir, suite, gen.name, protocol.name, mix),
        summary=budget_summary)


def budget_summary(record: BudgetRecord) -> str:
    """Mean accuracy per budget, the generator's against the real subsets'."""
    what = "real + generated" if record.mix == Mix.REAL_PLUS_GENERATED else "generated"
    return f"{what} / real only: " + ", ".join(
        f"{b:,}: {sum(s) / len(s):.4f} / {sum(r) / len(r):.4f}"
        for b, s, r in zip(record.budgets, record.scores, record.reference_scores))


def run_units(backend: RayBackend | SlurmBackend, kind: UnitKind,
              generators: Sequence[tuple[Path, SandboxedGenerator | Declaration, Sequence]]):
    """Yield an outcome per generator as its last unit comes back from `backend`; `generators` holds each entry's
    file, its description (`describe_entry`) and its units in seed order, drawing from the entry's source.

    First one unit per seed computes (or reads from its worker's cache) the seed's reference, so that units of
    different generators do not each train the same reference students; then every unit whose seed record is
    not current."""
    done: dict[Path, dict[int, Record]] = {path: {} for path, _, _ in generators}
    gens = {path: gen for path, gen, _ in generators}
    seeds = {path: [u.seed for u in units] for path, _, units in generators}
    todo, paths = [], []  # paths: each unit's entry, by the unit's position in todo
    for path, gen, units in generators:
        identity = entry_identity(gen)
        for unit in units:
            if kind.seed_current(record := readable_record(kind.seed_path(gen, unit)), identity, unit):
                done[path][unit.seed] = record
            else:
                todo.append(unit)
                paths.append(path)
    failures: dict[Path, list[str]] = defaultdict(list)

    def outcome(path: Path) -> Outcome:
        if failures[path]:
            return Outcome(path, Status.FAILED, failures[path][0], kind.label)
        record = kind.merge([done[path][seed] for seed in seeds[path]])
        write_record(kind.record_path(gens[path]), record)
        return Outcome(path, Status.EVALUATED, kind.summary(record), kind.label)

    need = sorted({u.seed for u in todo})
    with progress_bar() as bar:
        task = bar.add_task(f"{kind.label}: references, then units", total=len(need) + len(todo))
        references = {}
        for i, value in backend.map(kind.reference, [next(u for u in todo if u.seed == s) for s in need]):
            references[need[i]] = value
            bar.advance(task)
        runnable, runnable_paths = [], []
        for k, unit in enumerate(todo):
            if isinstance(references[unit.seed], Failed):
                failures[paths[k]].append(f"reference seed {unit.seed}: {references[unit.seed].message}")
                bar.advance(task)
            else:
                runnable.append(kind.with_reference(unit, references[unit.seed]))
                runnable_paths.append(paths[k])
        left = Counter(runnable_paths)
        for path in gens:
            if not left[path]:
                yield outcome(path)
        for i, value in backend.map(kind.run, runnable):
            unit, path = runnable[i], runnable_paths[i]
            bar.advance(task)
            if isinstance(value, Failed):
                failures[path].append(f"seed {unit.seed}: {value.message}")
            else:
                write_record(kind.seed_path(gens[path], unit), value)
                done[path][unit.seed] = value
            left[path] -= 1
            if not left[path]:
                yield outcome(path)
