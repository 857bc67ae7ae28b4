"""Fréchet Inception Distance between two feature sets: pytorch-fid's formula, without its matrix square root.

FID = |mu_a - mu_b|² + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^½). pytorch-fid takes the last term from
`scipy.linalg.sqrtm` of the non-symmetric product; here it comes from the eigenvalues of the symmetric
S_a^½ S_b S_a^½, which has the same eigenvalues as S_a S_b, so that the number does not depend on a
general-purpose matrix square root (nor on its keyword arguments) and rank-deficient covariances need no
offset. FID is biased upward at small N: a number is comparable only with numbers at the same sample count.
"""

from __future__ import annotations

import numpy as np


def statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (rows are samples), computed as pytorch-fid computes them."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"features must be an (n, d) array with n >= 2, not shape {x.shape}")
    return x.mean(0), np.cov(x, rowvar=False)


def _psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a covariance; eigenvalues below 0 are rounding and count as 0."""
    w, v = np.linalg.eigh(sigma)
    return (v * np.sqrt(w.clip(min=0))) @ v.T


def trace_sqrt_product(sigma_a: np.ndarray, sigma_b: np.ndarray) -> float:
    """tr((S_a S_b)^½), the sum of the square roots of the eigenvalues of S_a S_b."""
    root = _psd_sqrt(sigma_a)
    return float(np.sqrt(np.linalg.eigvalsh(root @ sigma_b @ root).clip(min=0)).sum())


def frechet_distance(stats_a: tuple[np.ndarray, np.ndarray], stats_b: tuple[np.ndarray, np.ndarray]) -> float:
    (mu_a, sigma_a), (mu_b, sigma_b) = stats_a, stats_b
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"feature dimensions differ: {mu_a.shape[0]} and {mu_b.shape[0]}")
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2.0 * trace_sqrt_product(sigma_a, sigma_b))


def fid(features_a, features_b) -> float:
    return frechet_distance(statistics(features_a), statistics(features_b))
