"""Fréchet Inception Distance between two feature sets, by pytorch-fid's own formula.

FID is biased upward at small N, so a number is comparable only with numbers at the same sample count.
"""

from __future__ import annotations

import warnings

import numpy as np
from pytorch_fid.fid_score import calculate_frechet_distance


def statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (rows are samples), computed as pytorch-fid computes them."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"features must be an (n, d) array with n >= 2, not shape {x.shape}")
    return x.mean(0), np.cov(x, rowvar=False)


def frechet_distance(stats_a: tuple[np.ndarray, np.ndarray], stats_b: tuple[np.ndarray, np.ndarray]) -> float:
    (mu_a, sigma_a), (mu_b, sigma_b) = stats_a, stats_b
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"feature dimensions differ: {mu_a.shape[0]} and {mu_b.shape[0]}")
    with warnings.catch_warnings():  # pytorch-fid passes scipy's deprecated `disp` to sqrtm
        warnings.filterwarnings("ignore", message=".*`disp` argument is deprecated", category=DeprecationWarning)
        return float(calculate_frechet_distance(mu_a, sigma_a, mu_b, sigma_b))


def fid(features_a, features_b) -> float:
    return frechet_distance(statistics(features_a), statistics(features_b))
