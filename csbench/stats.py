"""The one interval policy of every board and record: Student-t over seeds, paired where seeds are shared.

Scores come from a handful of seeds, so intervals use Student's t with n - 1 degrees of freedom rather
than the normal quantile. The CS is a ratio of two means measured on the same seeds (the raw student and
the reference student share seed i), so its interval is the paired linearised (Fieller) ratio interval:
with residuals d_i = raw_i - CS * reference_i, SE = sd(d) / (sqrt(n) * mean(reference)). Pairing removes
the seed noise both sides share instead of adding the two sides' errors as if they were independent.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.stats import t as student_t

LEVEL = 0.95
MIN_SEEDS = 3  # below this an interval is not shown and a row is not ranked or tested: one degree of freedom is too few

RATIO_METHOD = (f"CS = mean(raw) / mean(reference) over seeds; ± is the {LEVEL * 100:g} % paired ratio-of-means "
                "interval (linearised Fieller): residuals d_i = raw_i − CS · reference_i on the same seed i, "
                f"SE = sd(d) / (√n · mean(reference)), half-width t({(1 + LEVEL) / 2:g}, n − 1) · SE with "
                f"Student's t at n − 1 degrees of freedom for n seeds; rows with fewer than {MIN_SEEDS} seeds get "
                "no interval.")
TEST_METHOD = (f"a two-sided paired t-test at the {(1 - LEVEL) * 100:.2g} % level on the per-seed differences "
               "CS_a,i − CS_b,i (CS_i = raw_i / reference_i) over the seeds both rows share, "
               f"for pairs sharing at least {MIN_SEEDS} seeds; each pair is tested alone")


def t_critical(n: int, level: float = LEVEL) -> float:
    """Two-sided Student-t quantile for a mean over n values (n - 1 degrees of freedom); NaN for n < 2."""
    return float(student_t.ppf((1 + level) / 2, n - 1)) if n >= 2 else float("nan")


def t_interval(values: Sequence[float], level: float = LEVEL) -> tuple[float, float]:
    """(mean, half-width of the Student-t interval); the half-width is NaN for fewer than two values."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), float("nan")
    return float(v.mean()), t_critical(len(v), level) * float(v.std(ddof=1)) / math.sqrt(len(v))


def ratio_of_means(raw, reference) -> np.ndarray | float:
    """mean(raw) / mean(reference) over seeds (axis 0): the CS for per-seed scores, per-class CS for
    (seed, class) arrays. A class the reference never gets right has no ratio (NaN)."""
    num, den = np.mean(np.asarray(raw, dtype=float), axis=0), np.mean(np.asarray(reference, dtype=float), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return float(ratio) if ratio.ndim == 0 else ratio


def _paired(raw: Sequence[float], reference: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    raw, ref = np.asarray(raw, dtype=float), np.asarray(reference, dtype=float)
    if raw.shape != ref.shape or raw.ndim != 1:
        raise ValueError(f"raw and reference scores must pair seed by seed, got {raw.shape} and {ref.shape}")
    if ref.mean() <= 0:
        raise ValueError("reference accuracy must be positive")
    return raw, ref


def ratio_stderr(raw: Sequence[float], reference: Sequence[float]) -> tuple[float, float]:
    """(CS, paired linearised standard error); the error is NaN for one seed."""
    raw, ref = _paired(raw, reference)
    cs = float(raw.mean() / ref.mean())
    if len(raw) < 2:
        return cs, float("nan")
    residuals = raw - cs * ref
    return cs, float(residuals.std(ddof=1)) / (math.sqrt(len(raw)) * float(ref.mean()))


def ratio_interval(raw: Sequence[float], reference: Sequence[float], level: float = LEVEL) -> tuple[float, float]:
    """(CS, half-width of the paired ratio interval at `level`); NaN half-width for one seed."""
    cs, se = ratio_stderr(raw, reference)
    return cs, t_critical(len(raw), level) * se


def per_seed_cs(raw: Sequence[float], reference: Sequence[float]) -> np.ndarray:
    """CS_i = raw_i / reference_i: two generators are compared by the differences of these on shared seeds."""
    raw, ref = _paired(raw, reference)
    return raw / ref


def direction(differences: Sequence[float], level: float = LEVEL) -> int:
    """The paired t-test on per-seed differences a_i - b_i: +1 / -1 when their t-interval lies above / below
    zero (two-sided, at 1 - level), 0 when it covers zero or there are fewer than MIN_SEEDS differences."""
    if len(differences) < MIN_SEEDS:
        return 0
    mean, half = t_interval(differences, level)
    return 1 if mean - half > 0 else -1 if mean + half < 0 else 0
