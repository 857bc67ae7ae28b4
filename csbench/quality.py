"""Sample-quality metrics beside the Compression Score, in each feature space ("teacher" and "inception").

The real side of every comparison (FID statistics, features for KID and PRDC) is computed once per suite,
reference split, network and sample count, and cached under `<home>/reference/<suite>/`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import __version__
from .cache import cached_arrays, reference_file
from .data import Split, cache_tag
from .features import DEFAULT_PREPROCESSING, FeatureSpace, InceptionUnavailable, extract, inception_space, teacher_space
from .metrics import class_statistics, frechet_distance, inception_score, kid, prdc, statistics
from .metrics.copying import (
    COPY_RULE,
    TEST_COPY_RULE,
    CopyReference,
    copies_test_split,
    copies_training,
    copy_reference,
    image_copy_measures,
)
from .suites import Suite
from .timing import Timings

PRDC_K = 5


@dataclass(frozen=True)
class Reference:
    """Mean and covariance of the first n real images' features, and the features of the first m of them."""

    mu: np.ndarray
    sigma: np.ndarray
    features: np.ndarray


def reference_statistics_path(suite: Suite, space: FeatureSpace, split: str, n: int, m: int, data: str) -> Path:
    """Keyed by everything the features depend on: network, input preprocessing, split, counts and the copy of the
    data (`data`: the split's `cache_tag`)."""
    family = f"{space.name}-{space.preprocessing}" if space.preprocessing else space.name
    return reference_file(suite.name, f"{family}-{split}-{space.network_sha256[:16]}{data}-n{n}-m{m}.npz")


def real_reference(suite: Suite, space: FeatureSpace, split_name: str, split: Split, n: int, m: int,
                   device: str = "cpu") -> Reference:
    def compute() -> dict[str, np.ndarray]:
        features, _ = extract(space, split.images[:n], device, label=f"(real {split_name}, once)")
        mu, sigma = statistics(features)
        return {"mu": mu, "sigma": sigma, "features": features[:m]}

    arrays = cached_arrays(reference_statistics_path(suite, space, split_name, n, m, cache_tag(split)), compute,
                           lambda a: {"mu", "sigma", "features"} <= set(a))
    return Reference(arrays["mu"], arrays["sigma"], arrays["features"])


def spread(count: int, n: int) -> slice:
    """`n` of `count` rows spread evenly (every count // n-th row): metrics that use fewer samples than a seed has
    see all of it, not its beginning, which in a samples file written class by class is a few classes."""
    step = count // n
    return slice(0, step * n, step)


