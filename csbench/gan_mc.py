"""GAN-MC for image suites: a student learns from the real compression set plus generated images,
all labelled by the teacher, and is compared with the same student on the real images alone.

The real-only side is the suite's reference (the protocol on the first `samples` real training
images, cached). The mixed side trains the same student by the same protocol on those images plus
`ratio` times as many generated ones, shuffled together: at the default ratio 4 a batch holds 80 %
generated images on average, as the seed authors drew 80 % of their batches from the GAN. The
protocol's epochs run over the larger set, so the mixed student takes (1 + ratio) times the steps.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import torch

from .cache import atomic_path
from .compression import pixel_mean, student_inputs, train_student
from .errors import CsbenchError
from .evaluate import RunOptions, data_of, dropout_seed, label_samples, real_logits, reference_scores, suite_inputs
from .results import ImageCompressRecord, Provenance, record_path, refuse_foreign_record, write_record
from .sources import open_source
from .suites import Protocol, Suite, get_suite
from .teacher import accuracy, predict_logits
from .timing import Timings

IMAGE_RATIO = 4.0


def compress_images(generator_file: Path | str, suite_name: str, *, protocol_name: str | None = None,
                    ratio: float = IMAGE_RATIO, seeds: Sequence[int] | None = None, samples: int | None = None,
                    out_dir: Path | str = "results", options: RunOptions = RunOptions(), save_students: bool = True,
                    suite: Suite | None = None, protocol: Protocol | None = None) -> ImageCompressRecord:
    """Real-only vs real + generated students over seeds, the generated images drawn from `generator_file` (a
    generator file, or a samples folder, file or declaration holding `ratio` times the real images); writes
    `<out>/<suite>/compress/<generator>.json` and, unless `save_students` is False, the first seed's mixed
    student's state dict beside it."""
    timings = Timings()
    suite = suite or get_suite(suite_name)
    protocol = protocol or suite.protocol(protocol_name)
    if samples is not None:
        protocol = dataclasses.replace(protocol, samples=samples)
    if ratio <= 0:
        raise CsbenchError(f"--ratio must be positive, not {ratio:g}")
    seeds = list(seeds if seeds is not None else protocol.seeds)
    device, limits = options.device, options.limits
    source = open_source(generator_file, suite, protected=[Path(out_dir)], limits=limits)
    n_generated = max(1, round(ratio * protocol.samples))
    path = record_path(Path(out_dir), f"{suite.name}/compress", source.name, protocol.name, suite.default_protocol)
    generator = source.identity(n_generated)
    refuse_foreign_record(path, generator, ", or move that record away to compress with this file")
    teacher, train, test = suite_inputs(suite, options)
    data = data_of(suite, teacher, train, test, device, timings)
    with timings.measure("reference"):
        real_only = [s.accuracy for s in reference_scores(suite, protocol, teacher, train, test, seeds, device)]
    real = train.images[: protocol.samples]
    mean = pixel_mean(train.images)
    folder = Path(out_dir) / suite.name / "compress"
    mixed, saved = [], None
    for seed in seeds:
        drawn = source.draw(suite, n_generated, seed, options, train)
        timings["sampling"] += drawn.sampling_s
        synthetic = drawn.samples
        noise_seed = dropout_seed(protocol, seed)
        logits = torch.cat([real_logits(suite, teacher, real, device, timings, noise_seed=noise_seed),
                            label_samples(teacher, synthetic, device, timings, noise_seed)])
        with timings.measure("training"):
            student = train_student(suite, protocol, student_inputs(torch.cat([real, synthetic]), mean), logits,
                                    seed, device, label=f"real + {source.name} seed {seed}")
        mixed.append(accuracy(predict_logits(student, student_inputs(test.images, mean), device=device),
                              test.labels))
        if save_students and seed == seeds[0]:
            saved = folder / "students" / f"{source.name}-seed{seed}.pt"
            with atomic_path(saved) as tmp:
                torch.save(student.cpu().state_dict(), tmp)
    timings["total"] = timings.elapsed()
    record = ImageCompressRecord(
        generator=generator,
        sandbox=drawn.sandbox,
        suite=suite.name,
        teacher=teacher.record,
        student=suite.student,
        protocol=protocol.to_dict(),
        data=data,
        ratio=ratio,
        real_rows=len(real),
        generated_rows=n_generated,
        seeds=list(seeds),
        scores={"real_only": real_only, "real_plus_generated": mixed},
        student_saved=str(saved) if saved else None,
        timings_s=timings.rounded(),
        provenance=Provenance.here(device, torch.get_num_threads(), torch=torch.__version__),
    )
    write_record(path, record)
    return record
