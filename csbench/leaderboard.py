"""Leaderboards: result records rendered to `leaderboards/<suite>.md` with plots beside it.

Rendering is a pure function of the records (no clock, no machine state), so the same records give
the same bytes and CI can check that a committed board is up to date. Every interval and test comes
from `csbench.stats`, the policy the records and the tabular boards use too.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from . import __version__
from .budget_board import WORTH_METHOD, budget_plot, curves, gan_mc_section, worth_table
from .cache import atomic_path, atomic_write_text
from .grids import write_strip
from .metrics import class_balance
from .metrics.copying import COPY_RULE, SPACES, TEST_COPY_RULE, copies_test_split, copies_training
from .metrics.prdc import CONCENTRATION_FLAG, precision_rests_on_few_balls
from .results import BudgetRecord, CsRecord, RecordKind, read_records
from .stats import (
    LEVEL,
    MIN_SEEDS,
    RATIO_METHOD,
    TEST_METHOD,
    direction,
    per_seed_cs,
    ratio_interval,
    ratio_of_means,
    t_interval,
)
from .suites import Suite
from .tables import markdown_table

FLOOR_GENERATOR = "uniform_noise"
QUALITY = ("is", "fid", "precision", "recall", "density", "coverage", "class_entropy", "mean_confidence")
GROUPS = ("ranked", "reference", "provisional", "copies", "test copies")
# (column, label, higher is better, digits): metrics that can rank a pair against CS
SAMPLE_CHECKS = (("teacher_is", "teacher-IS", True, 2), ("teacher_fid", "teacher-FID", False, 1),
                 ("inception_is", "Inception IS", True, 2), ("inception_fid", "Inception FID", False, 1))
FIDELITY_CHECKS = (("teacher_precision", "precision", True, 3), ("teacher_density", "density", True, 3))


def is_reference(name: str) -> bool:
    """Real-data sets (`real_data` is the training split itself) and the noise floor: scale, not competitors."""
    return name.startswith("real_") or name == FLOOR_GENERATOR


def _metric(record: CsRecord, family: str, name: str) -> float:
    value = (record.metrics or {}).get(family, {}).get(name)
    return float("nan") if value is None else float(value)


def class_scores(record: CsRecord) -> tuple[tuple[str, ...], tuple[float, ...]] | None:
    """(class names, per-class CS): mean over seeds of the student's accuracy on class c over the reference's."""
    per_class = record.per_class
    if not per_class:
        return None
    scores = ratio_of_means(per_class["raw_scores"], per_class["reference_scores"])
    return tuple(per_class["classes"]), tuple(float(v) for v in scores)


def worst_class(names: Sequence[str], scores: Sequence[float]) -> tuple[str | None, float]:
    """The class the samples teach worst: the lowest per-class CS (None when no class has one)."""
    if np.all(np.isnan(scores)):
        return None, float("nan")
    i = int(np.nanargmin(scores))
    return names[i], scores[i]


def _cas(record: CsRecord) -> tuple[float, float]:
    cas = record.cas
    if not cas:
        return float("nan"), float("nan")
    return float(np.mean(cas["scores"])), float(np.mean(cas["label_agreement"]))


def _copies(record: CsRecord) -> tuple[float, float, bool]:
    """(teacher-space copy rate, its held-out rate, flagged by the current COPY_RULE)."""
    copying = record.copying or {}
    teacher = copying.get("teacher", {})
    return (float(teacher.get("copy_rate", float("nan"))), float(teacher.get("heldout_copy_rate", float("nan"))),
            bool(copying) and copies_training(copying))


def _balance(record: CsRecord) -> tuple[float, float]:
    """(class balance, rarest class's share) of the first seed's samples, from the teacher's argmax-label shares
    (records without them: NaN)."""
    shares = (record.metrics or {}).get("teacher", {}).get("class_shares")
    if not shares:
        return float("nan"), float("nan")
    balance = class_balance(shares)
    return balance["class_balance"], balance["rarest_class_share"]


def group_of(name: str, seeds: int, flagged: bool, test_copies: bool | None = None) -> str:
    """Copies of the test split are never ranked nor shown as a reference: CS is measured on that split. References
    stay references even when they copy the training data (real_data is the training split); flagged copies are
    set apart from the ranking; rows short of MIN_SEEDS seeds are provisional."""
    if test_copies:
        return "test copies"
    if is_reference(name):
        return "reference"
    if flagged:
        return "copies"
    return "provisional" if seeds < MIN_SEEDS else "ranked"


def board_row(r: CsRecord) -> dict:
    """One record as a board row; CS and its interval are recomputed from the per-seed scores."""
    cs, half = ratio_interval(r.raw_scores, r.reference_scores)
    seeds = len(r.seeds)
    copy_rate, heldout_rate, flagged = _copies(r)
    cas, agreement = _cas(r)
    names, class_cs = class_scores(r) or (None, None)
    worst, worst_cs = worst_class(names, class_cs) if names else (None, float("nan"))
    balance, rarest = _balance(r)
    test_copies = copies_test_split(r.copying or {})  # None where not measured
    row = {"generator": r.generator["name"], "from_samples": r.generator.get("input") == "samples",
           "group": group_of(r.generator["name"], seeds, flagged, test_copies),
           "cs": cs, "half": half if seeds >= MIN_SEEDS else float("nan"), "seeds": seeds,
           "balance": balance, "rarest": rarest,
           "seed_cs": dict(zip(r.seeds, per_seed_cs(r.raw_scores, r.reference_scores).tolist())),
           "raw": float(np.mean(r.raw_scores)), "reference": float(np.mean(r.reference_scores)),
           "classes": names, "class_cs": class_cs, "worst_class": worst, "worst_cs": worst_cs,
           "cas": cas, "agreement": agreement, "copy_rate": copy_rate, "heldout_rate": heldout_rate,
           "flagged": flagged, "test_copies": test_copies, "copying": r.copying,
           "samples": r.protocol["samples"], "sha256": r.generator["sha256"],
           "date": r.provenance.date[:10], "version": r.provenance.csbench_version,
           "quality_n": (r.metrics or {}).get("teacher", {}).get("n")}
    for family in ("teacher", "inception"):
        row.update({f"{family}_{name}": _metric(r, family, name) for name in QUALITY})
    return row


def board_frame(records: Sequence[CsRecord], protocol: str) -> pd.DataFrame:
    """One row per generator evaluated under `protocol`: ranked rows first by CS (ties by name), then
    references, provisional rows and flagged copies, each by CS."""
    frame = pd.DataFrame([board_row(r) for r in records if r.protocol["name"] == protocol])
    if frame.empty:
        return frame
    frame["order"] = frame.group.map(GROUPS.index)
    frame = frame.sort_values(["order", "cs", "generator"], ascending=[True, False, True],
                              kind="mergesort").drop(columns="order").reset_index(drop=True)
    floor = frame.loc[frame.generator == FLOOR_GENERATOR, "raw"]
    frame["normalised_cs"] = ((frame.raw - floor.iloc[0]) / (frame.reference - floor.iloc[0])
                              if len(floor) else float("nan"))
    return frame


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _cs_cell(r) -> str:
    return _fmt(r.cs) if math.isnan(r.half) else f"{_fmt(r.cs)} ± {_fmt(r.half)}"


GENERATOR_HEADER = ["generator", "CS ± 95 %", "class balance (rarest)", "normalised CS", "seeds", "worst class (CS)",
                    "CAS (label agreement)", "copies / held-out", "teacher-IS", "teacher-FID", "precision", "recall",
                    "density", "coverage"]


def generator_cells(r) -> list[str]:
    worst = f"{r.worst_class} ({_fmt(r.worst_cs, 2)})" if isinstance(r.worst_class, str) else "–"
    cas = "–" if math.isnan(r.cas) else f"{_fmt(r.cas)} ({_fmt(r.agreement, 2)})"
    copies = "–" if math.isnan(r.copy_rate) else f"{_fmt(r.copy_rate)} / {_fmt(r.heldout_rate)}"
    balance = "–" if math.isnan(r.balance) else f"{_fmt(r.balance, 2)} ({_fmt(r.rarest)})"
    name = f"`{r.generator}`" if not isinstance(getattr(r, "grid", None), str) else f"[`{r.generator}`]({r.grid})"
    name += " (samples file)" if r.from_samples else ""
    return [name, _cs_cell(r), balance, _fmt(r.normalised_cs), str(r.seeds), worst, cas,
            copies + (" (flagged)" if r.flagged else ""), _fmt(r.teacher_is, 2), _fmt(r.teacher_fid, 1),
            _precision_cell(r), _fmt(r.teacher_recall), _fmt(r.teacher_density), _fmt(r.teacher_coverage)]


def _precision_cell(r) -> str:
    """Precision, marked where it rests on a few real outliers' balls rather than on the data."""
    if math.isnan(r.teacher_precision) or math.isnan(r.teacher_coverage):
        return _fmt(r.teacher_precision)
    few = precision_rests_on_few_balls(r.teacher_precision, r.teacher_coverage)
    return _fmt(r.teacher_precision) + (" (few balls)" if few else "")


def ranking_table(frame: pd.DataFrame) -> str:
    rows = frame[frame.group == "ranked"]
    return markdown_table(["rank", *GENERATOR_HEADER],
                  [[str(rank), *generator_cells(r)] for rank, r in enumerate(rows.itertuples(), start=1)])


def group_table(frame: pd.DataFrame, group: str) -> str:
    return markdown_table(GENERATOR_HEADER, [generator_cells(r) for r in frame[frame.group == group].itertuples()])


# (label, key, read from the test-split measures even in the training table)
TRAINING_COPY_COLUMNS = (("copy rate", "copy_rate", False), ("held-out rate", "heldout_copy_rate", False),
                         ("threshold", "threshold", False), ("C_T", "ct", False),
                         ("distance ratio", "median_distance_ratio", False),
                         ("test-split distance ratio", "median_distance_ratio", True))
TEST_COPY_COLUMNS = (("copy rate", "copy_rate", True), ("exact copies", "exact_copy_rate", True),
                     ("training rate", "heldout_copy_rate", True), ("C_T", "ct", True))


def copies_table(frame: pd.DataFrame, group: str = "copies", test_split: bool = False) -> str:
    """A group's rows with one copy test's numbers in both spaces: against the training split, or against the test
    split (`test_split`), under the rule each record states."""
    columns = TEST_COPY_COLUMNS if test_split else TRAINING_COPY_COLUMNS
    header = ["generator", "CS", "seeds"] + [f"{s} {label}" for s in SPACES for label, _, _ in columns]
    rows = []
    for r in frame[frame.group == group].itertuples():
        cells = [f"`{r.generator}`", _fmt(r.cs), str(r.seeds)]
        unseen = r.copying.get("test_split") or {}
        for space in SPACES:
            cells += [_fmt((unseen if from_test_split else r.copying).get(space, {}).get(key))
                      for _, key, from_test_split in columns]
        rows.append(cells)
    return markdown_table(header, rows)


def details_table(frame: pd.DataFrame) -> str:
    """What the ranking table leaves out: the student's accuracy, Inception metrics, class balance, provenance."""
    header = ["generator", "student acc.", "Inception IS", "Inception FID", "class entropy", "confidence",
              "samples", "sha256", "date", "csbench"]
    return markdown_table(header, [[f"`{r.generator}`", _fmt(r.raw), _fmt(r.inception_is, 2), _fmt(r.inception_fid, 1),
                            _fmt(r.teacher_class_entropy), _fmt(r.teacher_mean_confidence),
                            f"{r.samples:,} × {r.seeds}", f"`{r.sha256[:12]}`", r.date, r.version]
                           for r in frame.itertuples()])


def disagreements(frame: pd.DataFrame, checks=SAMPLE_CHECKS) -> list[str]:
    """Pairs that a metric in `checks` ranks one way while the paired per-seed CS test ranks them the other.

    Flagged copies (of either split) take no part; a pair needs MIN_SEEDS shared seeds (`direction` says 0 otherwise).
    """
    rows = [r for r in frame.itertuples() if r.group not in ("copies", "test copies")]
    found = []
    for a in rows:
        for b in rows:
            shared = sorted(set(a.seed_cs) & set(b.seed_cs))
            gaps = [b.seed_cs[s] - a.seed_cs[s] for s in shared]
            if a is b or direction(gaps) != 1:
                continue
            prefer_a = []
            for column, label, higher, digits in checks:
                m_a, m_b = getattr(a, column), getattr(b, column)
                if not (math.isnan(m_a) or math.isnan(m_b)) and (m_a > m_b if higher else m_a < m_b):
                    prefer_a.append(f"{label} ({m_a:.{digits}f} against {m_b:.{digits}f})")
            if prefer_a:
                mean, half = t_interval(gaps)
                found.append(f"- `{a.generator}` over `{b.generator}` by {' and '.join(prefer_a)}; CS the other way: "
                             f"{a.cs:.3f} against {b.cs:.3f}, per-seed CS difference {mean:.3f} ± {half:.3f} over "
                             f"{len(shared)} shared seeds.")
    return found


def disagreement_section(frame: pd.DataFrame) -> str:
    sample, fidelity = disagreements(frame, SAMPLE_CHECKS), disagreements(frame, FIDELITY_CHECKS)
    return "\n".join([
        f"A pair is listed when a sample metric ranks it one way and CS the other way by {TEST_METHOD}. "
        "Sample metrics are single values (first seed), compared as numbers.", "",
        "IS and FID against CS:", "", *(sample or ["- none."]), "",
        "Fidelity against CS (teacher-space precision or density prefers the first set, while the second teaches "
        "better although more of its samples lie off the real data):", "", *(fidelity or ["- none."])])


def suite_card(suite: Suite, protocols: Sequence[str]) -> str:
    t = suite.teacher
    accuracy = f"{t.test_accuracy:.2%} test accuracy" if t.test_accuracy is not None else "test accuracy not measured"
    teacher = (f"`{t.architecture}`, {accuracy}, {t.pin.kind} `{t.identity}`" if t.pinned
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


def reference_lines(frame: pd.DataFrame, records: Sequence[CsRecord], protocol: str) -> str:
    """The reference of the record with the most seeds; references that differ for the same seed (trained at
    another torch thread count, which changes float summation order) are named, since each record divides by its
    own."""
    mine = [r for r in records if r.protocol["name"] == protocol]
    widest = max(mine, key=lambda r: len(r.reference_scores))
    ref = widest.reference_scores
    by_seed: dict[int, set[float]] = defaultdict(set)
    for r in mine:
        for seed, value in zip(r.seeds, r.reference_scores):
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


def copies_section(frame: pd.DataFrame) -> str:
    """The copy rule, applied to every record's measures, then the rows it flags (references are never listed
    here)."""
    flagged = (frame.group == "copies").any()
    text = f"Rule: {COPY_RULE}. " if frame.copying.notna().any() else ""
    text += ("These rows are not ranked:" if flagged else "No generator is flagged.")
    return "\n\n".join([text, copies_table(frame)] if flagged else [text])


def test_copies_section(frame: pd.DataFrame) -> str:
    """The test-split copy rule, the rows it was not measured for, then the rows it flags."""
    measured = [r for r in frame.itertuples() if r.copying and r.copying.get("test_split")]
    text = f"Rule: {TEST_COPY_RULE}. " if measured else ""
    unmeasured = [f"`{r.generator}`" for r in frame.itertuples() if r.copying and not r.copying.get("test_split")]
    if unmeasured:
        text += (f"Not measured for {', '.join(unmeasured) if measured else 'any row here'}: records made before this "
                 "test, whose ranks stand unchecked. ")
    if not measured:
        return text.rstrip()
    flagged = (frame.group == "test copies").any()
    text += ("These rows are not ranked: their samples copy the images CS is measured on." if flagged
             else "No generator is flagged.")
    return "\n\n".join([text, copies_table(frame, "test copies", test_split=True)] if flagged else [text])


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    """PNG without the matplotlib version in its metadata, so the bytes depend on the records only."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})


def plot(frame: pd.DataFrame, path: Path, title: str) -> None:
    """CS against teacher-IS and against teacher-space recall, one labelled point per generator."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    panels = ((axes[0], "teacher_is", "teacher-IS"), (axes[1], "teacher_recall", "teacher-space recall"))
    for ax, column, label in panels:
        ax.errorbar(frame[column], frame.cs, yerr=frame.half.fillna(0), fmt="o", capsize=3)
        for r in frame.itertuples():
            ax.annotate(r.generator, (getattr(r, column), r.cs), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set_xlabel(label)
        ax.set_ylabel("Compression Score")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def class_heatmap(frame: pd.DataFrame, path: Path, title: str) -> None:
    """Generators × classes of per-class CS, in board order, for the rows that have them."""
    rows = frame[frame.class_cs.notna()]
    plt = _pyplot()
    values = np.array([list(v) for v in rows.class_cs], dtype=float)
    classes = rows.classes.iloc[0]
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(classes), 1.5 + 0.4 * len(rows)))
    image = ax.imshow(values, cmap="viridis", vmin=0.0, vmax=max(1.0, float(np.nanmax(values))), aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, "–" if math.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=7,
                color="white" if math.isnan(v) or v < 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), list(rows.generator), fontsize=8)
    fig.colorbar(image, ax=ax, label="per-class CS")
    ax.set_title(title)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


