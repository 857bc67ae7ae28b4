"""Leaderboards: result records rendered to `leaderboards/<suite>.md` with a plot beside it.

Rendering is a pure function of the records (no clock, no machine state), so the same records give
the same bytes and CI can check that a committed board is up to date.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .cache import atomic_path, atomic_write_text
from .compression import compression_score
from .results import read_records
from .suites import Suite

Z95 = 1.96
FLOOR_GENERATOR = "uniform_noise"
QUALITY = ("is", "fid", "precision", "recall", "density", "coverage", "class_entropy", "mean_confidence")


def _metric(record: dict, family: str, name: str) -> float:
    value = record.get("metrics", {}).get(family, {}).get(name)
    return float("nan") if value is None else float(value)


def board_frame(records: Sequence[dict], protocol: str) -> pd.DataFrame:
    """One row per generator evaluated under `protocol`, ranked by CS (ties by name).

    CS and its error are recomputed from each record's raw scores, so every row uses one formula.
    """
    rows = []
    for r in records:
        if r["protocol"]["name"] != protocol:
            continue
        cs, cs_stderr = compression_score(r["raw_scores"], r["reference_scores"])
        row = {"generator": r["generator"]["name"], "cs": cs, "cs_stderr": cs_stderr,
               "raw": float(np.mean(r["raw_scores"])), "reference": float(np.mean(r["reference_scores"])),
               "samples": r["protocol"]["samples"], "seeds": len(r["seeds"]), "sha256": r["generator"]["sha256"],
               "date": r["date"][:10], "version": r["csbench_version"],
               "quality_n": r.get("metrics", {}).get("teacher", {}).get("n")}
        for family in ("teacher", "inception"):
            row.update({f"{family}_{name}": _metric(r, family, name) for name in QUALITY})
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame = frame.sort_values(["cs", "generator"], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    floor = frame.loc[frame.generator == FLOOR_GENERATOR, "raw"]
    frame["normalised_cs"] = ((frame.raw - floor.iloc[0]) / (frame.reference - floor.iloc[0])
                              if len(floor) else float("nan"))
    return frame


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ranking_table(frame: pd.DataFrame) -> str:
    header = ["rank", "generator", "CS ± 95 %", "normalised CS", "student acc.", "teacher-IS", "teacher-FID",
              "Inception IS", "Inception FID", "precision", "recall", "density", "coverage", "class entropy",
              "confidence", "samples", "sha256", "date", "csbench"]
    rows = []
    for rank, r in enumerate(frame.itertuples(), start=1):
        interval = "–" if math.isnan(r.cs_stderr) else _fmt(Z95 * r.cs_stderr)
        rows.append([str(rank), f"`{r.generator}`", f"{_fmt(r.cs)} ± {interval}", _fmt(r.normalised_cs),
                     _fmt(r.raw), _fmt(r.teacher_is, 2), _fmt(r.teacher_fid, 1), _fmt(r.inception_is, 2),
                     _fmt(r.inception_fid, 1), _fmt(r.teacher_precision), _fmt(r.teacher_recall),
                     _fmt(r.teacher_density), _fmt(r.teacher_coverage), _fmt(r.teacher_class_entropy),
                     _fmt(r.teacher_mean_confidence), f"{r.samples:,} × {r.seeds}", f"`{r.sha256[:12]}`",
                     r.date, r.version])
    return _table(header, rows)


def disagreements(frame: pd.DataFrame, metric: str = "teacher_is", label: str = "teacher-IS",
                  higher_is_better: bool = True) -> list[str]:
    """Pairs that `metric` ranks one way and CS the other, where the CS gap exceeds both 95 % intervals."""
    found = []
    rows = list(frame.itertuples())
    for a in rows:
        for b in rows:
            m_a, m_b = getattr(a, metric), getattr(b, metric)
            if math.isnan(m_a) or math.isnan(m_b) or math.isnan(a.cs_stderr) or math.isnan(b.cs_stderr):
                continue
            metric_prefers_a = m_a > m_b if higher_is_better else m_a < m_b
            cs_prefers_b = b.cs - Z95 * b.cs_stderr > a.cs + Z95 * a.cs_stderr
            if metric_prefers_a and cs_prefers_b:
                found.append(f"- {label} prefers `{a.generator}` ({m_a:.2f}) to `{b.generator}` ({m_b:.2f}); "
                             f"CS ranks them the other way: {a.cs:.3f} ± {Z95 * a.cs_stderr:.3f} against "
                             f"{b.cs:.3f} ± {Z95 * b.cs_stderr:.3f}.")
    return found


def disagreement_section(frame: pd.DataFrame) -> str:
    checks = [("teacher_is", "teacher-IS", True), ("teacher_fid", "teacher-FID", False),
              ("inception_is", "Inception IS", True), ("inception_fid", "Inception FID", False)]
    lines = [line for metric, label, higher in checks for line in disagreements(frame, metric, label, higher)]
    return "\n".join(lines) if lines else ("No pair of generators is ranked one way by IS or FID and the other "
                                           "way by CS beyond both CS intervals.")


def suite_card(suite: Suite, protocols: Sequence[str]) -> str:
    t = suite.teacher
    teacher = (f"`{t.architecture}`, {t.test_accuracy:.2%} test accuracy, sha256 `{t.sha256}`" if t.pinned
               else f"`{t.architecture}` (no pinned checkpoint)")
    lines = [f"- dataset: `{suite.dataset}`, samples of shape {'x'.join(map(str, suite.image_shape))}, "
             f"{suite.num_classes} classes",
             f"- teacher: {teacher}",
             f"- student: `{suite.student}` ({suite.student_note})"]
    for name in protocols:
        p = suite.protocol(name)
        loss = f"{p.loss} at T={p.temperature:g}" if p.loss == "kd" else p.loss
        lines.append(f"- protocol `{p.name}`{' (default)' if name == suite.default_protocol else ''}: "
                     f"{p.samples:,} samples, {loss}, {p.optimizer} lr {p.lr:g} {p.lr_schedule}, batch "
                     f"{p.batch_size}, {p.epochs} pass(es), seeds {list(p.seeds)}. {p.description}")
    return "\n".join(lines)


def reference_lines(frame: pd.DataFrame, records: Sequence[dict], protocol: str) -> str:
    """The reference of the record with the most seeds; references that differ for the same seed (trained at
    another torch thread count, which changes float summation order) are named, since each record divides by its
    own."""
    mine = [r for r in records if r["protocol"]["name"] == protocol]
    widest = max(mine, key=lambda r: len(r["reference_scores"]))
    ref = widest["reference_scores"]
    by_seed: dict[int, set[float]] = defaultdict(set)
    for r in mine:
        for seed, value in zip(r["seeds"], r["reference_scores"]):
            by_seed[seed].add(round(value, 4))
    floor = frame.loc[frame.generator == FLOOR_GENERATOR, "raw"]
    text = (f"Reference: the student trained by this protocol on {int(frame.samples.iloc[0]):,} real training "
            f"images reaches {np.mean(ref):.4f} test accuracy (seeds: {', '.join(f'{s:.4f}' for s in ref)}); "
            "CS divides by it.")
    differing = [f"seed {seed}: {', '.join(f'{v:.4f}' for v in sorted(values))}"
                 for seed, values in sorted(by_seed.items()) if len(values) > 1]
    if differing:
        text += (" Records made at another torch thread count carry their own reference for a seed ("
                 + "; ".join(differing) + "), and each record's CS divides by its own.")
    if len(floor):
        text += (f" Normalised CS puts `{FLOOR_GENERATOR}` ({floor.iloc[0]:.4f}) at 0 and real data at 1.")
    return text


def plot(frame: pd.DataFrame, path: Path, title: str) -> None:
    """CS against teacher-IS and against teacher-space recall, one labelled point per generator."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, column, label in ((axes[0], "teacher_is", "teacher-IS"), (axes[1], "teacher_recall", "teacher-space recall")):
        ax.errorbar(frame[column], frame.cs, yerr=Z95 * frame.cs_stderr.fillna(0), fmt="o", capsize=3)
        for r in frame.itertuples():
            ax.annotate(r.generator, (getattr(r, column), r.cs), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set_xlabel(label)
        ax.set_ylabel("Compression Score")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)


