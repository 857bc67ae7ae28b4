"""MUNGE (Bucila, Caruana & Niculescu-Mizil 2006), class-balanced: each new row is a real row with
each attribute, with probability p, redrawn around its nearest same-class neighbour's value.

Attribute a of row e, with neighbour e', becomes N(e'_a, |e_a - e'_a| / s) with probability p.
The paper's defaults s = 1.5, p = 0.1; the seed authors drew 9x the training size.
"""

import numpy as np
from sklearn.neighbors import NearestNeighbors

import csbench
from csbench.tabular.suites import TABULAR_SUITES

SWAP_PROBABILITY = 0.1
LOCAL_VARIANCE = 1.5  # s: the spread is the distance to the neighbour divided by s


def nearest_other(x: np.ndarray) -> np.ndarray:
    """Index of each row's nearest neighbour other than itself (itself when the class has one row)."""
    if len(x) < 2:
        return np.zeros(len(x), dtype=int)
    _, idx = NearestNeighbors(n_neighbors=2).fit(x).kneighbors(x)
    return idx[:, 1]


def munge(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n rows from x: passes over x in random order, as many as n needs."""
    base = np.concatenate([rng.permutation(len(x)) for _ in range(-(-n // len(x)))])[:n]
    e, neighbour = x[base], x[nearest_other(x)[base]]
    redrawn = rng.normal(neighbour, np.abs(e - neighbour) / LOCAL_VARIANCE)
    return np.where(rng.random(e.shape) < SWAP_PROBABILITY, redrawn, e)


@csbench.generator("munge", suites=list(TABULAR_SUITES), needs_train_data=True)
def sample(n: int, seed: int, ctx: csbench.SampleContext):
    """MUNGE rows, s=1.5, p=0.1, nearest neighbours within a class, classes in equal shares."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % ctx.num_classes)
    rows = np.empty((n, ctx.shape[0]))
    for c in range(ctx.num_classes):
        rows[labels == c] = munge(ctx.train.rows[ctx.train.labels == c].astype(float), int((labels == c).sum()), rng)
    return rows.astype(np.float32), labels
