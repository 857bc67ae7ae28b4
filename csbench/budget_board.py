"""The board's budget sections, from records: CS by budget with what a generator's samples are worth in real
images, and GAN-assisted compression. Pure functions of the records, as the rest of the board.

A budget curve joins a generator's budget record (the budgets below the protocol's sample count) with its CS
record (the protocol's own count): both must come from the same generator file, teacher, protocol and seeds, or
the curve is left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .results import BudgetRecord, CsRecord
from .stats import LEVEL, MIN_SEEDS, ratio_interval, t_interval
from .tables import markdown_table


@dataclass(frozen=True)
class Curve:
    """A generator's student accuracy and its reference's at each budget; `scores[i][j]`: budget i, seed j."""

    generator: str
    budgets: tuple[int, ...]
    seeds: tuple[int, ...]
    scores: tuple[tuple[float, ...], ...]
    reference_scores: tuple[tuple[float, ...], ...]

    def cs(self, i: int) -> tuple[float, float]:
        """CS at budget i with its paired interval's half width (NaN below MIN_SEEDS seeds)."""
        cs, half = ratio_interval(self.scores[i], self.reference_scores[i])
        return cs, half if len(self.seeds) >= MIN_SEEDS else float("nan")


def _same(cs: CsRecord, budget: BudgetRecord) -> bool:
    return (cs.generator == budget.generator and cs.teacher == budget.teacher
            and cs.protocol == budget.protocol and cs.seeds == budget.seeds
            and cs.provenance.csbench_version == budget.provenance.csbench_version)


def curves(cs_records: Sequence[CsRecord], budget_records: Sequence[BudgetRecord], protocol: str) -> list[Curve]:
    """One curve per generator with a CS record and a matching budget record under `protocol`, in the order of
    `cs_records`."""
    by_name = {r.generator["name"]: r for r in budget_records
               if r.protocol["name"] == protocol and r.mix == "generated"}
    found = []
    for cs in cs_records:
        budget = by_name.get(cs.generator["name"])
        if cs.protocol["name"] != protocol or budget is None or not _same(cs, budget):
            continue
        found.append(Curve(cs.generator["name"], (*budget.budgets, cs.protocol["samples"]), tuple(cs.seeds),
                           tuple(map(tuple, [*budget.scores, cs.raw_scores])),
                           tuple(map(tuple, [*budget.reference_scores, cs.reference_scores]))))
    return found


def worth(accuracy: float, budgets: Sequence[int], reference: Sequence[float]) -> tuple[float, int]:
    """The real-subset size whose reference accuracy equals `accuracy`: the first point where the reference
    curve, linear in log budget between its points, reaches it. (size, 0), or the end budget with -1 when the
    accuracy lies below the smallest budget's reference, +1 when the curve never reaches it."""
    if accuracy < reference[0]:
        return float(budgets[0]), -1
    if accuracy == reference[0]:
        return float(budgets[0]), 0
    for (b0, r0), (b1, r1) in zip(zip(budgets, reference), zip(budgets[1:], reference[1:])):
        if accuracy == r1:
            return float(b1), 0
        if r0 < accuracy < r1:
            t = (accuracy - r0) / (r1 - r0)
            return float(10 ** (math.log10(b0) + t * (math.log10(b1) - math.log10(b0)))), 0
    return float(budgets[-1]), 1


@dataclass(frozen=True)
class Worth:
    """What the samples of the protocol's full budget are worth in real images: the point from the curves' seed
    means, and the t-interval over seeds of each seed's worth on a log scale (censored seeds at the end budget;
    NaN below MIN_SEEDS seeds)."""

    value: float
    censored: int
    low: float
    high: float
    budgets: tuple[int, ...]


def curve_worth(curve: Curve) -> Worth:
    full = [np.mean(s) for s in curve.reference_scores]
    value, censored = worth(float(np.mean(curve.scores[-1])), curve.budgets, full)
    per_seed = [worth(curve.scores[-1][j], curve.budgets, [r[j] for r in curve.reference_scores])[0]
                for j in range(len(curve.seeds))]
    low = high = float("nan")
    if len(per_seed) >= MIN_SEEDS:
        mean, half = t_interval(np.log10(per_seed))
        low, high = 10 ** (mean - half), 10 ** (mean + half)
    return Worth(value, censored, low, high, curve.budgets)


def _size(value: float, budgets: Sequence[int]) -> str:
    """Two or three significant digits: the interval says how little more there is."""
    shown = round(value) if value < 1_000 else round(value, -2)
    if shown > budgets[-1]:
        return f"> {budgets[-1]:,}"
    if shown < budgets[0]:
        return f"< {budgets[0]:,}"
    return f"{shown:,.0f}"


