"""Precision, recall, density and coverage (Naeem et al. 2020) on k-nearest-neighbour balls.

Each real sample's ball reaches its k-th nearest real neighbour. Precision: share of fake samples inside
some real ball (fidelity). Recall: share of real samples inside some fake sample's ball, built the same way
among the fakes (diversity). Density: mean number of real balls holding a fake sample, over k (can exceed
1). Coverage: share of real balls holding at least one fake sample.

Precision counts a sample inside any ball, and the few real outliers have the largest balls: a set whose
features collapse into one small cloud off the real data scores high precision if that cloud falls inside a
handful of them (benchmarks/results/precision-noise.md). `precision_concentration` exposes that case.
"""

from __future__ import annotations

import numpy as np
import torch

# Precise samples per covered real ball above which precision rests on a handful of balls, not on the data.
CONCENTRATION_FLAG = 100.0


def _as_tensor(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)


def distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distances summed from coordinate differences, not from |a|² + |b|² - 2a·b: exactly 0
    between equal rows, so that copied and collapsed samples fall inside or outside a ball by the rule,
    not by rounding."""
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


def knn_radii(x: torch.Tensor, k: int, chunk: int = 1024) -> torch.Tensor:
    """Distance of every row to its k-th nearest other row (the row itself is the nearest, at 0)."""
    return torch.cat([distances(x[i : i + chunk], x).topk(k + 1, dim=1, largest=False).values[:, -1]
                      for i in range(0, len(x), chunk)])


def prdc(real, fake, k: int = 5, chunk: int = 1024) -> dict[str, float]:
    """The four numbers; distances are Euclidean, computed `chunk` real rows at a time to bound memory."""
    r, f = _as_tensor(real), _as_tensor(fake)
    if r.ndim != 2 or f.ndim != 2 or r.shape[1] != f.shape[1]:
        raise ValueError(f"features must be two (n, d) arrays of the same d, not shapes {tuple(r.shape)} and "
                         f"{tuple(f.shape)}")
    if min(len(r), len(f)) <= k:
        raise ValueError(f"precision/recall need more than k={k} samples per set, got {len(r)} and {len(f)}")
    real_radii, fake_radii = knn_radii(r, k, chunk), knn_radii(f, k, chunk)
    balls_per_fake = torch.zeros(len(f), dtype=torch.long)
    real_recalled = torch.zeros(len(r), dtype=torch.bool)
    real_covered = torch.zeros(len(r), dtype=torch.bool)
    for i in range(0, len(r), chunk):
        d = distances(r[i : i + chunk], f)
        inside_real = d < real_radii[i : i + chunk, None]
        balls_per_fake += inside_real.sum(0)
        real_recalled[i : i + chunk] = (d < fake_radii[None, :]).any(1)
        real_covered[i : i + chunk] = inside_real.any(1)
    return {
        "precision": (balls_per_fake > 0).double().mean().item(),
        "recall": real_recalled.double().mean().item(),
        "density": balls_per_fake.double().mean().item() / k,
        "coverage": real_covered.double().mean().item(),
    }


def precision_concentration(precision: float, coverage: float) -> float:
    """Precise samples per real ball holding any, at equal sample counts: about 1 for samples spread as the
    real data are, higher for repeated or partly collapsed sets, and far higher where a collapsed set sits
    inside the few large balls of real outliers. NaN where no sample is precise."""
    return precision / coverage if coverage > 0 else float("nan")


def precision_rests_on_few_balls(precision: float, coverage: float) -> bool:
    """The flag for a precision that says where a collapsed set landed, not how good its samples are."""
    return precision_concentration(precision, coverage) > CONCENTRATION_FLAG