def space_metrics(space: FeatureSpace, samples: torch.Tensor, reference: Reference, n: int, m: int,
                  device: str, timings: Timings,
                  extracted: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """Every metric of n samples (`spread`) against the reference, the pairwise ones on m of those; `timings`
    gets the seconds of each.

    `extracted`: the samples' (features, probabilities) where a pass made for another purpose already has them.
    """
    key = f"metrics.{space.name}"
    with timings.measure(f"{key}.features"):
        if extracted is None:
            features, probs = extract(space, samples[spread(len(samples), n)], device, label="(samples)")
        else:
            features, probs = extracted[0][spread(len(extracted[0]), n)], extracted[1][spread(len(extracted[1]), n)]
    with timings.measure(f"{key}.is"):
        is_mean, is_std = inception_score(probs)
        classes = class_statistics(probs)
        if not space.suite_classes:  # shares of Inception's own classes say nothing about the suite's
            for key in ("class_shares", "class_balance", "rarest_class_share"):
                del classes[key]
    with timings.measure(f"{key}.fid"):
        fid = frechet_distance(statistics(features), (reference.mu, reference.sigma))
    with timings.measure(f"{key}.kid"):
        kid_mean, kid_std = kid(reference.features, features[spread(n, m)])
    with timings.measure(f"{key}.prdc"):
        manifold = prdc(reference.features, features[spread(n, m)], k=PRDC_K)
    return {"features": space.description, "network_sha256": space.network_sha256, "n": n, "n_pairwise": m,
            **({"preprocessing": space.preprocessing} if space.preprocessing else {}),
            "is": is_mean, "is_std": is_std, **classes, "fid": fid, "kid": kid_mean,
            "kid_std": None if math.isnan(kid_std) else kid_std,  # no spread from a single full-set estimate
            **manifold, "k": PRDC_K}


def feature_spaces(suite: Suite, teacher: nn.Module, inception: bool | None = None,
                   inception_weights: Path | None = None, device: str = "cpu",
                   inception_preprocessing: str = DEFAULT_PREPROCESSING) -> dict[str, FeatureSpace | str]:
    """Both families; where Inception cannot be had, the one-line reason stands in its place.

    `inception=None` computes Inception on a GPU, or where weights are passed explicitly: on the CPU its
    forward pass costs about 0.4 s per image, hours at the suite's sample count.
    Loaded before any long work, so that a wrong `inception_weights` file fails at once.
    """
    spaces: dict[str, FeatureSpace | str] = {"teacher": teacher_space(suite, teacher)}
    if inception is None and torch.device(device).type == "cpu" and inception_weights is None:
        spaces["inception"] = ("skipped on the CPU (about 0.4 s per image, hours at "
                               f"{suite.quality_samples:,} samples); pass --inception to compute it")
        return spaces
    if inception is False:
        spaces["inception"] = "not asked for (--no-inception)"
        return spaces
    try:
        spaces["inception"] = inception_space(inception_weights, inception_preprocessing)
    except InceptionUnavailable as exc:
        spaces["inception"] = str(exc)
    return spaces


def sample_quality(suite: Suite, spaces: dict[str, FeatureSpace | str], samples: torch.Tensor,
                   splits: dict[str, Split], device: str, timings: dict,
                   extracted: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> dict:
    """The "metrics" entry of a record: for each family its numbers and the sample counts they rest on.

    `extracted`: per family, the samples' (features, probabilities) already computed (csbench.evaluate gets
    the teacher's from the pass that labels the samples)."""
    split = splits[suite.fid_reference_split]
    n = min(suite.quality_samples, len(samples), len(split))
    m = min(suite.prdc_samples, n)
    out = {}
    for name, space in spaces.items():
        if isinstance(space, str):
            out[name] = {"unavailable": space}
            continue
        with timings.measure(f"metrics.{name}.reference"):
            reference = real_reference(suite, space, suite.fid_reference_split, split, n, m, device)
        out[name] = {**space_metrics(space, samples, reference, n, m, device, timings, (extracted or {}).get(name)),
                     "reference_split": suite.fid_reference_split}
    return out


def _features_path(suite: Suite, space: FeatureSpace, split_name: str, split: Split) -> Path:
    return reference_file(suite.name, f"{space.name}-features-{split_name}-{space.network_sha256[:16]}"
                                      f"{cache_tag(split)}-n{len(split)}.npz")


def split_features(suite: Suite, space: FeatureSpace, split_name: str, split: Split, device: str) -> np.ndarray:
    """A whole real split's features in `space`, cached: the copy measures compare samples with every image."""
    arrays = cached_arrays(_features_path(suite, space, split_name, split),
                           lambda: {"features": extract(space, split.images, device,
                                                        label=f"(real {split_name}, once)")[0]},
                           lambda a: a["features"].shape[0] == len(split))
    return arrays["features"]


def _copy_reference(path: Path, train, heldout) -> CopyReference:
    """`copy_reference`, its sample-independent arrays cached in `path` (the training rows are the caller's)."""
    fields = ("calibration", "evaluation", "heldout_distances", "heldout_cells", "centers")

    def compute() -> dict[str, np.ndarray]:
        reference = copy_reference(train, heldout)
        return {k: getattr(reference, k) for k in fields}

    arrays = cached_arrays(path, compute, lambda a: set(fields) <= set(a))
    return CopyReference(torch.as_tensor(train).reshape(len(train), -1), **{k: arrays[k] for k in fields})


def _copy_references(suite: Suite, space: FeatureSpace, splits: dict[str, Split], features: dict[str, np.ndarray],
                     against: str) -> dict[str, CopyReference]:
    """The teacher-space and pixel-space references for copies of split `against`, calibrated on the other split."""
    heldout = "test" if against == "train" else "train"
    split, other = splits[against], splits[heldout]
    # The cells and thresholds come from csbench's own code, hence the version in the name.
    tag = (f"{'' if against == 'train' else '-test'}{cache_tag(splits['train'], splits['test'])}"
           f"-n{len(split)}-{len(other)}-v{__version__}.npz")
    return {"teacher": _copy_reference(reference_file(suite.name, f"copying-teacher-{space.network_sha256[:16]}{tag}"),
                                       features[against], features[heldout]),
            "pixel": _copy_reference(reference_file(suite.name, f"copying-pixel{tag}"), split.images, other.images)}


def copy_detection(suite: Suite, space: FeatureSpace, samples: torch.Tensor, sample_features: np.ndarray | None,
                   splits: dict[str, Split], device: str, timings: dict) -> dict:
    """The record's "copying" entry: copy rate and C_T of `suite.copy_samples` samples (`spread`) against the
    training split, calibrated on the test split (which the generator never sees), in the teacher's space and
    in pixel space, with the board's flag; and under "test_split" the same measures with the splits' roles
    swapped. A generator has no way to the test split, so its samples have no cause to lie nearer a test image
    than the training images do; a flag there means the test split leaked, however the images were obtained."""
    rows = spread(len(samples), min(suite.copy_samples, len(samples)))
    with timings.measure("copying.reference"):
        features = {name: split_features(suite, space, name, split, device) for name, split in splits.items()}
        references = _copy_references(suite, space, splits, features, "train")
        test_references = _copy_references(suite, space, splits, features, "test")
    with timings.measure("copying.measures"):
        if sample_features is None:
            sample_features, _ = extract(space, samples[rows], device, label="(samples, clean)")
        else:
            sample_features = sample_features[rows]
        measures = image_copy_measures(samples[rows], sample_features, references)
        leaks = image_copy_measures(samples[rows], sample_features, test_references)
    entry = {**measures, "test_split": leaks}
    return {**measures, "flagged": copies_training(entry), "rule": COPY_RULE,
            "test_split": {**leaks, "flagged": copies_test_split(entry), "rule": TEST_COPY_RULE}}
