"""GAN-MC for tabular suites: students on real rows, generated rows, and both, all labelled by the teacher.

For each seed and student size it measures four conditions on the real test split:
`true_labels` (no teacher), `teacher_real` (teacher-labelled real training rows: the real-only
compression set), `generated` (teacher-labelled generated rows only) and `real_plus_generated`
(both). The Compression Score is `generated` over `teacher_real`, as for images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import joblib
import numpy as np
import sklearn

from ..cache import atomic_path
from ..data import Split
from ..errors import CsbenchError
from ..progress import progress_bar
from ..results import Provenance, TabularCompressRecord, generator_provenance, refuse_foreign_record, write_record
from ..sandbox import Limits, context, describe_for
from ..sandbox import sample as sandboxed_sample
from ..stats import ratio_interval
from ..timing import Timings
from .data import load_table
from .forest import (
    class_probabilities,
    fit_student,
    fit_teacher,
    hard_targets,
    metric,
    prefix_forest,
    soft_targets,
    staged_predictions,
)
from .suites import TabularSuite

CONDITIONS = ("true_labels", "teacher_real", "generated", "real_plus_generated")


@dataclass(frozen=True)
class Prepared:
    """A suite's data and fitted teacher, shared by every generator run on it in one process."""

    suite: TabularSuite
    train: Split
    test: Split
    teacher: object
    teacher_score: float
    train_targets: np.ndarray
    data_root: Path | None = None  # an explicit data folder, kept out of the generators' reach


def prepare(suite: TabularSuite, data_root: Path | str | None = None) -> Prepared:
    train, test = load_table(suite.dataset, data_root)
    width = train.rows.shape[1]
    if suite.n_features is not None and width != suite.n_features:
        raise CsbenchError(f"the {suite.name} data have {width} features, the suite declares {suite.n_features}")
    if max(train.labels.max(), test.labels.max()) >= suite.num_classes:
        raise CsbenchError(f"the {suite.name} data have labels beyond the suite's {suite.num_classes} classes")
    teacher = fit_teacher(suite, train.rows, train.labels)
    teacher_score = metric(suite.metric, test.labels, class_probabilities(teacher, test.rows, suite.num_classes))
    targets = soft_targets(class_probabilities(teacher, train.rows, suite.num_classes))
    return Prepared(suite, train, test, teacher, teacher_score, targets, Path(data_root) if data_root else None)


def generated_rows(ratio: float, real_rows: int) -> int:
    """Rows a generator draws per seed: `ratio` per real training row, at least one."""
    return max(1, round(ratio * real_rows))


def student_scores(prep: Prepared, rows: np.ndarray, targets: np.ndarray, seed: int):
    """Fit the largest student once; return (metric per size, the fitted forest)."""
    suite = prep.suite
    forest = fit_student(rows, targets, max(suite.student_sizes), seed)
    staged = staged_predictions(forest, prep.test.rows, suite.student_sizes)
    return {k: metric(suite.metric, prep.test.labels, staged[k]) for k in suite.student_sizes}, forest


def save_students(forest, sizes: Sequence[int], folder: Path, seed: int) -> list[str]:
    """One joblib file per student size. Pickles: load only files your own runs wrote."""
    names = []
    for k in sizes:
        name = f"seed{seed}-trees{k}.joblib"
        with atomic_path(folder / name) as tmp:
            joblib.dump(prefix_forest(forest, k), tmp, compress=3)
        names.append(name)
    return names


def compress(prep: Prepared, generator_file: Path | str, *, ratio: float | None = None,
             seeds: Sequence[int] | None = None, out_dir: Path | str | None = "results",
             students_dir: Path | str | None = None, limits: Limits = Limits()) -> TabularCompressRecord:
    """Run the four conditions for one generator over seeds; write and return the record.

    The record goes to `<out_dir>/<suite>/<generator>.json` (not written when out_dir is None); the
    real + generated students of the first seed go to `<students_dir>/<generator>/` when given.
    The generator file runs only in sandboxed child processes (csbench.sandbox), one per seed: rows come back
    checked (count, shape, floats, finite; no range: rows are standardised); a failure is one GeneratorError line.
    """
    timings = Timings(sampling=0.0, labelling=0.0, students=0.0)
    suite, train = prep.suite, prep.train
    ratio = suite.ratio if ratio is None else ratio
    if ratio <= 0:
        raise CsbenchError(f"--ratio must be positive, not {ratio:g}")
    seeds = list(suite.seeds if seeds is None else seeds)
    protected = [p for p in (out_dir, students_dir, prep.data_root) if p is not None]
    gen = describe_for(generator_file, suite.name, limits, protected)
    path = Path(out_dir) / suite.name / f"{gen.name}.json" if out_dir is not None else None
    if path is not None:
        refuse_foreign_record(path, generator_provenance(gen), ", or move that record away to compress with this file")
    ctx = context(gen, suite.name, (train.rows.shape[1],), suite.num_classes, train)
    n_generated = generated_rows(ratio, len(train))
    scores = {c: {k: [] for k in suite.student_sizes} for c in CONDITIONS}
    saved: list[str] = []
    true_targets = hard_targets(train.labels, suite.num_classes)
    with progress_bar() as bar:
        task = bar.add_task(f"{gen.name} on {suite.name}", total=len(seeds) * len(CONDITIONS))
        for seed in seeds:
            with timings.measure("sampling"):
                rows = sandboxed_sample(gen, ctx, n_generated, seed, limits, protected, value_range=None).numpy()
            with timings.measure("labelling"):
                targets = soft_targets(class_probabilities(prep.teacher, rows, suite.num_classes))
            sets = {
                "true_labels": (train.rows, true_targets),
                "teacher_real": (train.rows, prep.train_targets),
                "generated": (rows, targets),
                "real_plus_generated": (np.concatenate([train.rows, rows]),
                                        np.concatenate([prep.train_targets, targets])),
            }
            for condition, (x, y) in sets.items():
                with timings.measure("students"):
                    per_size, forest = student_scores(prep, x, y, seed)
                for k, value in per_size.items():
                    scores[condition][k].append(value)
                if condition == "real_plus_generated" and students_dir is not None and seed == seeds[0]:
                    saved = save_students(forest, suite.student_sizes, Path(students_dir) / gen.name, seed)
                bar.advance(task)
    cs = {k: ratio_interval(scores["generated"][k], scores["teacher_real"][k]) for k in suite.student_sizes}
    timings["total"] = timings.elapsed()
    record = TabularCompressRecord(
        suite=suite.name,
        generator=generator_provenance(gen),
        sandbox=gen.sandbox,
        teacher={"model": "RandomForestClassifier", "trees": suite.teacher.trees, "seed": suite.teacher.seed,
                 "test_score": prep.teacher_score},
        metric=suite.metric,
        student_sizes=list(suite.student_sizes),
        ratio=ratio,
        train_rows=len(train),
        generated_rows=n_generated,
        seeds=list(seeds),
        scores={c: {str(k): v for k, v in per.items()} for c, per in scores.items()},
        cs_by_size={str(k): {"cs": v[0], "half_width": v[1]} for k, v in cs.items()},
        students_saved=[str(Path(students_dir) / gen.name / s) for s in saved],
        timings_s=timings.rounded(),
        provenance=Provenance.here("cpu", sklearn=sklearn.__version__),
    )
    if path is not None:
        write_record(path, record)
    return record