INTRO = ("Rendered by `csbench leaderboard render` from the result records; do not edit by hand. CS: the student's "
         "test accuracy on the samples over the same protocol's accuracy on real data, so 1 means the samples teach "
         "as much as the real training set; its interval is described under each ranking.")
COLUMNS = [
    "- class balance (rarest): how evenly the first seed's samples spread over the classes by the teacher's label "
    "(its argmax): the entropy of the label shares over log(classes), 1 when every class is as frequent, and in "
    "brackets the rarest class's share (1 / classes when balanced). Soft labels teach a class from few samples, so "
    "an unbalanced set can score a high CS; \"–\" where a record holds no label shares.",
    "- normalised CS: the student's accuracy with `uniform_noise` at 0 and real data at 1.",
    "- worst class (CS): the class with the lowest per-class CS (mean over seeds of the student's accuracy on that "
    "class's test images over the reference student's); the heatmap at the end shows every class.",
    "- CAS (label agreement): the Classification Accuracy Score (Ravuri & Vinyals 2019), the test accuracy of the same "
    "student trained on the generator's own labels as one-hot targets instead of the teacher's outputs, mean over "
    "seeds; in brackets the share of samples whose teacher argmax equals the generator's label. It costs one more "
    "student training per seed, and is \"–\" for generators that return no labels; the `real_data` row's CAS is the "
    "real-data baseline (true labels).",
    "- copies / held-out: the share of samples the teacher-space copy test calls copies of training images, against "
    "the same share for held-out real images; flagged generators are listed apart, not ranked.",
    "- teacher-IS, teacher-FID, precision, recall, density, coverage: sample metrics with the suite's teacher as the "
    "feature network. Precision marked \"(few balls)\" rests on the balls of a few real outliers, not on the data: "
    f"precision ÷ coverage (precise samples per covered real ball) is above {CONCENTRATION_FLAG:g}, as for noise, "
    "whose features collapse into one small cloud (benchmarks/results/precision-noise.md); read coverage and density "
    "beside it. Inception metrics (InceptionV3, each record naming its input preprocessing, torch-fidelity's by "
    "default; blank where its weights were unavailable), class entropy, confidence and provenance are in each "
    "protocol's details table.",
]


