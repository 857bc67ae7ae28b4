"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with the kernel k(x, y) = (x·y/d + 1)³.

Averaged over random subsets as torch-fidelity and clean-fid do; unlike FID its estimate is unbiased in N.
"""

from __future__ import annotations

import numpy as np


def _kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Within-set sums leave out the diagonal; the cross term averages all pairs."""
    m, n = len(x), len(y)
    kxx, kyy = _kernel(x, x), _kernel(y, y)
    within = (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(within - 2.0 * _kernel(x, y).mean())


def kid(features_a, features_b, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Mean and standard deviation of MMD² over `subsets` draws of `subset_size` rows from each set
    (without replacement).

    Where a set has no more than `subset_size` rows, every draw would be that whole set and the spread a
    meaningless 0: the mean is then the one estimate on all rows of both sets, and the standard deviation NaN.
    """
    a, b = np.asarray(features_a, dtype=np.float64), np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be two (n, d) arrays of the same d, not shapes {a.shape} and {b.shape}")
    if min(len(a), len(b)) < 2 or subset_size < 2 or subsets < 1:
        raise ValueError(f"KID needs at least 2 samples per set and per subset and 1 subset, got sets of "
                         f"{len(a)} and {len(b)}, subsets of {subset_size} and {subsets} subsets")
    if min(len(a), len(b)) <= subset_size:
        return mmd2_unbiased(a, b), float("nan")
    rng = np.random.RandomState(seed)  # torch-fidelity's generator and order of draws: its numbers at equal seeds
    values = [mmd2_unbiased(a[rng.choice(len(a), subset_size, replace=False)],
                            b[rng.choice(len(b), subset_size, replace=False)]) for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))
