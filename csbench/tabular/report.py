"""Tabular leaderboards, rendered from `compress` records: every number on a board comes from a record.

Intervals and tests are `csbench.stats`'s, the policy of the image boards too: Student-t intervals over
seeds, and the CS's paired ratio interval. Whether adding generated rows helps is decided per student size
by the paired t-test on the per-seed differences (same seed, same student, with and without the generated
rows), so the verdicts follow the numbers when records change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..cache import atomic_write_text
from ..errors import CsbenchError
from ..results import RecordKind, TabularCompressRecord, read_records
from ..stats import LEVEL, MIN_SEEDS, RATIO_METHOD, direction, ratio_interval, t_interval
from ..tables import markdown_table
from .suites import TabularSuite, get_tabular_suite

BASELINES = ("true_labels", "teacher_real")
LABELS = {"true_labels": "true labels (no teacher)", "teacher_real": "teacher-labelled real rows (real only)"}


VERDICTS = {1: "helps", -1: "hurts", 0: "no clear difference"}


def verdict(differences: Sequence[float]) -> str:
    """"helps" / "hurts" when the paired t-test puts the differences above / below 0, else "no clear difference"."""
    return VERDICTS[direction(differences)]


def _interval(mean: float, half: float, n: int, digits: int) -> str:
    """Mean ± half-width, or the mean alone below MIN_SEEDS seeds (no interval, as on the image boards)."""
    return f"{mean:.{digits}f}" if n < MIN_SEEDS else f"{mean:.{digits}f} ± {half:.{digits}f}"


def fmt(values: Sequence[float]) -> str:
    return _interval(*t_interval(values), len(values), 4)


def cs_cell(record: TabularCompressRecord, size: int) -> str:
    """CS of the generated rows over the teacher-labelled real rows, with its paired ratio interval."""
    scores = record.scores
    raw, reference = scores["generated"][str(size)], scores["teacher_real"][str(size)]
    return _interval(*ratio_interval(raw, reference), len(raw), 3)


def gains(record: TabularCompressRecord, size: int) -> list[float]:
    """Per-seed (real + generated) - (real only) for one student size."""
    s = record.scores
    return [a - b for a, b in zip(s["real_plus_generated"][str(size)], s["teacher_real"][str(size)])]


def check_comparable(records: list[TabularCompressRecord]) -> None:
    """All records of a board must share teacher, seeds, sizes and baselines, or the rows are not comparable."""
    first = records[0]
    for r in records[1:]:
        for key in ("teacher", "seeds", "student_sizes", "ratio", "metric"):
            if getattr(r, key) != getattr(first, key):
                raise CsbenchError(f"records {first.generator['name']} and {r.generator['name']} differ in "
                                   f"{key}; re-run them with the same settings")
        for c in BASELINES:
            if not np.allclose([v for k in r.student_sizes for v in r.scores[c][str(k)]],
                               [v for k in first.student_sizes for v in first.scores[c][str(k)]]):
                raise CsbenchError(f"records {first.generator['name']} and {r.generator['name']} have different "
                                   f"{c} baselines; re-run them on the same data")


def render_board(suite: TabularSuite, records: list[TabularCompressRecord]) -> str:
    if not records:
        raise CsbenchError(f"no compress records for suite {suite.name}; run `csbench compress --suite {suite.name} "
                           "--generator FILE` first")
    check_comparable(records)
    records = sorted(records, key=lambda r: r.generator["name"])
    first = records[0]
    sizes, metric = first.student_sizes, first.metric.upper() if first.metric == "auc" else "accuracy"
    teacher = first.teacher
    header = ["condition", *(f"{k} tree{'s' * (k > 1)}" for k in sizes)]
    align = "l" + "r" * len(sizes)

    def table(rows: list[list[str]], first: str = "condition") -> str:
        return markdown_table([first, *header[1:]], rows, align)

    def row(label: str, per_size: dict) -> list[str]:
        return [label, *(fmt(per_size[str(k)]) for k in sizes)]

    lines = [
        f"# {suite.name}: GAN-assisted compression of a random forest",
        "",
        f"Data: {suite.source}. {first.train_rows:,} training rows.",
        f"Teacher: RandomForestClassifier, {teacher['trees']} trees, seed {teacher['seed']}: "
        f"test {metric} **{teacher['test_score']:.4f}**.",
        "Students: RandomForestRegressor fitted to the teacher's class probabilities "
        f"({'P(class 1)' if first.metric == 'auc' else 'the probability vector, argmax to predict'}); "
        f"generated rows: {first.ratio:g} x the training rows ({first.generated_rows:,}), labelled by the "
        "teacher.",
        f"Test {metric} on the real test split, mean ± {LEVEL * 100:g} % t-interval over seeds {first.seeds} "
        "(seed = student seed = generator seed; the teacher is fixed).",
        "",
        f"## Test {metric} per condition and student size",
        "",
        table([row(LABELS[c], first.scores[c]) for c in BASELINES]
              + [r_ for r in records for r_ in (row(f"{r.generator['name']} rows only", r.scores["generated"]),
                                               row(f"real + {r.generator['name']} rows",
                                                   r.scores["real_plus_generated"]))]),
    ]
    lines += ["", "## Does adding generated rows help? (real + generated) - (real only), paired over seeds", "",
              table([[r.generator["name"], *(f"{fmt(gains(r, k))} {verdict(gains(r, k))}" for k in sizes)]
                     for r in records], "generator")]
    lines += ["", f"## Compression Score (generated rows only / teacher-labelled real rows), ± {LEVEL * 100:g} %", "",
              table([[r.generator["name"], *(cs_cell(r, k) for k in sizes)] for r in records], "generator")]
    lines += ["", "Raw: the generated rows only; reference: the teacher-labelled real rows (real only). "
              f"{RATIO_METHOD}"]
    cells = [verdict(gains(r, k)) for r in records for k in sizes]
    flagged = sum(v != "no clear difference" for v in cells)
    lines += ["", "## Summary", "",
              f"{flagged} of {len(cells)} cells differ from real only at {LEVEL * 100:g} % (paired t-test, each cell "
              f"tested alone; about {(1 - LEVEL) * len(cells):.1f} would by chance if nothing differed).", ""]
    for r in records:
        by_verdict: dict[str, list[str]] = {}
        for k in sizes:
            by_verdict.setdefault(verdict(gains(r, k)), []).append(str(k))
        lines.append(f"- real + {r.generator['name']}: " + "; ".join(
            f"{v} with {', '.join(ks)} tree{'s' * (ks != ['1'])}" for v, ks in by_verdict.items()) + ".")
    sources = [f"`results/{suite.name}/{r.generator['name']}.json` "
               f"({r.generator['file']} sha256 {r.generator['sha256'][:12]}, {r.provenance.date})" for r in records]
    lines += ["", "Records: " + ", ".join(sources) + ".",
              f"Rendered by `csbench leaderboard render --suite {suite.name}`.", ""]
    return "\n".join(lines)


def write_board(suite_name: str, results_dir: Path | str = "results", out_dir: Path | str = "leaderboards") -> Path:
    suite = get_tabular_suite(suite_name)
    path = Path(out_dir) / f"{suite.name}.md"
    atomic_write_text(path, render_board(suite, read_records(results_dir, suite.name, RecordKind.TABULAR_COMPRESS)))
    return path
