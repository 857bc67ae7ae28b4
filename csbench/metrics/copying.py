"""Data-copying measures (issue 18): are a generator's samples closer to the training split than fresh data?

Real data drawn independently of the training split (the test split, which a generator never sees) sets
the yardstick: its distances to the nearest training point are what a generator that does not copy should
reproduce. Two measures, each in any feature space (the suite's teacher features, flattened pixels):

- copy rate: share of samples closer to a training point than the `quantile`-th quantile of held-out
  distances. The threshold is fitted on one half of the held-out set and the other half's rate is reported
  beside it, an honest estimate of what a generator drawing fresh data would score.
- C_T of Meehan, Chaudhuri & Dasgupta (2020, "A Non-Parametric Test to Detect Data-Copying in Generative
  Models"): k-means cells fitted on the training split; in each cell a Mann-Whitney z-score compares the
  samples' distances-to-training with the held-out points'; the cells' z-scores are averaged weighted by
  their share of held-out points. Strongly negative: copying; about 0: no evidence; positive: the samples
  lie farther from the training data than real data does (underfitting).

Everything that does not depend on the samples (held-out distances, the cells) is a `CopyReference`, built
once per suite and space and reused for every generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch
from scipy.stats import rankdata
from sklearn.cluster import KMeans

MAX_BYTES = 256 * 2**20  # working memory of one block of `nearest_neighbours`
CANDIDATES = 8  # float32 nearest candidates re-measured exactly per query


def _rows(x) -> torch.Tensor:
    """(n, d) float tensor from an array or tensor; images (n, c, h, w) are flattened to pixel vectors."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if not t.is_floating_point():
        t = t.double()
    return t.reshape(len(t), -1) if t.ndim > 2 else t


