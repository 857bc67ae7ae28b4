"""What synthetic data is worth in real images: students at several sample budgets, each against the same protocol
trained on a random real subset of the same size (the reference at that budget).

One unit kind serves two questions (`Mix`):

- `generated`, CS by budget: the student learns from N generated samples, teacher-labelled. The budget equal to
  the protocol's sample count is the Compression Score itself (its record, csbench.evaluate), so these units
  train only the smaller budgets.
- `real+generated`, GAN-assisted compression (the seed paper's image claim): the student learns from the N real
  images plus M = the protocol's sample count of generated ones, all teacher-labelled, shuffled together; its
  reference is the same N real images alone.

The real subset of budget N for seed s is the first N of a permutation, drawn by s, of the protocol's reference
pool (the first `protocol.samples` training images), kept in the pool's order: the subsets of one seed are
nested, and at the full budget the subset is the pool, so its student is the CS reference.

Steps: every student trains for the protocol's number of optimisation steps at its full sample count, as whole
passes over its own set (`budget_protocol`), so that a budget changes the data and not the compute: under
constant epochs a 1,000-sample student would take 1/50 of the steps and its accuracy would measure the
shortened training as much as the data.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from .cache import cached_json, reference_file
from .compression import batch_order, pixel_mean
from .data import DataIdentity, cache_tag
from .errors import CsbenchError
from .evaluate import (
    RunOptions,
    StudentScore,
    data_of,
    dropout_seed,
    label_samples,
    protocol_key,
    real_logits,
    reference_score,
    same_inputs,
    student_score,
    suite_inputs,
)
from .registry import Choice
from .results import (
    BudgetRecord,
    BudgetSeedRecord,
    Provenance,
    Record,
    readable_record,
    record_path,
    seed_record_path,
    write_record,
)
from .sources import Source, open_source
from .suites import BUDGETS, Protocol, Suite
from .timing import Timings


class Mix(Choice):
    GENERATED = "generated"
    REAL_PLUS_GENERATED = "real+generated"

    @property
    def folder(self) -> str:
        """The records' folder under `<out>/<suite>/`."""
        return {"generated": "budget", "real+generated": "gan-mc"}[self.value]


def steps_per_pass(n: int, protocol: Protocol) -> int:
    return n // protocol.batch_size if protocol.drop_last else math.ceil(n / protocol.batch_size)


def budget_protocol(protocol: Protocol, n: int) -> Protocol:
    """`protocol` on `n` samples, with as many whole passes as bring its steps closest to the protocol's own (at
    least one pass): the same compute at every budget. At the protocol's own sample count it is the protocol."""
    per_pass = steps_per_pass(n, protocol)
    if per_pass == 0:
        raise CsbenchError(f"a budget of {n:,} samples is less than one batch of {protocol.batch_size} under "
                           f"protocol {protocol.name!r}")
    target = steps_per_pass(protocol.samples, protocol) * protocol.epochs
    return dataclasses.replace(protocol, samples=n, epochs=max(1, round(target / per_pass)))


def steps(protocol: Protocol) -> int:
    return len(batch_order(protocol.samples, protocol, 0))


def budgets_for(protocol: Protocol, mix: Mix, budgets: Sequence[int] = BUDGETS) -> tuple[int, ...]:
    """The budgets a unit trains at: those below the protocol's sample count, and for `real+generated` the
    protocol's count too (for `generated` that point is the CS record's)."""
    below = sorted({b for b in budgets if b < protocol.samples})
    return tuple(below + ([protocol.samples] if mix is Mix.REAL_PLUS_GENERATED else []))


def real_subset(protocol: Protocol, budget: int, seed: int) -> torch.Tensor:
    """Indices of seed `seed`'s random subset of `budget` images of the reference pool, in the pool's order."""
    permutation = torch.randperm(protocol.samples, generator=torch.Generator().manual_seed(seed))
    return permutation[:budget].sort().values


def subset_reference(suite: Suite, protocol: Protocol, budget: int, teacher: torch.nn.Module, train, test,
                     seed: int, device: str = "cpu", cache_dir: Path | None = None) -> StudentScore:
    """The protocol's student on seed `seed`'s real subset of `budget` images, cached on disk; at the full budget
    the CS reference itself."""
    if budget == protocol.samples:
        return reference_score(suite, protocol, teacher, train, test, seed, device, cache_dir)

    def compute() -> dict:
        pool, logits = reference_pool(suite, protocol, teacher, train, seed, device, Timings(), cache_dir)
        idx = real_subset(protocol, budget, seed)
        score = student_score(suite, budget_protocol(protocol, budget), pool[idx], logits[idx],
                              pixel_mean(train.images), test, seed, device, Timings(),
                              label=f"reference, {budget:,} real images, seed {seed}")
        return {"seed": seed, "budget": budget, "accuracy": score.accuracy, "per_class": list(score.per_class)}

    path = reference_file(suite.name, f"subset-{protocol_key(suite, protocol)}{cache_tag(train, test)}-n{budget}"
                                      f"-seed{seed}.json", cache_dir)
    cached = cached_json(path, compute)
    return StudentScore(cached["accuracy"], tuple(cached["per_class"]))


