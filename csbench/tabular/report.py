"""Tabular leaderboards, rendered from `compress` records: every number on a board comes from a record.

Intervals are 95 % t-intervals over seeds. Whether adding generated rows helps is decided per
student size from the paired per-seed differences (same seed, same student, with and without the
generated rows), so the verdicts follow the numbers when records change.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.stats import t as student_t

from ..cache import atomic_write_text
from ..errors import CsbenchError
from ..results import read_record
from .suites import TabularSuite, get_tabular_suite

BASELINES = ("true_labels", "teacher_real")
LABELS = {"true_labels": "true labels (no teacher)", "teacher_real": "teacher-labelled real rows (real only)"}


def t_interval(values: Sequence[float]) -> tuple[float, float]:
    """(mean, half-width of the 95 % t-interval); the half-width is NaN for one value."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), float("nan")
    return float(v.mean()), float(student_t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))


def verdict(differences: Sequence[float]) -> str:
    """"helps" / "hurts" when the t-interval of the paired differences excludes 0, else "no clear difference"."""
    mean, half = t_interval(differences)
    if mean - half > 0:
        return "helps"
    if mean + half < 0:
        return "hurts"
    return "no clear difference"


def fmt(values: Sequence[float]) -> str:
    mean, half = t_interval(values)
    return f"{mean:.4f} ± {half:.4f}"


def gains(record: dict, size: int) -> list[float]:
    """Per-seed (real + generated) - (real only) for one student size."""
    s = record["scores"]
    return [a - b for a, b in zip(s["real_plus_generated"][str(size)], s["teacher_real"][str(size)])]


def read_compress_records(results_dir: Path | str, suite: str) -> list[dict]:
    folder = Path(results_dir) / suite
    records = [read_record(p) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    return [r for r in records if r.get("kind") == "tabular-compress"]


def check_comparable(records: list[dict]) -> None:
    """All records of a board must share teacher, seeds, sizes and baselines, or the rows are not comparable."""
    first = records[0]
    for r in records[1:]:
        for key in ("teacher", "seeds", "student_sizes", "ratio", "metric"):
            if r[key] != first[key]:
                raise CsbenchError(f"records {first['generator']['name']} and {r['generator']['name']} differ in "
                                   f"{key}; re-run them with the same settings")
        for c in BASELINES:
            if not np.allclose([v for k in r["student_sizes"] for v in r["scores"][c][str(k)]],
                               [v for k in first["student_sizes"] for v in first["scores"][c][str(k)]]):
                raise CsbenchError(f"records {first['generator']['name']} and {r['generator']['name']} have different "
                                   f"{c} baselines; re-run them on the same data")


def render_board(suite: TabularSuite, records: list[dict]) -> str:
    if not records:
        raise CsbenchError(f"no compress records for suite {suite.name}; run `csbench compress --suite {suite.name} "
                           "--generator FILE` first")
    check_comparable(records)
    records = sorted(records, key=lambda r: r["generator"]["name"])
    first = records[0]
    sizes, metric = first["student_sizes"], first["metric"].upper() if first["metric"] == "auc" else "accuracy"
    teacher = first["teacher"]
    header = "| condition | " + " | ".join(f"{k} tree{'s' * (k > 1)}" for k in sizes) + " |"
    rule = "|---|" + "---:|" * len(sizes)

    def row(label: str, per_size: dict) -> str:
        return f"| {label} | " + " | ".join(fmt(per_size[str(k)]) for k in sizes) + " |"

    lines = [
        f"# {suite.name}: GAN-assisted compression of a random forest",
        "",
        f"Data: {suite.source}. {first['train_rows']:,} training rows.",
        f"Teacher: RandomForestClassifier, {teacher['trees']} trees, seed {teacher['seed']}: "
        f"test {metric} **{teacher['test_score']:.4f}**.",
        "Students: RandomForestRegressor fitted to the teacher's class probabilities "
        f"({'P(class 1)' if first['metric'] == 'auc' else 'the probability vector, argmax to predict'}); "
        f"generated rows: {first['ratio']:g} x the training rows ({first['generated_rows']:,}), labelled by the teacher.",
        f"Test {metric} on the real test split, mean ± 95 % t-interval over seeds {first['seeds']} "
        "(seed = student seed = generator seed; the teacher is fixed).",
        "",
        f"## Test {metric} per condition and student size",
        "",
        header, rule,
        *(row(LABELS[c], first["scores"][c]) for c in BASELINES),
    ]
    for r in records:
        name = r["generator"]["name"]
        lines.append(row(f"{name} rows only", r["scores"]["generated"]))
        lines.append(row(f"real + {name} rows", r["scores"]["real_plus_generated"]))
    gain_header = header.replace("| condition |", "| generator |", 1)
    lines += ["", "## Does adding generated rows help? (real + generated) - (real only), paired over seeds", "",
              gain_header, rule]
    for r in records:
        lines.append(f"| {r['generator']['name']} | " + " | ".join(
            f"{fmt(gains(r, k))} {verdict(gains(r, k))}" for k in sizes) + " |")
    lines += ["", "## Compression Score (generated rows only / teacher-labelled real rows), ± standard error", "",
              gain_header, rule]
    for r in records:
        lines.append(f"| {r['generator']['name']} | " + " | ".join(
            f"{r['cs'][str(k)]['cs']:.3f} ± {r['cs'][str(k)]['stderr']:.3f}" for k in sizes) + " |")
    cells = [verdict(gains(r, k)) for r in records for k in sizes]
    flagged = sum(v != "no clear difference" for v in cells)
    lines += ["", "## Summary", "",
              f"{flagged} of {len(cells)} cells differ from real only at 95 % (each cell tested alone; about "
              f"{0.05 * len(cells):.1f} would by chance if nothing differed).", ""]
    for r in records:
        by_verdict: dict[str, list[str]] = {}
        for k in sizes:
            by_verdict.setdefault(verdict(gains(r, k)), []).append(str(k))
        lines.append(f"- real + {r['generator']['name']}: " + "; ".join(
            f"{v} with {', '.join(ks)} tree{'s' * (ks != ['1'])}" for v, ks in by_verdict.items()) + ".")
    lines += ["", "Records: " + ", ".join(f"`results/{suite.name}/{r['generator']['name']}.json` "
                                         f"({r['generator']['file']} sha256 {r['generator']['sha256'][:12]}, {r['date']})"
                                         for r in records) + ".",
              f"Rendered by `csbench leaderboard render --suite {suite.name}`.", ""]
    return "\n".join(lines)


def write_board(suite_name: str, results_dir: Path | str = "results", out_dir: Path | str = "leaderboards") -> Path:
    suite = get_tabular_suite(suite_name)
    path = Path(out_dir) / f"{suite.name}.md"
    atomic_write_text(path, render_board(suite, read_compress_records(results_dir, suite.name)))
    return path
