"""Gaussian copula per class: each column keeps its empirical marginal, columns are tied by the
correlation of their normal scores; classes in equal shares."""

import numpy as np
from scipy.stats import norm, rankdata

import csbench
from csbench.tabular.suites import TABULAR_SUITES

MIN_EIGENVALUE = 1e-6  # keeps the normal-score correlation positive definite


def normal_score_correlation(x: np.ndarray) -> np.ndarray:
    """Correlation of the columns' normal scores; constant columns are independent of the rest."""
    z = norm.ppf(rankdata(x, axis=0) / (len(x) + 1))
    std = z.std(0)
    z = np.where(std > 0, (z - z.mean(0)) / np.where(std > 0, std, 1), 0.0)
    corr = z.T @ z / len(z)
    np.fill_diagonal(corr, 1.0)
    values, vectors = np.linalg.eigh(corr)
    return (vectors * np.clip(values, MIN_EIGENVALUE, None)) @ vectors.T


def copula_rows(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    factor = np.linalg.cholesky(normal_score_correlation(x) + MIN_EIGENVALUE * np.eye(x.shape[1]))
    u = norm.cdf(rng.standard_normal((n, x.shape[1])) @ factor.T)
    return np.stack([np.quantile(x[:, j], u[:, j]) for j in range(x.shape[1])], axis=1)


@csbench.generator("gaussian_copula", suites=list(TABULAR_SUITES), needs_train_data=True)
def sample(n: int, seed: int, ctx: csbench.SampleContext):
    """Per class: normal-score correlation + empirical quantiles of each column."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % ctx.num_classes)
    rows = np.empty((n, ctx.shape[0]))
    for c in range(ctx.num_classes):
        rows[labels == c] = copula_rows(ctx.train.rows[ctx.train.labels == c].astype(float),
                                        int((labels == c).sum()), rng)
    return rows.astype(np.float32), labels