def budget_section(suite: Suite, name: str, frame: pd.DataFrame, records: Sequence[CsRecord],
                   budget_records: Sequence[BudgetRecord], out_dir: Path, suffix: str = "") -> list[str]:
    """CS by budget and what the samples are worth in real images, with its plot, in board order, for the
    generators that have a budget curve under protocol `name` (none: no section)."""
    order = {generator: i for i, generator in enumerate(frame.generator)}
    found = curves(sorted((r for r in records if r.generator["name"] in order),
                          key=lambda r: order[r.generator["name"]]), budget_records, name)
    if not found:
        return []
    image = out_dir / f"{suite.name}{suffix}-budget{'' if name == suite.default_protocol else f'-{name}'}.png"
    budget_plot(found, image, f"{suite.name}, protocol {name}: CS and accuracy by budget", _save)
    return [f"### What the samples are worth in real images (`{name}`)", "",
            "CS at each budget: the student on that many samples over the same protocol on a random real subset of "
            "the same size (the reference at that budget), so real data lies on 1; the last budget is the CS "
            "above.", "", worth_table(found), "", WORTH_METHOD.format(level=LEVEL * 100), "",
            f"![CS and accuracy by budget]({image.name})", ""]


def protocol_section(suite: Suite, name: str, frame: pd.DataFrame, records: Sequence[CsRecord],
                     data: str = "") -> list[str]:
    """`data`: the heading's note of the data the records were measured on (empty for the official release)."""
    groups = set(frame.group)
    parts = [f"## Protocol `{name}`{' (default)' if name == suite.default_protocol else ''}{data}", "",
             reference_lines(frame, records, name), "", "### Ranked generators", "",
             ranking_table(frame) if "ranked" in groups else
             f"No ranked generator under this protocol yet: a row needs {MIN_SEEDS} seeds, and references and "
             "flagged copies are never ranked.", "", RATIO_METHOD, ""]
    if "reference" in groups:
        parts += ["### References", "", "Real-data sets and the noise floor, for scale and not ranked; `real_data` is "
                  "the training split itself.", "", group_table(frame, "reference"), ""]
    if "provisional" in groups:
        parts += [f"### Provisional (fewer than {MIN_SEEDS} seeds)", "",
                  f"Not ranked, and shown without an interval, until they have {MIN_SEEDS} seeds.", "",
                  group_table(frame, "provisional"), ""]
    if frame.copying.notna().any():
        parts += ["### Copies the training data", "", copies_section(frame), "",
                  "### Copies the test split", "", test_copies_section(frame), ""]
    parts += [f"### Where the metrics disagree (`{name}`{data})", "", disagreement_section(frame), "",
              "### Details", "", details_table(frame), ""]
    quality_n = frame.quality_n.dropna()
    if len(quality_n):
        counts = "–".join(f"{int(n):,}" for n in sorted({quality_n.min(), quality_n.max()}))
        parts += [f"Sample-quality metrics on {counts} samples of the first seed (FID is biased in N: compare "
                  "rows with equal N).", ""]
    return parts


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def shown_version(records: Sequence[CsRecord]) -> str:
    """The newest csbench version among a suite's records: a board shows that version's records only, so that a
    re-run that spans sessions leaves the last complete board in place until its first new record lands."""
    versions = {r.provenance.csbench_version for r in records} or {__version__}
    return max(versions, key=version_key)