def nearest_neighbours(queries, reference, *, max_bytes: int = MAX_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance from each query row to its nearest reference row, and that row's index.

    Candidates are ranked by ||b||^2 - 2ab in float32 (one matrix product per block of query rows, the
    block sized so that its distance matrix and re-measurement stay under `max_bytes`); the best
    `CANDIDATES` are then re-measured as float64 differences. The distance is therefore exact, an exact
    copy is at 0.0 rather than at the rounding noise of ||a||^2, and float32 ranking errors matter only
    if they exceed the gap between the nearest and the `CANDIDATES`-th neighbour.
    """
    q, r = _rows(queries), _rows(reference)
    if q.ndim != 2 or r.ndim != 2 or q.shape[1] != r.shape[1] or len(r) == 0:
        raise ValueError(f"queries and reference must be (n, d) arrays of the same d, not shapes "
                         f"{tuple(q.shape)} and {tuple(r.shape)}")
    k = min(CANDIDATES, len(r))
    r32 = r.float()
    r_norms = (r32 * r32).sum(1)
    block = max(1, max_bytes // (4 * len(r) + 32 * k * r.shape[1]))
    distances, indices = np.empty(len(q)), np.empty(len(q), dtype=np.int64)
    for i in range(0, len(q), block):
        qb = q[i : i + block]
        candidates = torch.addmm(r_norms, qb.float(), r32.T, alpha=-2).topk(k, dim=1, largest=False).indices
        exact = (qb.double()[:, None, :] - r[candidates].double()).square().sum(2)
        best = exact.argmin(1, keepdim=True)
        distances[i : i + len(qb)] = exact.gather(1, best).squeeze(1).sqrt().numpy()
        indices[i : i + len(qb)] = candidates.gather(1, best).squeeze(1).numpy()
    return distances, indices


def mann_whitney_z(heldout, samples) -> float:
    """z-score of U = #(sample, held-out) pairs with the sample larger (ties count 1/2), tie-corrected.

    Negative when the samples' values are smaller than the held-out ones; 0 when every value ties.
    """
    x, y = np.asarray(heldout, dtype=np.float64), np.asarray(samples, dtype=np.float64)
    n, m = len(x), len(y)
    pooled = np.concatenate([x, y])
    u = rankdata(pooled)[n:].sum() - m * (m + 1) / 2
    ties = np.unique(pooled, return_counts=True)[1].astype(np.float64)
    total = n + m
    variance = n * m / 12 * (total + 1 - (ties**3 - ties).sum() / (total * (total - 1)))
    return 0.0 if variance <= 0 else float((u - n * m / 2) / math.sqrt(variance))


def meehan_ct(heldout_distances, heldout_cells, sample_distances, sample_cells, *,
              min_cell_samples: int = 20) -> dict:
    """C_T: per-cell Mann-Whitney z of sample vs held-out distances-to-training, weighted by held-out share.

    Cells holding fewer than `min_cell_samples` samples are skipped (the paper's tau): their z-score would
    rest on too few samples for U's normal approximation, which wants about 20 per group. Returns `ct`
    (None if no cell qualifies), `ct_cells` (cells used) and `ct_sample_share` (share of samples in them:
    a small share means most samples sit in cells C_T does not look at, e.g. all in one region).
    """
    hd, hc = np.asarray(heldout_distances), np.asarray(heldout_cells)
    sd, sc = np.asarray(sample_distances), np.asarray(sample_cells)
    z, weights, covered = [], [], 0
    for cell in np.unique(sc):
        in_samples, in_heldout = sc == cell, hc == cell
        if in_samples.sum() < min_cell_samples or not in_heldout.any():
            continue
        z.append(mann_whitney_z(hd[in_heldout], sd[in_samples]))
        weights.append(in_heldout.mean())
        covered += int(in_samples.sum())
    return {
        "ct": float(np.average(z, weights=weights)) if z else None,
        "ct_cells": len(z),
        "ct_sample_share": covered / len(sd),
    }


@dataclass(frozen=True)
class CopyReference:
    """The sample-independent half of the measures for one space: training rows, held-out distances, cells.

    `calibration` / `evaluation`: distances-to-training of the two disjoint halves of the held-out set
    (the first fits the copy-rate threshold, the second estimates the rate of fresh data);
    `heldout_distances` / `heldout_cells`: all held-out points, for C_T and the median ratio.
    """

    train: torch.Tensor
    calibration: np.ndarray
    evaluation: np.ndarray
    heldout_distances: np.ndarray
    heldout_cells: np.ndarray
    centers: np.ndarray  # the k-means cells' centres; a row's cell is its nearest centre


def cells_of(rows, centers: np.ndarray) -> np.ndarray:
    """Each row's k-means cell (its nearest centre), as KMeans.predict assigns it."""
    return nearest_neighbours(rows, centers)[1]


def copy_reference(train, heldout, *, cells: int = 50, seed: int = 0,
                   max_bytes: int = MAX_BYTES) -> CopyReference:
    """Distances of the held-out rows to the training rows, a seeded half split of them, and k-means cells.

    `cells` = 50 leaves a held-out set of 10,000 (Fashion-MNIST's test split) about 200 points per cell,
    enough for a stable per-cell z-score, while still localising copying to regions of the space.
    """
    t, h = _rows(train), _rows(heldout)
    if len(h) < 4 or len(t) < cells:
        raise ValueError(f"need at least 4 held-out rows and `cells`={cells} training rows, got "
                         f"{len(h)} and {len(t)}")
    distances, _ = nearest_neighbours(h, t, max_bytes=max_bytes)
    order = np.random.default_rng(seed).permutation(len(h))
    half = len(h) // 2
    centers = KMeans(n_clusters=cells, n_init=1, random_state=seed).fit(t.float().numpy()).cluster_centers_
    return CopyReference(train=t, calibration=distances[order[:half]], evaluation=distances[order[half:]],
                         heldout_distances=distances, heldout_cells=cells_of(h, centers),
                         centers=centers)


def copy_measures_against(samples, reference: CopyReference, *, quantile: float = 0.01,
                          min_cell_samples: int = 20, max_bytes: int = MAX_BYTES) -> dict:
    """The measures of `samples` against a prebuilt reference; see `copy_measures` for the keys."""
    s = _rows(samples)
    if len(s) == 0:
        raise ValueError("no samples to measure")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must lie in (0, 1), got {quantile}")
    distances, _ = nearest_neighbours(s, reference.train, max_bytes=max_bytes)
    threshold = float(np.quantile(reference.calibration, quantile))
    heldout_median = float(np.median(reference.heldout_distances))
    median = float(np.median(distances))
    return {
        "samples": len(s),
        "quantile": quantile,
        "threshold": threshold,
        "copy_rate": float((distances <= threshold).mean()),
        "heldout_copy_rate": float((reference.evaluation <= threshold).mean()),
        "exact_copy_rate": float((distances == 0).mean()),
        "median_distance": median,
        "heldout_median_distance": heldout_median,
        "median_distance_ratio": median / heldout_median if heldout_median > 0 else None,
        **meehan_ct(reference.heldout_distances, reference.heldout_cells, distances,
                    cells_of(s, reference.centers), min_cell_samples=min_cell_samples),
    }


def copy_measures(samples, train, heldout, *, quantile: float = 0.01, cells: int = 50,
                  min_cell_samples: int = 20, seed: int = 0, max_bytes: int = MAX_BYTES) -> dict:
    """Data-copying measures of `samples` (n, d) against `train`, calibrated on `heldout`, in one space.

    `quantile` = 0.01: far enough into the tail that fresh data rarely crosses the threshold (so a copying
    generator's excess stands out: a generator copying a share p of its samples scores about p + q),
    yet a held-out half of 5,000 still puts 50 points below it, enough for a stable threshold.

    Keys (JSON-serialisable): samples, quantile, threshold, copy_rate, heldout_copy_rate (the other
    held-out half against the same threshold), exact_copy_rate (share at distance 0), median_distance,
    heldout_median_distance, median_distance_ratio (samples over held-out; None if the held-out median
    is 0), ct, ct_cells, ct_sample_share (see `meehan_ct`).
    """
    reference = copy_reference(train, heldout, cells=cells, seed=seed, max_bytes=max_bytes)
    return copy_measures_against(samples, reference, quantile=quantile, min_cell_samples=min_cell_samples,
                                 max_bytes=max_bytes)


def image_copy_references(train_images, heldout_images, train_features, heldout_features,
                          **kwargs) -> dict[str, CopyReference]:
    """References in the teacher's feature space and in pixel space (flattened images); kwargs as in
    `copy_reference`."""
    return {"teacher": copy_reference(train_features, heldout_features, **kwargs),
            "pixel": copy_reference(train_images, heldout_images, **kwargs)}


def image_copy_measures(sample_images, sample_features, references: Mapping[str, CopyReference],
                        **kwargs) -> dict[str, dict]:
    """`copy_measures_against` per space of `image_copy_references`: {"teacher": {...}, "pixel": {...}}."""
    return {"teacher": copy_measures_against(sample_features, references["teacher"], **kwargs),
            "pixel": copy_measures_against(sample_images, references["pixel"], **kwargs)}


COPY_RATE_FACTOR = 5.0
COPY_RATE_MARGIN = 0.05
CT_LIMIT = -3.0


def is_copying(measures: Mapping, by_ct: bool = True, unseen: Mapping | None = None) -> bool:
    """The board's flag for one space's measures; flag a generator when any space flags. `by_ct=False` flags by the
    rate rule alone, as the test-split measure does: there, in pixel space, blurred training images push C_T below
    the limit too (benchmarks/results/copying-test-split-fashion-mnist.md).

    Copying when copy_rate > max(COPY_RATE_FACTOR x heldout_copy_rate, heldout_copy_rate +
    COPY_RATE_MARGIN) or when C_T < CT_LIMIT. The rate rule fires when a twentieth or more of the samples
    sit closer to a training point than almost all fresh data does: far above the sampling noise of fresh
    data at thousands of samples, and it catches a partial copier whose per-cell shift C_T dilutes away;
    the factor keeps the margin proportionate if a larger quantile is chosen. The C_T limit catches
    copies that were degraded (blurred) until no longer closer than the threshold, while blurred fresh
    images stay above it (benchmarks/results/copying-fashion-mnist.md). |C_T| grows with the number of
    samples, so the limit holds for 10,000 to 50,000 samples against a 10,000-point held-out set.

    C_T also falls for samples that are merely smooth: an image near its class's mean lies near real images of
    either split. `unseen`, the same space's measures against the test split (the "test_split" entry), tells them
    apart: C_T counts only when the samples lie relatively nearer the training split than the split they never
    saw, their median distance ratio against the training split below the one against the test split
    (`nearer_training`; benchmarks/results/copying-directions-fashion-mnist.md).
    """
    h = measures["heldout_copy_rate"]
    by_rate = measures["copy_rate"] > max(COPY_RATE_FACTOR * h, h + COPY_RATE_MARGIN)
    low_ct = by_ct and measures["ct"] is not None and measures["ct"] < CT_LIMIT
    return by_rate or (low_ct and (unseen is None or nearer_training(measures, unseen)))


def nearer_training(measures: Mapping, unseen: Mapping) -> bool:
    """Whether samples lie relatively nearer the training split (`measures`) than the test split (`unseen`): each
    median distance ratio puts the samples' nearest-neighbour distances over those of real images from the other
    split, so fresh data scores about 1 against both and a copier lower against the split it copied. Undefined
    ratios (a held-out median of 0) count as nearer, keeping the flag."""
    train, test = measures.get("median_distance_ratio"), unseen.get("median_distance_ratio")
    return train is None or test is None or train < test


SPACES = ("teacher", "pixel")

COPY_RULE = (f"flagged when, in the teacher's or in pixel space, the copy rate exceeds max({COPY_RATE_FACTOR:g} × the "
             f"held-out rate, the held-out rate + {COPY_RATE_MARGIN:g}), or C_T is below {CT_LIMIT:g} while the "
             "samples lie relatively nearer the training split than the test split (median nearest-neighbour "
             "distance ratio lower against the training split; smooth samples lie near real images of either "
             "split); copy rate: share of samples nearer a training image than the 1st percentile of held-out "
             "(test) images are")

TEST_COPY_RULE = (f"flagged when, in the teacher's or in pixel space, the copy rate against the test split exceeds "
                  f"max({COPY_RATE_FACTOR:g} × the training rate, the training rate + {COPY_RATE_MARGIN:g}); copy "
                  "rate: share of samples nearer a test image than the 1st percentile of training images are; C_T is "
                  "shown, not used: blurred training images lower it too")


def copies_training(copying: Mapping) -> bool:
    """A record's "copying" entry flagged under COPY_RULE, from its measures, so that records made before a change
    of rule are judged by the current one; the test-split measures, where the record has them, are `unseen`."""
    unseen = copying.get("test_split") or {}
    return any(is_copying(copying[space], unseen=unseen.get(space)) for space in SPACES if space in copying)


def copies_test_split(copying: Mapping) -> bool | None:
    """The "test_split" measures flagged under TEST_COPY_RULE; None where the record has none."""
    leaks = copying.get("test_split")
    return None if not leaks else any(is_copying(leaks[space], by_ct=False) for space in SPACES if space in leaks)
