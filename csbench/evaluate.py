"""One evaluation: a generator file on a suite under a protocol, written as a result record.

The record is a merge of per-seed units (`Unit`, `evaluate_unit`, `merge_seed_records`); a unit carries every
input it needs, so a backend (csbench.backends) can run it in another process or on another machine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from . import __version__
from .cache import cached_arrays, cached_json, read_json, reference_file, write_json
from .compression import StudentJob, pixel_mean, student_inputs, students_per_group, train_student, train_students
from .data import DataIdentity, Split, cache_tag, identity_tag, load_split, measured_on
from .errors import ChecksumMismatch, CsbenchError, GeneratorError, clean
from .features import DEFAULT_PREPROCESSING, FeatureSpace, from_teacher_pass
from .grids import refresh_grid
from .progress import stage
from .quality import copy_detection, feature_spaces, sample_quality
from .results import (
    CsRecord,
    CsSeedRecord,
    ImageRecord,
    Provenance,
    Record,
    as_stored,
    readable_record,
    record_path,
    refuse_foreign_record,
    seed_record_path,
    write_record,
)
from .sandbox import Limits
from .sources import Generated, Source, open_source
from .stats import ratio_interval
from .suites import Protocol, Suite, get_suite
from .teacher import has_dropout_before_features, load_teacher, predict_features, predict_logits
from .timing import Timings


def protocol_key(suite: Suite, protocol: Protocol) -> str:
    """Everything a reference point depends on, hashed: suite, teacher, student, protocol and the code version."""
    blob = json.dumps({"suite": suite.name, "teacher": suite.teacher.identity, "student": suite.student,
                       "protocol": protocol.to_dict(), "csbench": __version__}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def dropout_seed(protocol: Protocol, seed: int) -> int | None:
    """The seed of the teacher's dropout masks while it labels, where the protocol labels with dropout on."""
    return seed if protocol.teacher_dropout else None


def label_samples(teacher: torch.nn.Module, samples: torch.Tensor, device: str, timings: dict,
                  noise_seed: int | None = None) -> torch.Tensor:
    with timings.measure("labelling"):
        return predict_logits(teacher, samples, device=device, dropout_seed=noise_seed, label="teacher labelling")


def label_and_extract(teacher: torch.nn.Module, samples: torch.Tensor, device: str, timings: dict,
                      noise_seed: int | None = None) -> tuple[torch.Tensor, tuple[np.ndarray, np.ndarray] | None]:
    """The teacher's logits on `samples` and, from the same forward pass, their teacher-space features and
    probabilities: the metrics need no second pass over the samples. Where dropout noise reaches the features
    (labelling with dropout on), the metrics make their own clean pass instead (None)."""
    with timings.measure("labelling"):
        features, logits = predict_features(teacher, samples, device=device, dropout_seed=noise_seed,
                                            label="teacher labelling")
    if noise_seed is not None and has_dropout_before_features(teacher):
        return logits, None
    if noise_seed is not None:  # the features are clean; the metrics' probabilities must be too
        with torch.inference_mode():
            logits_clean = teacher.eval().classifier(features.to(device)).float().cpu()
        return logits, from_teacher_pass(features, logits_clean)
    return logits, from_teacher_pass(features, logits)


def real_logits_path(suite: Suite, images: torch.Tensor, cache_dir: Path | None = None,
                     noise_seed: int | None = None) -> Path:
    """Keyed by the teacher's and the images' sha256 (a different copy of the data gets its own file), and by the
    dropout seed where the teacher labels with dropout on."""
    digest = hashlib.sha256(images.numpy().tobytes()).hexdigest()[:16]
    noise = "" if noise_seed is None else f"-dropout{noise_seed}"
    return reference_file(suite.name, f"logits-{suite.teacher.identity[:16]}-{digest}-n{len(images)}{noise}.npz",
                          cache_dir)