def stale_line(stale: Sequence[CsRecord]) -> str:
    """Records another csbench version made score with other code (a student, a protocol): never beside these."""
    names = ", ".join(f"`{r.generator['name']}`" + (f" (`{r.protocol['name']}`)" if r.protocol["name"] != "graded"
                                                      else "")
                      + f" {r.provenance.csbench_version}" for r in stale)
    return (f"Not shown: {len(stale)} record(s) made by another csbench version, whose numbers come from other code "
            f"(see CHANGELOG.md) and are not comparable with these; `csbench evaluate-all` redoes them: {names}.")


def older_version_line(version: str) -> str:
    return (f"**Made by csbench {version}; this is csbench {__version__}**, whose code gives other numbers for some "
            f"columns (CHANGELOG.md says which). `csbench evaluate-all` redoes these records; the board switches to "
            f"{__version__} with its first new record.")


def budget_records(results_dir: Path | str, suite: str, version: str = __version__) -> list[BudgetRecord]:
    """The suite's budget and GAN-MC records made by csbench `version`."""
    found = [r for folder in ("budget", "gan-mc")
             for r in read_records(results_dir, f"{suite}/{folder}", RecordKind.BUDGET)]
    return [r for r in found if r.provenance.csbench_version == version]


def grid_links(results_dir: Path | str, suite: str, out_dir: Path) -> dict[str, str]:
    """Generator name -> the link from the board to its sample grid, where the evaluation wrote one."""
    folder = Path(results_dir) / suite / "grids"
    return {p.stem: Path(os.path.relpath(p, out_dir)).as_posix() for p in sorted(folder.glob("*.png"))}


