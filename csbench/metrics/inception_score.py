"""Inception Score and its two halves, read off class probabilities p(y|x) of the samples.

IS = exp(E_x KL(p(y|x) || p(y))) = exp(H(p(y)) - E_x H(p(y|x))): the entropy of the marginal class
distribution (high when the samples cover every class) minus the mean entropy of each sample's prediction
(low when each sample is confidently one class). Entropies are in nats.
"""

from __future__ import annotations

import numpy as np
from scipy.special import entr, rel_entr


def _probabilities(probs) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or len(p) == 0:
        raise ValueError(f"class probabilities must be a non-empty (n, classes) array, not shape {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any() or not np.allclose(p.sum(1), 1.0, atol=1e-3):
        raise ValueError("class probabilities must be finite, non-negative and sum to 1 in every row")
    return p


def inception_score(probs, splits: int = 10) -> tuple[float, float]:
    """Mean and standard deviation of IS over `splits` consecutive parts, as the original code reports it.

    Part i is rows i*N//splits to (i+1)*N//splits, the original code's and torch-fidelity's cut; where N is
    not a multiple of `splits` it puts the longer parts elsewhere than `np.array_split` does, and so changes
    the number.
    """
    p = _probabilities(probs)
    if not 1 <= splits <= len(p):
        raise ValueError(f"splits must be between 1 and the number of samples ({len(p)}), not {splits}")
    bounds = [i * len(p) // splits for i in range(splits + 1)]
    scores = [np.exp(rel_entr(part, part.mean(0, keepdims=True)).sum(1).mean())
              for part in (p[lo:hi] for lo, hi in zip(bounds, bounds[1:]))]
    return float(np.mean(scores)), float(np.std(scores))


def class_statistics(probs) -> dict:
    """Diversity against discriminability over all samples.

    `class_entropy` H(p(y)) is at most log(classes) (every class equally often); `conditional_entropy`
    E_x H(p(y|x)) is 0 when every prediction is one-hot; exp of their difference is the IS of the whole set.
    `class_shares` counts each sample once, for its most probable class; `mean_confidence` is the mean of
    the largest probability.
    """
    p = _probabilities(probs)
    shares = np.bincount(p.argmax(1), minlength=p.shape[1]) / len(p)
    return {
        "class_entropy": float(entr(p.mean(0)).sum()),
        "conditional_entropy": float(entr(p).sum(1).mean()),
        "class_shares": shares.tolist(),
        **class_balance(shares),
        "mean_confidence": float(p.max(1).mean()),
    }


def class_balance(shares) -> dict:
    """How evenly the samples spread over the classes by their most probable class (`class_shares`).

    `class_balance` is the entropy of the shares over log(classes): 1 when every class is as frequent, 0 when all
    samples fall in one; `rarest_class_share` is the smallest share (1 / classes when balanced). Soft labels teach
    a class from few samples, so a set can score a high CS while unbalanced: these say how unbalanced.
    """
    shares = np.asarray(shares, dtype=float)
    return {"class_balance": float(entr(shares).sum() / np.log(len(shares))),
            "rarest_class_share": float(shares.min())}