def real_logits(suite: Suite, teacher: torch.nn.Module, images: torch.Tensor, device: str, timings: dict,
                cache_dir: Path | None = None, noise_seed: int | None = None) -> torch.Tensor:
    """The teacher's logits on real images, cached: every seed and protocol of the reference reuses them."""
    arrays = cached_arrays(real_logits_path(suite, images, cache_dir, noise_seed),
                           lambda: {"logits": label_samples(teacher, images, device, timings, noise_seed).numpy()},
                           lambda a: a["logits"].shape == (len(images), suite.num_classes)
                           and a["logits"].dtype == np.float32)
    return torch.from_numpy(arrays["logits"])


@dataclass(frozen=True)
class StudentScore:
    """A trained student's accuracy on the real test split, overall and per true class."""

    accuracy: float
    per_class: tuple[float, ...]


def per_class_accuracy(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> tuple[float, ...]:
    correct = torch.bincount(labels[predictions == labels], minlength=num_classes).double()
    counts = torch.bincount(labels, minlength=num_classes).double()
    return tuple((correct / counts.clamp(min=1)).tolist())


def student_score(suite: Suite, protocol: Protocol, samples: torch.Tensor, targets: torch.Tensor,
                  mean: torch.Tensor, test: Split, seed: int, device: str, timings: dict, label: str,
                  loss: str | None = None) -> StudentScore:
    """Train a student on `samples` with `targets` (teacher logits, or class indices with
    `loss="cross-entropy"`), score it on the real test split."""
    with timings.measure("training"):
        student = train_student(suite, protocol, student_inputs(samples, mean), targets, seed, device, label=label,
                                loss=loss)
    with timings.measure("scoring"):
        return test_score(suite, student, mean, test, device)


def test_score(suite: Suite, student: torch.nn.Module, mean: torch.Tensor, test: Split, device: str) -> StudentScore:
    """A trained student's score on the real test split."""
    predictions = predict_logits(student, student_inputs(test.images, mean), device=device).argmax(1)
    return StudentScore((predictions == test.labels).float().mean().item(),
                        per_class_accuracy(predictions, test.labels, suite.num_classes))


def reference_score_path(suite: Suite, protocol: Protocol, seed: int, data: str,
                         cache_dir: Path | None = None) -> Path:
    """One file per seed: units computing different seeds at once never rewrite each other's entries. `data`: the
    splits' `cache_tag`, so that a reference student of one copy of the data is never reused for another."""
    return reference_file(suite.name, f"cs-{protocol_key(suite, protocol)}{data}-seed{seed}.json", cache_dir)


def reference_score(suite: Suite, protocol: Protocol, teacher: torch.nn.Module, train: Split, test: Split,
                    seed: int, device: str = "cpu", cache_dir: Path | None = None) -> StudentScore:
    """The protocol's student on the first `samples` real training images, in order, for `seed`, cached on disk."""

    def compute() -> dict:
        real, logits = reference_data(suite, protocol, teacher, train, seed, device, cache_dir)
        score = student_score(suite, protocol, real, logits, pixel_mean(train.images), test, seed, device, Timings(),
                              label=f"reference seed {seed}")
        return reference_entry(seed, score)

    return reference_from_entry(cached_json(reference_score_path(suite, protocol, seed, cache_tag(train, test),
                                                              cache_dir), compute))


def reference_data(suite: Suite, protocol: Protocol, teacher: torch.nn.Module, train: Split, seed: int,
                   device: str, cache_dir: Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """What the reference student of `seed` learns from: the first `samples` real training images and the
    teacher's logits on them (with the seed's dropout masks where the protocol labels with dropout on)."""
    if len(train) < protocol.samples:
        raise GeneratorError(f"the {suite.name} training split has {len(train)} images, "
                             f"fewer than the protocol's {protocol.samples}")
    real = train.images[: protocol.samples]
    return real, real_logits(suite, teacher, real, device, Timings(), cache_dir, dropout_seed(protocol, seed))


def reference_entry(seed: int, score: StudentScore) -> dict:
    """A reference score as its cache file holds it."""
    return {"seed": seed, "accuracy": score.accuracy, "per_class": list(score.per_class)}


def reference_from_entry(entry: dict) -> StudentScore:
    return StudentScore(entry["accuracy"], tuple(entry["per_class"]))


def reference_scores(suite: Suite, protocol: Protocol, teacher: torch.nn.Module, train: Split, test: Split,
                     seeds: Sequence[int], device: str = "cpu", cache_dir: Path | None = None) -> list[StudentScore]:
    return [reference_score(suite, protocol, teacher, train, test, s, device, cache_dir) for s in seeds]


PREVIEW_SAMPLES = 10_000


def preview_protocol(protocol: Protocol) -> Protocol:
    """Fewer samples and one seed, named apart: a cheap progress signal, not comparable with board numbers."""
    return dataclasses.replace(protocol, name=f"{protocol.name}-preview",
                               samples=min(PREVIEW_SAMPLES, protocol.samples),
                               seeds=protocol.seeds[:1],
                               description=f"preview of {protocol.name}: {PREVIEW_SAMPLES:,} samples, one seed; "
                               "not comparable with board numbers")


@dataclass(frozen=True)
class RunOptions:
    """Where and with what a run computes, the same for every seed and generator in it: the device, the teacher
    and data (defaults: the suite's committed teacher, the cache), the generator processes' limits, and whether
    and how the Inception-space metrics are computed (default: on a GPU or with weights given)."""

    device: str = "cpu"
    teacher_path: Path | None = None
    data_root: Path | None = None
    unverified_data: bool = False  # run on a copy of the data that fails the release's checksums; records say so
    limits: Limits = Limits()
    inception: bool | None = None
    inception_weights: Path | None = None
    inception_preprocessing: str = DEFAULT_PREPROCESSING
    students_per_batch: int | None = None
    batch_memory_gib: float = 4.0

    def student_group_size(self, suite: Suite, protocol: Protocol) -> int:
        """How many students train together (`compression.train_students`): at most `students_per_batch` and as
        many as fit `batch_memory_gib`. Unset, one at a time on the CPU, where a student alone runs near the
        matmul peak and batched training measured 2.3x slower (benchmarks/results/cpu-2c-batching.md), and as
        many as fit on a GPU, where one small student leaves the device idle."""
        fit = students_per_group(suite, protocol, self.batch_memory_gib * 2**30)
        if self.students_per_batch is None:
            return 1 if torch.device(self.device).type == "cpu" else fit
        return min(fit, self.students_per_batch)


@dataclass(frozen=True)
class Unit:
    """One seed of one source of samples (csbench.sources) on a suite under a protocol, with every input spelled
    out.

    `metrics`: this seed's samples also get the sample-quality metrics (a record takes them from its first seed).
    `reference`: the seed's reference score where the caller already has it; otherwise it is computed or cached.
    `data`: the (train, test) identities the harness verified (`suite_splits`), so that a worker measures the same
    data and says what the harness found; None: the unit loads and checks the data itself.
    """

    source: Source
    suite: Suite
    protocol: Protocol
    seed: int
    metrics: bool = False
    options: RunOptions = RunOptions()
    reference: StudentScore | None = None
    data: tuple[DataIdentity, DataIdentity] | None = None


def suite_splits(suite: Suite, options: RunOptions,
                 data: tuple[DataIdentity, DataIdentity] | None = None) -> tuple[Split, Split]:
    """The suite's training and test splits, each with its identity. `data`: the identities the harness verified
    (a unit's `data`); a worker's split must then hold exactly those arrays, and takes the harness's verdict."""
    if data is None:
        return tuple(load_split(suite.dataset, split, options.data_root, options.unverified_data)
                     for split in ("train", "test"))
    splits = []
    for name, expected in zip(("train", "test"), data):
        split = load_split(suite.dataset, name, options.data_root, unverified=True)
        if split.identity.digest != expected.digest:
            raise ChecksumMismatch(f"this machine's {suite.dataset} {name} split has arrays sha256 "
                                   f"{split.identity.digest[:12]}..., the harness measured "
                                   f"{expected.digest[:12]}...: give every worker the same copy of the data")
        splits.append(dataclasses.replace(split, identity=expected))
    return tuple(splits)


def suite_inputs(suite: Suite, options: RunOptions,
                 data: tuple[DataIdentity, DataIdentity] | None = None) -> tuple[torch.nn.Module, Split, Split]:
    """The suite's teacher (verified against its pin) and its training and test splits (`data` as in
    `suite_splits`)."""
    train, test = suite_splits(suite, options, data)
    return load_teacher(suite, options.teacher_path, options.device, train=train), train, test


def teacher_accuracy(suite: Suite, teacher: torch.nn.Module, test: Split, device: str, timings: dict) -> float:
    """The teacher's accuracy on this test split (its logits cached like the reference's), timed apart from the
    labelling of samples."""
    with timings.measure("teacher accuracy"):
        logits = real_logits(suite, teacher, test.images, device, Timings())
    return (logits.argmax(1) == test.labels).float().mean().item()


def data_of(suite: Suite, teacher: torch.nn.Module, train: Split, test: Split, device: str,
            timings: dict) -> dict:
    """A record's `data` entry (csbench.data.measured_on)."""
    return measured_on(train, test, teacher_accuracy(suite, teacher, test, device, timings))


def unit_reference(unit: Unit) -> StudentScore:
    """The reference score `unit` needs, computed or read from this machine's cache."""
    teacher, train, test = suite_inputs(unit.suite, unit.options, unit.data)
    return reference_score(unit.suite, unit.protocol, teacher, train, test, unit.seed, unit.options.device)


def label_agreement(teacher_logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of samples whose teacher class is the generator's own label."""
    return (teacher_logits.argmax(1) == labels).float().mean().item()


def evaluate_unit(unit: Unit) -> CsSeedRecord:
    """Score one seed of a generator; returns its seed record (raw and reference score, timings, provenance).

    The unit's source supplies the samples (csbench.sources). A generator that returns its own labels, or samples
    that come with labels, also get their CAS: the same student, trained on those labels."""
    return evaluate_units([unit])[0]


@dataclass
class _Seed:
    """A unit part-way through: its samples drawn and labelled and their metrics computed; its students wait for
    training (`jobs`, by role: "raw", "cas", "reference") and end up as `scores`."""

    unit: Unit
    drawn: Generated
    logits: torch.Tensor
    teacher: dict
    metrics: dict | None
    copying: dict | None
    timings: Timings
    jobs: dict[str, StudentJob] = field(default_factory=dict)
    scores: dict[str, StudentScore] = field(default_factory=dict)
    batched: int = 1
    data: dict = field(default_factory=dict)  # the record's `data` entry (`data_of`)


def evaluate_units(units: Sequence[Unit],
                   on_record: Callable[[CsSeedRecord], None] = lambda record: None) -> list[CsSeedRecord]:
    """Score seeds of one suite and protocol with the same options: one seed record each, as `evaluate_unit` gives,
    with the teacher and data loaded once and the students of the seeds trained together in groups
    (`RunOptions.student_group_size`, `compression.train_students`).

    Seeds are drawn in order; once the students waiting for training fill a group, they train and their seeds
    are finished before the next seed is drawn, so that memory holds one group's samples at a time, and each
    finished seed's record goes to `on_record` at once. A seed's timings get an equal share of each group its
    students trained in."""
    if not units:
        return []
    suite, protocol, options = units[0].suite, units[0].protocol, units[0].options
    if any((u.suite, u.protocol, u.options, u.data) != (suite, protocol, options, units[0].data) for u in units):
        raise ValueError("units evaluated together must share the suite, protocol, options and data")
    loading = Timings()
    with loading.measure("total"), stage(f"{suite.name}: loading the teacher and the data"):
        teacher, train, test = suite_inputs(suite, options, units[0].data)
        mean = pixel_mean(train.images)
    capacity = options.student_group_size(suite, protocol)
    shared: dict[str, torch.Tensor] = {}  # the reference students' inputs, the same for every seed
    records, waiting = [], []
    for i, unit in enumerate(units):
        waiting.append(_prepare_seed(unit, teacher, train, test, mean, shared))
        if i == 0:  # after the first draw, so that samples refused there leave nothing cached
            with loading.measure("total"):
                data = data_of(suite, teacher, train, test, options.device, loading)
            waiting[0].timings.update({stage: seconds for stage, seconds in loading.items() if stage != "total"})
            waiting[0].timings["total"] += loading["total"]
        waiting[-1].data = data
        if sum(len(seed.jobs) for seed in waiting) >= capacity or i == len(units) - 1:
            _train_waiting(waiting, capacity, mean, test, cache_tag(train, test))
            for seed in waiting:
                records.append(_seed_record(seed))
                on_record(records[-1])
            waiting = []
    return records


def _prepare_seed(unit: Unit, teacher: torch.nn.Module, train: Split, test: Split, mean: torch.Tensor,
                  shared: dict[str, torch.Tensor]) -> _Seed:
    suite, protocol, options = unit.suite, unit.protocol, unit.options
    device = options.device
    timings = Timings()
    with timings.measure("total"):
        with stage(f"seed {unit.seed}: drawing {unit.protocol.samples:,} samples"):  # before anything is cached
            drawn = unit.source.draw(suite, protocol.samples, unit.seed, options, train)
        spaces = (feature_spaces(suite, teacher, options.inception, options.inception_weights, device,
                                 options.inception_preprocessing) if unit.metrics else {})
        timings["sampling"] += drawn.sampling_s
        jobs = {}
        with timings.measure("reference"):
            path = reference_score_path(suite, protocol, unit.seed, cache_tag(train, test))
            reference = unit.reference or (reference_from_entry(entry) if (entry := read_json(path)) else None)
            if reference is None:
                real, real_targets = reference_data(suite, protocol, teacher, train, unit.seed, device)
                if "reference" not in shared:
                    shared["reference"] = student_inputs(real, mean)
                jobs["reference"] = StudentJob(shared["reference"], real_targets, unit.seed,
                                               label=f"reference seed {unit.seed}")
        extracted = {}
        noise_seed = dropout_seed(protocol, unit.seed)
        if isinstance(spaces.get("teacher"), FeatureSpace):
            logits, extracted["teacher"] = label_and_extract(teacher, drawn.samples, device, timings, noise_seed)
        else:
            logits = label_samples(teacher, drawn.samples, device, timings, noise_seed)
        name = drawn.generator["name"]
        inputs = student_inputs(drawn.samples, mean)
        jobs["raw"] = StudentJob(inputs, logits, unit.seed, label=f"{name} seed {unit.seed}")
        if drawn.labels is not None:
            jobs["cas"] = StudentJob(inputs, drawn.labels, unit.seed, "cross-entropy",
                                     label=f"{name} seed {unit.seed}, CAS")
        metrics = copying = None
        if unit.metrics:
            splits = {"train": train, "test": test}
            with stage("sample-quality metrics (IS, FID, KID, precision/recall/density/coverage)"):
                metrics = sample_quality(suite, spaces, drawn.samples, splits, device, timings,
                                         {k: v for k, v in extracted.items() if v is not None})
            with stage("copy detection (nearest training images, C_T)"):
                teacher_pass = extracted.get("teacher")
                copying = copy_detection(suite, spaces["teacher"], drawn.samples,
                                         teacher_pass[0] if teacher_pass is not None else None, splits, device,
                                         timings)
    seed = _Seed(unit, drawn, logits, teacher.record, metrics, copying, timings, jobs)
    if reference is not None:
        seed.scores["reference"] = reference
    return seed


def _train_waiting(waiting: Sequence[_Seed], capacity: int, mean: torch.Tensor, test: Split, data_tag: str) -> None:
    """Train the waiting seeds' students in groups of `capacity`, score them, and cache the reference scores
    (under the data's `cache_tag`)."""
    suite, protocol, device = waiting[0].unit.suite, waiting[0].unit.protocol, waiting[0].unit.options.device
    pending = [(seed, role, job) for seed in waiting for role, job in seed.jobs.items()]
    for start in range(0, len(pending), capacity):
        group = pending[start : start + capacity]
        started = time.perf_counter()
        students = train_students(suite, protocol, [job for _, _, job in group], device,
                                  label=f"{suite.name}, {protocol.name}")
        share = (time.perf_counter() - started) / len(group)
        for (seed, role, _), student in zip(group, students):
            stage_name = "reference" if role == "reference" else "training"
            seed.timings[stage_name] += share
            seed.timings["total"] += share
            seed.batched = max(seed.batched, len(group))
            with seed.timings.measure("total"), seed.timings.measure(stage_name if role == "reference" else "scoring"):
                seed.scores[role] = test_score(suite, student, mean, test, device)
                if role == "reference":
                    write_json(reference_score_path(suite, protocol, seed.unit.seed, data_tag),
                               reference_entry(seed.unit.seed, seed.scores[role]))
    for seed in waiting:
        seed.jobs.clear()


def _seed_record(seed: _Seed) -> CsSeedRecord:
    unit, suite = seed.unit, seed.unit.suite
    raw, reference, own = seed.scores["raw"], seed.scores["reference"], seed.scores.get("cas")
    cas = None if own is None else {"accuracy": own.accuracy,
                                    "label_agreement": label_agreement(seed.logits, seed.drawn.labels)}
    return CsSeedRecord(
        generator=seed.drawn.generator,
        sandbox=seed.drawn.sandbox,
        suite=suite.name,
        teacher=seed.teacher,
        student=suite.student,
        protocol=unit.protocol.to_dict(),
        data=seed.data,
        seed=unit.seed,
        raw_score=raw.accuracy,
        reference_score=reference.accuracy,
        per_class={"raw": list(raw.per_class), "reference": list(reference.per_class),
                   "classes": list(suite.class_names)},
        cas=cas,
        metrics=seed.metrics,
        copying=seed.copying,
        timings_s=seed.timings.rounded(),
        peak_memory_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        provenance=Provenance.here(unit.options.device, torch.get_num_threads(), students_batched=seed.batched,
                                   torch=torch.__version__))


def merge_seed_records(seed_records: Sequence[CsSeedRecord]) -> CsRecord:
    """A generator's record from its seed records, in their order: scores per seed, metrics of the first seed,
    timings summed. A pure function of the seed records, so every backend writes the same record."""
    first = seed_records[0]
    same = ("generator", "suite", "teacher", "student", "protocol", "data")
    for r in seed_records[1:]:
        if any(getattr(r, k) != getattr(first, k) for k in same):
            raise CsbenchError(f"seed records of {first.generator['name']} on {first.suite} disagree on the "
                               f"generator file, teacher, protocol or data (seeds {first.seed} and {r.seed})")
    raw = [r.raw_score for r in seed_records]
    reference = [r.reference_score for r in seed_records]
    cs, cs_half_width = ratio_interval(raw, reference)
    timings = Timings()
    for r in seed_records:
        for k, v in r.timings_s.items():
            timings[k] += v
    has_cas = all(r.cas is not None for r in seed_records)
    return CsRecord(
        **{k: getattr(first, k) for k in (*same, "sandbox")},
        seeds=[r.seed for r in seed_records],
        raw_scores=raw,
        reference_scores=reference,
        cs=cs,
        cs_half_width=None if np.isnan(cs_half_width) else cs_half_width,  # one seed: no interval, and JSON has no NaN
        per_class={"raw_scores": [r.per_class["raw"] for r in seed_records],
                   "reference_scores": [r.per_class["reference"] for r in seed_records],
                   "classes": first.per_class["classes"]},
        cas={"scores": [r.cas["accuracy"] for r in seed_records],
             "label_agreement": [r.cas["label_agreement"] for r in seed_records]} if has_cas else None,
        metrics=first.metrics,
        copying=first.copying,
        timings_s=timings.rounded(),
        peak_memory_mib=max(r.peak_memory_mib for r in seed_records),
        provenance=dataclasses.replace(first.provenance, date=max(r.provenance.date for r in seed_records)),
    )


def data_summary(data: dict | None) -> str:
    """What a summary says of data that is not the official release; nothing for the release."""
    if data is None or data["verified"]:
        return ""
    return (f"on UNVERIFIED data (train {data['train'][:12]}, test {data['test'][:12]}; the teacher's accuracy on "
            f"this test split {data['teacher_accuracy']:.2%}): not comparable with records on the official release")


def cs_summary(record: CsRecord) -> str:
    """The CS with its interval, or the plain statement that one seed gives none, and the data if unofficial."""
    n = len(record.seeds)
    data = data_summary(record.data)
    if n < 2:
        text = f"CS {record.cs:.4f} (one seed: no interval; use --seeds 3 or more for one)"
    else:
        text = (f"CS {record.cs:.4f} ± {record.cs_half_width:.4f} (95 % paired t-interval, {n} seeds, "
                f"{n - 1} degrees of freedom)")
    return f"{text} {data}" if data else text


def same_data(record: ImageRecord, data: tuple[DataIdentity, DataIdentity]) -> bool:
    """Whether `record` was measured on the splits of these identities (train, test); a record that names no data
    was measured on the release."""
    train, test = data
    if record.data is None:
        return train.verified and test.verified
    return (record.data["train"], record.data["test"]) == (train.digest, test.digest)


def refuse_other_data(path: Path, data: tuple[DataIdentity, DataIdentity]) -> None:
    """A run on other data (the release, another copy) would silently replace the record at `path`."""
    existing = readable_record(path)
    if isinstance(existing, ImageRecord) and not same_data(existing, data):
        raise CsbenchError(f"{clean(path, 300)} holds a record measured on other data than this run's ("
                           f"{'the official release' if existing.official_data else 'another copy'}): write to "
                           "another --out, or pass --replace to overwrite it")


def teacher_pin(record: CsRecord | CsSeedRecord) -> str:
    """The pin of the teacher a record was made with: a published teacher's file pin, else its state dict's."""
    return record.teacher.get("pin", f"sha256:{record.teacher.get('sha256')}")


def same_inputs(record: CsRecord | CsSeedRecord, generator: dict, suite: Suite, protocol: Protocol,
                 data: tuple[DataIdentity, DataIdentity]) -> bool:
    """Same generator identity (`results.generator_provenance`: file, path, weights, siblings; a declaration's
    pinned fields, which the record's identity of the downloaded samples holds among others), teacher, protocol
    and data, and made by this csbench version (bumped when results change)."""
    return (record.provenance.csbench_version == __version__
            and {k: record.generator.get(k) for k in generator} == generator
            and teacher_pin(record) == str(suite.teacher.pin)
            and record.protocol == as_stored(protocol.to_dict())
            and same_data(record, data))


def is_current(record: Record | None, generator: dict, suite: Suite, protocol: Protocol,
               seeds: Sequence[int], data: tuple[DataIdentity, DataIdentity]) -> bool:
    """A record is current when every input that can change the samples (the generator's identity, `generator`)
    and the teacher, protocol, data and seeds are all the ones asked for, and it holds the sample-quality metrics
    (records written before they existed are redone)."""
    return (isinstance(record, CsRecord) and same_inputs(record, generator, suite, protocol, data)
            and record.seeds == list(seeds) and record.metrics is not None)


def seed_is_current(record: Record | None, generator: dict, suite: Suite, protocol: Protocol, seed: int,
                    metrics: bool, data: tuple[DataIdentity, DataIdentity]) -> bool:
    """A seed record is current for the same inputs and seed, with metrics where its record takes them from it."""
    return (isinstance(record, CsSeedRecord) and same_inputs(record, generator, suite, protocol, data)
            and record.seed == seed and (record.metrics is not None or not metrics))


def plan(suite: Suite, protocol: Protocol, seeds: Sequence[int], device: str, data: str) -> str:
    """What a run will train and about how long it takes here, from a quick timing of the student. `data`: the
    splits' `cache_tag`."""
    from .compression import seconds_per_training

    missing = [s for s in seeds if not reference_score_path(suite, protocol, s, data).is_file()]
    minutes = seconds_per_training(suite, protocol, device) * (len(missing) + len(seeds)) / 60
    parts = ([f"{len(missing)} reference training{'s' * (len(missing) != 1)} (cached for later runs)"]
             if missing else []) + [f"{len(seeds)} sample training{'s' * (len(seeds) != 1)}"]
    return (f"{suite.name}, protocol {protocol.name}, {protocol.samples:,} samples: " + " + ".join(parts)
            + f", about {max(1, round(minutes))} min of training here; generators that return labels add "
            f"{len(seeds)} CAS training{'s' * (len(seeds) != 1)}")


def evaluate(generator_file: Path | str, suite_name: str, *, protocol_name: str | None = None,
             seeds: Sequence[int] | None = None, samples: int | None = None, out_dir: Path | str = "results",
             options: RunOptions = RunOptions(), protocol: Protocol | None = None, suite: Suite | None = None,
             replace: bool = False, in_process: bool = False, preview: bool = False, name: str | None = None,
             announce: Callable[[str], None] = lambda line: None) -> CsRecord:
    """Score a generator file, a samples folder or file, or a samples declaration (csbench.sources.open_source)
    on a suite and write its record; returns the record. `name`: a samples input's name (default: its stem).

    The first seed's samples also get the sample-quality metrics (csbench.quality) in the teacher's and,
    in Inception's feature space where `options` asks for it and its weights can be had.
    `in_process` imports the file here instead of the sandbox: for one's own code only. `preview`: see
    `preview_protocol`. `announce` gets the plan line before the work starts.

    Each seed's record is written as the seed finishes (`<out>/<suite>/seeds/`), and a run that finds a current
    one does not redo that seed (`replace`: it does), so a stopped run resumes at the seed. A failure at any stage
    raises before the record is written, so an existing record survives; so does the record of another
    generator file registering the same name, unless `replace`. The generator's sample grid
    (csbench.grids) is drawn after the record, unless it is current.
    """
    suite = suite or get_suite(suite_name)
    protocol = protocol or suite.protocol(protocol_name)
    if samples is not None:
        protocol = dataclasses.replace(protocol, samples=samples)
    if preview:
        protocol = preview_protocol(protocol)
    seeds = list(seeds if seeds is not None else protocol.seeds)
    source = open_source(generator_file, suite, protected=[Path(out_dir)], in_process=in_process, name=name,
                         limits=options.limits)
    path = record_path(out_dir, suite.name, source.name, protocol.name, suite.default_protocol)
    seed_paths = {seed: seed_record_path(out_dir, suite.name, source.name, protocol.name, suite.default_protocol,
                                         seed) for seed in seeds}
    identity = source.identity(protocol.samples)
    if not replace:
        for owned in (path, *seed_paths.values()):
            refuse_foreign_record(owned, identity, ", or pass --replace to overwrite it")
    data = tuple(split.identity for split in suite_splits(suite, options))  # refuses a mismatched copy at once
    if not replace:
        refuse_other_data(path, data)
    announce(plan(suite, protocol, seeds, options.device, identity_tag(*data)))
    units = [Unit(source, suite, protocol, seed, metrics=i == 0, options=options, data=data)
             for i, seed in enumerate(seeds)]
    done = {} if replace else {
        u.seed: found for u in units
        if seed_is_current(found := readable_record(seed_paths[u.seed]), identity, suite, protocol, u.seed, u.metrics,
                           data)}

    def keep(record: CsSeedRecord) -> None:
        write_record(seed_paths[record.seed], record)
        done[record.seed] = record

    evaluate_units([u for u in units if u.seed not in done], keep)
    record = merge_seed_records([done[seed] for seed in seeds])
    write_record(path, record)
    refresh_grid(units[0], identity, out_dir)
    return record