STRIP_ROWS = 5


def samples_strip(suite: Suite, frame: pd.DataFrame, results_dir: Path, out_dir: Path) -> list[str]:
    """`<suite>-samples.png`: one sample per teacher class of `real_data` and of the best-ranked generators with a
    grid (the README's first table shows it)."""
    folder = results_dir / suite.name / "grids"
    with_grid = [n for n in frame.generator if (folder / f"{n}.png").is_file()]
    best = [n for n in frame.generator[frame.group == "ranked"] if n in with_grid][:STRIP_ROWS]
    chosen = ["real_data"] * ("real_data" in with_grid) + best
    if not chosen:
        return []
    image = out_dir / f"{suite.name}-samples.png"
    write_strip([(n, folder / f"{n}.png") for n in chosen], image, suite.class_names, _save)
    return ["Samples of seed 0, one per teacher class, of `real_data` and the best-ranked generators; each name in "
            "the tables links its generator's first 100 samples, ordered by the teacher's label:", "",
            f"![Samples by class]({image.name})", ""]


def data_key(record: CsRecord) -> tuple[str, str] | None:
    """The (train, test) digests of the data a record was measured on; None for the official release."""
    return None if record.official_data else (record.data["train"], record.data["test"])


UNVERIFIED_TOP = ("Records measured on data that is not the official `{dataset}` release (a copy that fails its "
                  "checksums) are shown apart, each copy under its own heading below; their numbers are not "
                  "`{dataset}` numbers.")


