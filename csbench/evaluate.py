"""One evaluation: a generator file on a suite under a protocol, written as a result record."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import platform
import resource
import time
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import torch

from . import __version__
from .cache import home, sha256_file
from .compression import channel_mean, compression_score, normalize, train_student
from .data import Split, load_split
from .errors import GeneratorError
from .generators import SampleContext
from .quality import feature_spaces, sample_quality
from .results import read_record, record_path, write_record
from .sandbox import Limits, SandboxedGenerator, describe
from .sandbox import sample as sandboxed_sample
from .suites import Protocol, Suite, get_suite
from .teacher import accuracy, load_teacher, predict_logits


def protocol_key(suite: Suite, protocol: Protocol) -> str:
    """Everything a reference point depends on, hashed: suite, teacher, student and protocol."""
    blob = json.dumps({"suite": suite.name, "teacher": suite.teacher.sha256, "student": suite.student,
                       "protocol": protocol.to_dict()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def draw_samples(gen: SandboxedGenerator, ctx: SampleContext, n: int, seed: int, limits: Limits = Limits(),
                 protected: Sequence[Path | str] = ()) -> torch.Tensor:
    """Checked samples from a sandboxed child process: generator code never runs in the harness."""
    return sandboxed_sample(gen, ctx, n, seed, limits, protected)


def label_samples(teacher: torch.nn.Module, samples: torch.Tensor, device: str, timings: dict) -> torch.Tensor:
    t0 = time.perf_counter()
    logits = predict_logits(teacher, samples, device=device)
    timings["labelling"] += time.perf_counter() - t0
    return logits


def student_accuracy(suite: Suite, protocol: Protocol, samples: torch.Tensor, logits: torch.Tensor,
                     mean: torch.Tensor, test: Split, seed: int, device: str, timings: dict, label: str) -> float:
    """Train a student on teacher-labelled `samples`, return its accuracy on the real test split."""
    t0 = time.perf_counter()
    student = train_student(suite, protocol, normalize(samples, mean), logits, seed, device, label=label)
    t1 = time.perf_counter()
    acc = accuracy(predict_logits(student, normalize(test.images, mean), device=device), test.labels)
    timings["training"] += t1 - t0
    timings["scoring"] += time.perf_counter() - t1
    return acc


def reference_scores(suite: Suite, protocol: Protocol, teacher: torch.nn.Module, train: Split, test: Split,
                     seeds: Sequence[int], device: str = "cpu", cache_dir: Path | None = None) -> list[float]:
    """The protocol's accuracy on the first `samples` real training images, per seed, cached on disk."""
    path = (cache_dir or home() / "reference") / suite.name / f"cs-{protocol_key(suite, protocol)}.json"
    cached = read_record(path) if path.is_file() else {}
    missing = [s for s in seeds if str(s) not in cached]
    if missing:
        if len(train) < protocol.samples:
            raise GeneratorError(f"the {suite.name} training split has {len(train)} images, "
                                 f"fewer than the protocol's {protocol.samples}")
        real = train.images[: protocol.samples]
        timings: dict = defaultdict(float)
        logits = label_samples(teacher, real, device, timings)
        mean = channel_mean(train.images)
        for seed in missing:
            cached[str(seed)] = student_accuracy(suite, protocol, real, logits, mean, test, seed, device, timings,
                                                 label=f"reference seed {seed}")
            write_record(path, cached)
    return [cached[str(s)] for s in seeds]


def evaluate(generator_file: Path | str, suite_name: str, *, protocol_name: str | None = None,
             seeds: Sequence[int] | None = None, samples: int | None = None, device: str = "cpu",
             out_dir: Path | str = "results", teacher_path: Path | None = None,
             data_root: Path | None = None, protocol: Protocol | None = None, suite: Suite | None = None,
             limits: Limits = Limits(), inception: bool | None = None, inception_weights: Path | None = None) -> dict:
    """Score a generator file on a suite and write its record; returns the record.

    The first seed's samples also get the sample-quality metrics (csbench.quality) in the teacher's and,
    in Inception's feature space where `inception` asks for it (by default on a GPU) and its weights can be had.

    A failure at any stage raises before anything is written, so an existing record survives.
    """
    started = time.perf_counter()
    suite = suite or get_suite(suite_name)
    protocol = protocol or suite.protocol(protocol_name)
    if samples is not None:
        protocol = dataclasses.replace(protocol, samples=samples)
    seeds = list(seeds if seeds is not None else protocol.seeds)
    protected = [out_dir, *([data_root] if data_root else [])]  # beyond the cache, which the sandbox adds
    gen = describe(generator_file, limits, protected)
    if not gen.supports(suite.name):
        raise GeneratorError(f"generator {gen.name} does not declare suite {suite.name!r} (it supports "
                             f"{', '.join(gen.suites)})")
    teacher = load_teacher(suite, teacher_path, device)
    spaces = feature_spaces(suite, teacher, inception, inception_weights, device)
    train, test = load_split(suite.dataset, "train", data_root), load_split(suite.dataset, "test", data_root)
    t0 = time.perf_counter()
    reference = reference_scores(suite, protocol, teacher, train, test, seeds, device)
    timings: dict = defaultdict(float, reference=time.perf_counter() - t0)
    mean = channel_mean(train.images)
    ctx = SampleContext(suite=suite.name, shape=suite.image_shape, num_classes=suite.num_classes,
                        directory=gen.path.parent, device=device, train=train if gen.needs_train_data else None)
    raw = []
    for seed in seeds:
        t0 = time.perf_counter()
        synthetic = draw_samples(gen, ctx, protocol.samples, seed, limits, protected)
        timings["sampling"] += time.perf_counter() - t0
        logits = label_samples(teacher, synthetic, device, timings)
        raw.append(student_accuracy(suite, protocol, synthetic, logits, mean, test, seed, device, timings,
                                    label=f"{gen.name} seed {seed}"))
        if seed == seeds[0]:
            metrics = sample_quality(suite, spaces, synthetic, {"train": train, "test": test}, device, timings)
    cs, cs_stderr = compression_score(raw, reference)
    timings["total"] = time.perf_counter() - started
    record = {
        "generator": {"name": gen.name, "file": gen.path.name, "sha256": sha256_file(gen.path)},
        "sandbox": gen.sandbox,
        "suite": suite.name,
        "teacher": {"architecture": suite.teacher.architecture, "sha256": suite.teacher.sha256,
                    "test_accuracy": suite.teacher.test_accuracy},
        "student": suite.student,
        "protocol": protocol.to_dict(),
        "seeds": seeds,
        "raw_scores": raw,
        "reference_scores": reference,
        "cs": cs,
        "cs_stderr": cs_stderr,
        "metrics": metrics,
        "timings_s": {k: round(v, 3) for k, v in sorted(timings.items())},
        "peak_memory_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "csbench_version": __version__,
        "torch_version": torch.__version__,
        "device": device if device != "cpu" else f"cpu ({platform.processor() or platform.machine()}, "
                                                 f"{torch.get_num_threads()} threads)",
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    write_record(record_path(out_dir, suite.name, gen.name, protocol.name, suite.default_protocol), record)
    return record