def reference_pool(suite: Suite, protocol: Protocol, teacher: torch.nn.Module, train, seed: int, device: str,
                   timings: Timings, cache_dir: Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `protocol.samples` training images and the teacher's logits on them (cached)."""
    if len(train) < protocol.samples:
        raise CsbenchError(f"the {suite.name} training split has {len(train)} images, fewer than the protocol's "
                           f"{protocol.samples}")
    pool = train.images[: protocol.samples]
    return pool, real_logits(suite, teacher, pool, device, timings, cache_dir, dropout_seed(protocol, seed))


@dataclass(frozen=True)
class BudgetUnit:
    """One seed of one source's students at `budgets` under `mix`, with every input spelled out (as
    csbench.evaluate.Unit); `references`: the seed's reference at each budget where the caller already has them."""

    source: Source
    suite: Suite
    protocol: Protocol
    seed: int
    mix: Mix
    budgets: tuple[int, ...]
    options: RunOptions = RunOptions()
    references: tuple[StudentScore, ...] | None = None
    data: tuple[DataIdentity, DataIdentity] | None = None


def unit_references(unit: BudgetUnit) -> tuple[StudentScore, ...]:
    """The references `unit` needs, computed or read from this machine's cache."""
    teacher, train, test = suite_inputs(unit.suite, unit.options, unit.data)
    return tuple(subset_reference(unit.suite, unit.protocol, b, teacher, train, test, unit.seed, unit.options.device)
                 for b in unit.budgets)


def evaluate_budget_unit(unit: BudgetUnit) -> BudgetSeedRecord:
    """Train the unit's students on samples drawn from its source and return its seed record."""
    suite, protocol, options, seed = unit.suite, unit.protocol, unit.options, unit.seed
    device = options.device
    timings = Timings()
    teacher, train, test = suite_inputs(suite, options, unit.data)
    mean = pixel_mean(train.images)
    noise_seed = dropout_seed(protocol, seed)

    def drawn_and_labelled(n: int):
        drawn = unit.source.draw(suite, n, seed, options, train)
        timings["sampling"] += drawn.sampling_s
        return drawn, label_samples(teacher, drawn.samples, device, timings, noise_seed)

    scores, protocols = [], []
    if unit.mix is Mix.GENERATED:
        for budget in unit.budgets:
            drawn, logits = drawn_and_labelled(budget)
            protocols.append(budget_protocol(protocol, budget))
            scores.append(student_score(suite, protocols[-1], drawn.samples, logits, mean, test, seed, device,
                                        timings, label=f"{drawn.generator['name']}, {budget:,} samples, seed {seed}"))
        generated = None
    else:
        drawn, generated_logits = drawn_and_labelled(protocol.samples)
        pool, pool_logits = reference_pool(suite, protocol, teacher, train, seed, device, timings)
        for budget in unit.budgets:
            idx = real_subset(protocol, budget, seed)
            images, logits = torch.cat([pool[idx], drawn.samples]), torch.cat([pool_logits[idx], generated_logits])
            # mixed before the protocol's own batch order, which for an unshuffled protocol is the order given
            order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
            protocols.append(budget_protocol(protocol, len(images)))
            scores.append(student_score(suite, protocols[-1], images[order], logits[order], mean, test, seed, device,
                                        timings, label=f"{budget:,} real + {drawn.generator['name']}, seed {seed}"))
        generated = protocol.samples
    with timings.measure("reference"):
        references = unit.references or unit_references(unit)
    data = data_of(suite, teacher, train, test, device, timings)
    timings["total"] = timings.elapsed()
    return BudgetSeedRecord(
        generator=drawn.generator, sandbox=drawn.sandbox, suite=suite.name, teacher=teacher.record,
        student=suite.student, protocol=protocol.to_dict(), data=data, mix=unit.mix.value,
        budgets=list(unit.budgets),
        generated=generated, steps=[steps(p) for p in protocols], seed=seed, scores=[s.accuracy for s in scores],
        reference_scores=[r.accuracy for r in references], timings_s=timings.rounded(),
        provenance=Provenance.here(device, torch.get_num_threads(), torch=torch.__version__))


def merge_budget_records(seed_records: Sequence[BudgetSeedRecord]) -> BudgetRecord:
    """A generator's budget record from its seed records, in their order: a pure function of them."""
    first = seed_records[0]
    same = ("generator", "suite", "teacher", "student", "protocol", "data", "mix", "budgets", "generated", "steps")
    for r in seed_records[1:]:
        if any(getattr(r, k) != getattr(first, k) for k in same):
            raise CsbenchError(f"budget seed records of {first.generator['name']} on {first.suite} disagree on the "
                               f"generator file, teacher, protocol, data or budgets (seeds {first.seed} and {r.seed})")
    timings = Timings()
    for r in seed_records:
        for k, v in r.timings_s.items():
            timings[k] += v
    return BudgetRecord(
        **{k: getattr(first, k) for k in (*same, "sandbox")},
        seeds=[r.seed for r in seed_records],
        scores=[list(s) for s in zip(*(r.scores for r in seed_records))],
        reference_scores=[list(s) for s in zip(*(r.reference_scores for r in seed_records))],
        timings_s=timings.rounded(),
        provenance=dataclasses.replace(first.provenance, date=max(r.provenance.date for r in seed_records)),
    )


def budget_record_path(out_dir: Path | str, suite: Suite, generator: str, protocol: str, mix: Mix) -> Path:
    """`<out>/<suite>/budget/<record stem>.json` (CS by budget) or `<out>/<suite>/gan-mc/...` (GAN-MC)."""
    return record_path(out_dir, f"{suite.name}/{mix.folder}", generator, protocol, suite.default_protocol)


def budget_seed_path(out_dir: Path | str, suite: Suite, generator: str, protocol: str, mix: Mix, seed: int) -> Path:
    return seed_record_path(out_dir, f"{suite.name}/{mix.folder}", generator, protocol, suite.default_protocol, seed)


def evaluate_budget(generator_file: Path | str, suite: Suite, protocol: Protocol, mix: Mix, *, seeds: Sequence[int],
                    budgets: Sequence[int] = BUDGETS, out_dir: Path | str = "results",
                    options: RunOptions = RunOptions(),
                    data: tuple[DataIdentity, DataIdentity] | None = None) -> BudgetRecord:
    """Run the budget units of a generator file, samples file or declaration (csbench.sources.open_source) here,
    one seed after another, writing each seed's record as it finishes and keeping those already current (a
    stopped run resumes at the seed), then the merged record; `data` as in csbench.evaluate.Unit."""
    chosen = budgets_for(protocol, mix, budgets)
    if not chosen:
        raise CsbenchError(f"no budget below the protocol's {protocol.samples:,} samples among "
                           f"{', '.join(f'{b:,}' for b in budgets)}")
    source = open_source(generator_file, suite, protected=[Path(out_dir)], limits=options.limits)
    units = [BudgetUnit(source, suite, protocol, seed, mix, chosen, options, data=data) for seed in seeds]
    identity = source.identity(protocol.samples)
    records = []
    for unit in units:
        path = budget_seed_path(out_dir, suite, source.name, protocol.name, mix, unit.seed)
        found = readable_record(path)
        if data is None or not budget_seed_is_current(found, identity, suite, unit, data):
            found = evaluate_budget_unit(unit)
            write_record(path, found)
        records.append(found)
    record = merge_budget_records(records)
    write_record(budget_record_path(out_dir, suite, record.generator["name"], protocol.name, mix), record)
    return record


def budget_is_current(record: Record | None, generator: dict, suite: Suite, protocol: Protocol, mix: Mix,
                      budgets: Sequence[int], seeds: Sequence[int], data: tuple[DataIdentity, DataIdentity]) -> bool:
    """A budget record is current for the same inputs (`evaluate.same_inputs`), mix, budgets and seeds."""
    return (isinstance(record, BudgetRecord) and same_inputs(record, generator, suite, protocol, data)
            and record.mix == mix.value and record.budgets == list(budgets) and record.seeds == list(seeds))


def budget_seed_is_current(record: Record | None, generator: dict, suite: Suite, unit: BudgetUnit,
                           data: tuple[DataIdentity, DataIdentity]) -> bool:
    """A budget seed record is current for the unit's inputs, mix, budgets and seed."""
    return (isinstance(record, BudgetSeedRecord) and same_inputs(record, generator, suite, unit.protocol, data)
            and record.mix == unit.mix.value and record.budgets == list(unit.budgets) and record.seed == unit.seed)