def render_board(suite: Suite, records: Sequence[dict], out_dir: Path) -> Path:
    """Write `<out_dir>/<suite>.md` (and its plot); the default protocol's table comes first."""
    present = {r["protocol"]["name"] for r in records}
    protocols = [p for p in [suite.default_protocol, *sorted(suite.protocols)] if p in present]
    protocols = list(dict.fromkeys(protocols))
    parts = [f"# {suite.name} leaderboard", "",
             "Rendered by `csbench leaderboard render` from the result records; do not edit by hand. "
             "CS: the student's test accuracy on the samples over its accuracy on real data, with a 95 % "
             "interval over seeds. Teacher-space metrics (teacher-IS, teacher-FID, precision, recall, density, "
             "coverage, class entropy, confidence) use the suite's teacher as the feature network; Inception "
             "metrics use pytorch-fid's InceptionV3 and are blank where its weights were unavailable.", "",
             "## Suite", "", suite_card(suite, protocols or [suite.default_protocol]), ""]
    frames = {name: board_frame(records, name) for name in protocols}
    for name, frame in frames.items():
        quality_n = frame.quality_n.dropna()
        parts += [f"## Protocol `{name}`{' (default)' if name == suite.default_protocol else ''}", "",
                  reference_lines(frame, records, name), "", ranking_table(frame), ""]
        if len(quality_n):
            counts = "–".join(f"{int(n):,}" for n in sorted({quality_n.min(), quality_n.max()}))
            parts += [f"Sample-quality metrics on {counts} samples of the first seed (FID is biased in N: compare "
                      "rows with equal N).", ""]
        parts += [f"### Where the metrics disagree (`{name}`)", "", disagreement_section(frame), ""]
    if protocols:
        image = out_dir / f"{suite.name}.png"
        plot(frames[protocols[0]], image, f"{suite.name}, protocol {protocols[0]}")
        parts += [f"![CS against teacher-IS and recall]({image.name})", ""]
    path = out_dir / f"{suite.name}.md"
    atomic_write_text(path, "\n".join(parts))
    return path


def render_index(out_dir: Path) -> Path:
    """`leaderboards/README.md`: one line per rendered board."""
    boards = sorted(p for p in out_dir.glob("*.md") if p.name != "README.md")
    lines = ["# Leaderboards", "", "One board per suite, rendered from result records by "
             "`csbench leaderboard render`.", ""]
    lines += [f"- [{p.stem}]({p.name})" for p in boards]
    path = out_dir / "README.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def render(suite: Suite, results_dir: Path | str = "results", out_dir: Path | str = "leaderboards") -> Path | None:
    """Render one suite's board from its records (None when it has none) and refresh the index."""
    out_dir = Path(out_dir)
    records = read_records(results_dir, suite.name)
    path = render_board(suite, records, out_dir) if records else None
    render_index(out_dir)
    return path