def unverified_heading(suite: Suite, key: tuple[str, str], records: Sequence[CsRecord]) -> list[str]:
    """What a copy's section says about its data: digests, the teacher's accuracy on it, and what that means."""
    accuracies = sorted({r.data["teacher_accuracy"] for r in records})
    measured = " or ".join(f"{a:.2%}" for a in accuracies)
    published = (f", against {suite.teacher.test_accuracy:.2%} on the official test split"
                 if suite.teacher.test_accuracy is not None else "")
    return [f"## Unverified data `{key[0][:12]}`", "",
            f"Measured on a copy of `{suite.dataset}` that fails the official release's checksums: train arrays "
            f"sha256 `{key[0]}`, test arrays sha256 `{key[1]}`. The teacher classifies {measured} of this copy's "
            f"test images correctly{published}. These numbers compare generators with each other on this copy "
            "only: they are development numbers, not comparable with records on the official release or on "
            "another copy.", ""]


def data_sections(suite: Suite, records: Sequence[CsRecord], out_dir: Path, key: tuple[str, str] | None,
                  protocols: Sequence[str], budgets: Sequence[BudgetRecord], grids: dict[str, str],
                  results_dir: Path | None, strip: bool) -> list[str]:
    """The protocol sections and plots of the records measured on one set of data (`key`, None: the release),
    with the budget and GAN-MC records of that data; `strip`: whether this part shows the strip of samples."""
    note = "" if key is None else f", unverified data `{key[0][:12]}`"
    suffix = "" if key is None else f"-data{key[0][:12]}"
    present = {r.protocol["name"] for r in records}
    mine = [p for p in protocols if p in present]
    budgets = [r for r in budgets if data_key(r) == key]
    frames = {name: board_frame(records, name) for name in mine}
    parts = [] if key is None else unverified_heading(suite, key, records)
    for name, frame in frames.items():
        frame["grid"] = frame.generator.map(grids)
        parts += protocol_section(suite, name, frame, records, note)
        parts += budget_section(suite, name, frame, [r for r in records if r.protocol["name"] == name], budgets,
                                out_dir, suffix)
        parts += gan_mc_section(budgets, name)
    first = mine[0]
    if strip and grids:
        parts += samples_strip(suite, frames[first], Path(results_dir), out_dir)
    image = out_dir / f"{suite.name}{suffix}.png"
    plot(frames[first], image, f"{suite.name}, protocol {first}{note.replace('`', '')}")
    parts += [f"![CS against teacher-IS and recall]({image.name})", ""]
    heatmap = out_dir / f"{suite.name}{suffix}-classes.png"
    with_classes = [p for p in mine if frames[p].class_cs.notna().any()]
    if with_classes:
        class_heatmap(frames[with_classes[0]], heatmap,
                      f"{suite.name}: per-class CS, protocol {with_classes[0]}{note.replace('`', '')}")
        parts += [f"Per-class CS under protocol `{with_classes[0]}`, one row per generator in board order:", "",
                  f"![Per-class CS]({heatmap.name})", ""]
    return parts


