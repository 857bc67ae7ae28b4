"""Reference for tabular suites: real training rows, so its Compression Score is about 1.0."""

import numpy as np

import csbench
from csbench.tabular.suites import TABULAR_SUITES


@csbench.generator("tabular_real_data", suites=list(TABULAR_SUITES), needs_train_data=True)
def sample(n: int, seed: int, ctx: csbench.SampleContext):
    """Real training rows, drawn without replacement (with replacement beyond the split's size)."""
    rng = np.random.default_rng(seed)
    size = len(ctx.train)
    idx = rng.permutation(size)[:n] if n <= size else rng.integers(size, size=n)
    return ctx.train.rows[idx], ctx.train.labels[idx]