def worth_cell(w: Worth) -> str:
    """"12,300 (8,100–18,700)", or "> 50,000" / "< 1,000" where the point lies beyond the budgets."""
    if w.censored:
        return f"> {w.budgets[-1]:,}" if w.censored > 0 else f"< {w.budgets[0]:,}"
    text = _size(w.value, w.budgets)
    return text if math.isnan(w.low) else f"{text} ({_size(w.low, w.budgets)}–{_size(w.high, w.budgets)})"


WORTH_METHOD = (
    "Worth in real images: the size of the random real subset whose student, trained by the same protocol, "
    "reaches the accuracy of the generator's student on the full budget, read off the real subsets' curve "
    "(linear in log size between the budgets); in brackets the {level:g} % Student-t interval over seeds of each "
    "seed's worth on a log scale (a seed beyond the budgets counts at the end budget). Every budget trains for "
    "the protocol's number of optimisation steps, so a budget changes the data and not the compute.")


def worth_table(found: Sequence[Curve]) -> str:
    budgets = found[0].budgets
    header = ["generator", *(f"CS at {b:,}" for b in budgets), "worth in real images"]
    rows = []
    for c in found:
        cells = []
        for i in range(len(c.budgets)):
            cs, half = c.cs(i)
            cells.append(f"{cs:.3f}" if math.isnan(half) else f"{cs:.3f} ± {half:.3f}")
        rows.append([f"`{c.generator}`", *cells, worth_cell(curve_worth(c))])
    return markdown_table(header, rows)


def budget_plot(found: Sequence[Curve], path, title: str, save) -> None:
    """CS against budget (the real subsets on 1 by construction) and the students' accuracy against budget
    (the real subsets' curve is what `worth` reads), log x, one line per generator."""
    from .leaderboard import _pyplot

    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    budgets = found[0].budgets
    left.axhline(1.0, color="black", lw=2, label="real subsets (reference)")
    reference = np.mean([np.mean(c.reference_scores, axis=1) for c in found], axis=0)
    right.plot(budgets, reference, color="black", lw=2, marker="s", label="real subsets (reference)")
    for c in found:
        cs = [c.cs(i) for i in range(len(c.budgets))]
        left.errorbar(c.budgets, [v for v, _ in cs], yerr=[0 if math.isnan(h) else h for _, h in cs], marker="o",
                      capsize=3, lw=1, label=c.generator)
        right.plot(c.budgets, np.mean(c.scores, axis=1), marker="o", lw=1, label=c.generator)
    for ax, label in ((left, "Compression Score"), (right, "student test accuracy")):
        ax.set_xscale("log")
        ax.set_xticks(budgets, [f"{b:,}" for b in budgets])
        ax.minorticks_off()
        ax.set_xlabel("samples (generated) or real images (reference)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    right.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, path)
    plt.close(fig)


def gan_mc_table(records: Sequence[BudgetRecord]) -> str:
    """Real only against real + generated at each N: the real-only accuracy, then per generator the paired gain."""
    budgets = records[0].budgets
    header = ["", *(f"N = {b:,}" for b in budgets)]
    real = records[0].reference_scores
    rows = [["real only (accuracy)", *(f"{np.mean(r):.4f}" for r in real)]]
    for r in records:
        cells = []
        for scores, reference in zip(r.scores, r.reference_scores):
            mean, half = t_interval(np.subtract(scores, reference))
            cells.append(f"{mean:+.4f}" if len(scores) < MIN_SEEDS else f"{mean:+.4f} ± {half:.4f}")
        rows.append([f"+ `{r.generator['name']}`", *cells])
    return markdown_table(header, rows)


GAN_MC_METHOD = (
    "Each student learns from N real training images (a random subset, per seed) plus {generated:,} generated "
    "samples, all labelled by the teacher, as the seed paper's GAN-assisted compression; the first row is the same "
    "student on the N real images alone. Cells: the gain in test accuracy, mean over seeds ± the {level:g} % "
    "paired Student-t interval (n − 1 degrees of freedom) of the per-seed differences; every student trains for "
    "the protocol's number of optimisation steps.")


def gan_mc_section(records: Sequence[BudgetRecord], protocol: str) -> list[str]:
    """The section's lines for the records of `protocol` that share its budgets and seeds (others are left out)."""
    mine = sorted((r for r in records if r.protocol["name"] == protocol and r.mix == "real+generated"),
                  key=lambda r: r.generator["name"])
    if not mine:
        return []
    mine = [r for r in mine if r.budgets == mine[0].budgets and r.seeds == mine[0].seeds]
    return [f"### GAN-assisted compression (`{protocol}`)", "",
            GAN_MC_METHOD.format(generated=mine[0].generated, level=LEVEL * 100), "", gan_mc_table(mine), ""]