def no_records_line(suite: Suite) -> str:
    t = suite.teacher
    source = f"it downloads itself from {t.url}, or pass `--teacher FILE`" if t.url else f"`{t.path}`"
    return (f"No records yet. A maintainer with the teacher file (`{t.checkpoint}`, {t.pin.kind} `{t.identity}`; "
            f"{source}) produces them with `csbench evaluate-all --suite {suite.name} --out results`, then "
            "`csbench leaderboard render`.")


def render_board(suite: Suite, records: Sequence[CsRecord], out_dir: Path, results_dir: Path | None = None) -> Path:
    """Write `<out_dir>/<suite>.md` and its plots; the default protocol's section comes first. Only the records of
    the suite's newest csbench version are shown (`shown_version`); others are named as stale. Records on the
    official release come first; those on any other copy of the data follow, each copy in its own sections: a
    ranking never mixes data.
    `results_dir`: where the budget and GAN-MC records and the sample grids are (None: the board has none)."""
    version = shown_version(records)
    stale = [r for r in records if r.provenance.csbench_version != version]
    records = [r for r in records if r.provenance.csbench_version == version]
    budgets = budget_records(results_dir, suite.name, version) if results_dir is not None else []
    grids = grid_links(results_dir, suite.name, out_dir) if results_dir is not None else {}
    present = {r.protocol["name"] for r in records}
    protocols = list(dict.fromkeys(p for p in [suite.default_protocol, *sorted(suite.protocols)] if p in present))
    by_data: dict[tuple[str, str] | None, list[CsRecord]] = defaultdict(list)
    for r in records:
        by_data[data_key(r)].append(r)
    card = ["## Suite", "", suite_card(suite, protocols or [suite.default_protocol]), ""]
    parts = [f"# {suite.name} leaderboard", ""]
    if not records and not stale:
        parts += [no_records_line(suite), "", *card]
    if any(key is not None for key in by_data):
        parts += [UNVERIFIED_TOP.format(dataset=suite.dataset), ""]
    if records and version != __version__:
        parts += [older_version_line(version), ""]
    if records or stale:
        parts += [INTRO, "", *COLUMNS, "", *card]
    if stale:
        parts += [stale_line(sorted(stale, key=lambda r: (r.protocol["name"], r.generator["name"]))), ""]
    keys = sorted(by_data, key=lambda k: (k is not None, k or ("", "")))
    for i, key in enumerate(keys):
        parts += data_sections(suite, by_data[key], out_dir, key, protocols, budgets, grids, results_dir, i == 0)
    path = out_dir / f"{suite.name}.md"
    atomic_write_text(path, "\n".join(parts))
    return path


def board_label(board: str) -> str:
    """What the index says beside a board whose records are not numbers of the official data, or that has none."""
    if board.startswith("# ") and "\nNo records yet." in board:
        return ": no records yet"
    if UNVERIFIED_TOP.split("`{dataset}`")[0] in board:
        return ": records on a copy of the data that is not the official release (development numbers)"
    return ""


def render_index(out_dir: Path) -> Path:
    """`leaderboards/README.md`: one line per rendered board."""
    boards = sorted(p for p in out_dir.glob("*.md") if p.name != "README.md")
    lines = ["# Leaderboards", "", "One board per suite, rendered from result records by "
             "`csbench leaderboard render`.", ""]
    lines += [f"- [{p.stem}]({p.name}){board_label(p.read_text())}" for p in boards]
    path = out_dir / "README.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def render(suite: Suite, results_dir: Path | str = "results", out_dir: Path | str = "leaderboards") -> Path:
    """Render one suite's board from its records (a board that says how to make them when it has none) and refresh
    the index."""
    out_dir = Path(out_dir)
    path = render_board(suite, read_records(results_dir, suite.name, RecordKind.CS), out_dir, Path(results_dir))
    render_index(out_dir)
    return path
