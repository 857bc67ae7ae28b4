"""One full-covariance Gaussian per class, fitted on the standardised training rows; balanced classes."""

import numpy as np

import csbench
from csbench.tabular.suites import TABULAR_SUITES

RIDGE = 1e-3  # keeps each class covariance positive definite (constant columns, few rows)


@csbench.generator("tabular_per_class_gaussian", suites=list(TABULAR_SUITES), needs_train_data=True)
def sample(n: int, seed: int, ctx: csbench.SampleContext):
    """Class c drawn from N(mean_c, cov_c + ridge I), classes in equal shares."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % ctx.num_classes)
    rows = np.empty((n, ctx.shape[0]))
    for c in range(ctx.num_classes):
        x = ctx.train.rows[ctx.train.labels == c].astype(float)
        cov = np.cov(x, rowvar=False) + RIDGE * np.eye(x.shape[1])
        z = rng.standard_normal(((labels == c).sum(), x.shape[1]))
        rows[labels == c] = x.mean(0) + z @ np.linalg.cholesky(cov).T
    return rows.astype(np.float32), labels
