import json

import numpy as np
import pytest
import torch
from scipy.stats import mannwhitneyu, norm

from csbench.metrics.copying import (
    copies_test_split,
    copies_training,
    copy_measures,
    copy_measures_against,
    copy_reference,
    image_copy_measures,
    image_copy_references,
    is_copying,
    mann_whitney_z,
    meehan_ct,
    nearest_neighbours,
)

CENTRES = np.random.default_rng(99).normal(0, 4, size=(6, 8))


def mixture(n, seed, scale=1.0):
    """n draws of one 6-component Gaussian mixture in 8 dimensions; `scale` widens every component."""
    rng = np.random.default_rng(seed)
    return CENTRES[rng.integers(len(CENTRES), size=n)] + rng.normal(0, scale, size=(n, 8))


TRAIN, HELDOUT, FRESH = mixture(3000, 1), mixture(2000, 2), mixture(1000, 3)
PICK = np.random.default_rng(4).integers(len(TRAIN), size=1000)
EXACT = TRAIN[PICK]
JITTER = EXACT + np.random.default_rng(5).normal(0, 0.05, size=EXACT.shape)


@pytest.fixture(scope="module")
def reference():
    return copy_reference(TRAIN, HELDOUT, cells=10, seed=0)


@pytest.fixture(scope="module")
def measured(reference):
    return {name: copy_measures_against(x, reference)
            for name, x in [("exact", EXACT), ("jitter", JITTER), ("fresh", FRESH)]}


def test_nearest_neighbours_match_brute_force_and_put_exact_copies_at_zero():
    rng = np.random.default_rng(0)
    ref = rng.random((500, 784), dtype=np.float32) * 100  # large norms: ||a||^2 + ||b||^2 - 2ab cancels badly
    queries = np.concatenate([ref[[7, 123, 499]], rng.random((40, 784), dtype=np.float32) * 100])
    d, idx = nearest_neighbours(queries, ref, max_bytes=50_000)  # a few rows per block
    brute = np.linalg.norm(queries[:, None, :].astype(np.float64) - ref[None].astype(np.float64), axis=2)
    assert list(idx) == list(brute.argmin(1))
    assert np.allclose(d, brute.min(1), rtol=1e-12)
    assert list(d[:3]) == [0.0, 0.0, 0.0] and list(idx[:3]) == [7, 123, 499]


def test_nearest_neighbours_take_images_and_tensors():
    images = torch.rand(30, 1, 4, 4)
    d, idx = nearest_neighbours(images[:5], images.numpy())
    assert (d == 0).all() and list(idx) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="same d"):
        nearest_neighbours(np.zeros((3, 4)), np.zeros((3, 5)))


def test_mann_whitney_z_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 6, size=80).astype(float), rng.integers(1, 7, size=50).astype(float)
    z = mann_whitney_z(x, y)
    p = mannwhitneyu(y, x, use_continuity=False, method="asymptotic").pvalue
    assert z > 0 and 2 * norm.sf(abs(z)) == pytest.approx(p, rel=1e-9)
    assert mann_whitney_z(y, x) == pytest.approx(-z)
    assert mann_whitney_z(np.zeros(10), np.zeros(5)) == 0.0


def test_meehan_ct_weights_cells_by_heldout_share_and_skips_sparse_cells():
    rng = np.random.default_rng(0)
    heldout_d, heldout_c = rng.random(300), np.repeat([0, 1, 2], [200, 100, 0])
    sample_d = np.concatenate([rng.random(40) * 0.5, rng.random(40), rng.random(5)])
    sample_c = np.repeat([0, 1, 2], [40, 40, 5])
    out = meehan_ct(heldout_d, heldout_c, sample_d, sample_c, min_cell_samples=20)
    z0 = mann_whitney_z(heldout_d[:200], sample_d[:40])
    z1 = mann_whitney_z(heldout_d[200:], sample_d[40:80])
    assert out["ct"] == pytest.approx((2 * z0 + z1) / 3)
    assert out["ct_cells"] == 2 and out["ct_sample_share"] == pytest.approx(80 / 85)
    assert meehan_ct(heldout_d, heldout_c, sample_d, sample_c, min_cell_samples=50)["ct"] is None


def test_measures_order_exact_copies_jitter_and_fresh_draws(measured):
    exact, jitter, fresh = measured["exact"], measured["jitter"], measured["fresh"]
    assert exact["exact_copy_rate"] == 1.0 and exact["median_distance"] == 0.0
    assert jitter["exact_copy_rate"] == 0.0 and fresh["exact_copy_rate"] == 0.0
    assert exact["copy_rate"] == 1.0 and jitter["copy_rate"] > 0.95 and fresh["copy_rate"] < 0.04
    assert 0 == exact["median_distance_ratio"] < jitter["median_distance_ratio"] < 0.3
    assert 0.85 < fresh["median_distance_ratio"] < 1.15
    assert exact["ct"] < jitter["ct"] < -10 and abs(fresh["ct"]) < 2
    for m in measured.values():
        assert m["heldout_copy_rate"] < 0.04 and m["ct_cells"] == 10 and m["ct_sample_share"] == 1.0
        assert m["threshold"] == exact["threshold"] > 0


def test_is_copying_flags_the_copies_and_not_fresh_draws(measured):
    assert is_copying(measured["exact"]) and is_copying(measured["jitter"])
    assert not is_copying(measured["fresh"])


def test_rule_thresholds():
    fresh = {"copy_rate": 0.01, "heldout_copy_rate": 0.01, "ct": -0.5}
    assert not is_copying(fresh)
    assert is_copying({**fresh, "copy_rate": 0.061}) and not is_copying({**fresh, "copy_rate": 0.059})
    assert is_copying({**fresh, "heldout_copy_rate": 0.02, "copy_rate": 0.101})
    assert not is_copying({**fresh, "heldout_copy_rate": 0.02, "copy_rate": 0.099})
    assert is_copying({**fresh, "ct": -3.1}) and not is_copying({**fresh, "ct": None})
    assert not is_copying({**fresh, "ct": -3.1}, by_ct=False) and is_copying({**fresh, "copy_rate": 0.061}, by_ct=False)


def test_ct_counts_only_where_the_samples_lie_nearer_the_training_split():
    """C_T below the limit flags degraded copies (nearer the split they copied) but not smooth samples, which lie
    nearer real images of either split: the ratios of 3x3-blurred training images and of a conditional VAE's
    samples on Fashion-MNIST (benchmarks/results/copying-directions-fashion-mnist.md)."""
    measures = {"copy_rate": 0.002, "heldout_copy_rate": 0.009, "ct": -4.6, "median_distance_ratio": 0.896}
    assert is_copying(measures, unseen={"median_distance_ratio": 0.933})
    smooth = {**measures, "ct": -6.0, "median_distance_ratio": 0.852}
    assert not is_copying(smooth, unseen={"median_distance_ratio": 0.833})
    assert is_copying(smooth) and is_copying(smooth, unseen={"median_distance_ratio": None})
    assert is_copying({**smooth, "copy_rate": 0.07}, unseen={"median_distance_ratio": 0.833})  # the rate rule holds


def test_record_flags_judge_the_measures_by_the_current_rule():
    smooth = {"copy_rate": 0.001, "heldout_copy_rate": 0.009, "ct": -6.0, "median_distance_ratio": 0.852}
    far = {"copy_rate": 0.0, "heldout_copy_rate": 0.01, "ct": 9.0, "median_distance_ratio": 1.41}
    entry = {"teacher": far, "pixel": smooth, "flagged": True,  # stored under an earlier rule
             "test_split": {"teacher": far, "pixel": {**smooth, "ct": -11.0, "median_distance_ratio": 0.833}}}
    assert not copies_training(entry) and copies_test_split(entry) is False
    assert copies_training({k: v for k, v in entry.items() if k != "test_split"})  # no test-split measures
    assert copies_test_split({"teacher": far}) is None
    leak = {**entry, "test_split": {**entry["test_split"], "pixel": {**smooth, "copy_rate": 0.5}}}
    assert copies_test_split(leak) and not copies_training(leak)


def test_rule_catches_a_partial_copier_by_rate_alone(reference):
    half = np.concatenate([EXACT[:150], FRESH[150:]])  # 15% copies
    m = copy_measures_against(half, reference)
    assert m["copy_rate"] == pytest.approx(0.15 + m["heldout_copy_rate"], abs=0.03)
    assert -3 < m["ct"] < -1 and is_copying(m)


def test_underfitting_samples_give_positive_ct_and_no_flag(reference):
    wide = copy_measures_against(mixture(1000, 6, scale=1.6), reference)
    assert wide["ct"] > 5 and wide["median_distance_ratio"] > 1.3 and wide["copy_rate"] < 0.01
    assert not is_copying(wide)


def test_heldout_rate_is_honest_and_threshold_is_the_calibration_quantile(reference):
    assert len(reference.calibration) == len(reference.evaluation) == 1000
    assert not np.intersect1d(reference.calibration, reference.evaluation).size
    m = copy_measures_against(FRESH, reference, quantile=0.1)
    assert m["threshold"] == pytest.approx(np.quantile(reference.calibration, 0.1))
    assert m["heldout_copy_rate"] == pytest.approx(0.1, abs=0.03) and m["copy_rate"] == pytest.approx(0.1, abs=0.03)


def test_copy_measures_is_json_and_matches_the_reference_path(measured):
    m = copy_measures(EXACT, TRAIN, HELDOUT, cells=10, seed=0)
    assert m == measured["exact"]
    json.dumps(m, allow_nan=False)
    with pytest.raises(ValueError, match="quantile"):
        copy_measures(EXACT, TRAIN, HELDOUT, cells=10, quantile=1.0)


def test_image_measures_cover_teacher_and_pixel_spaces():
    rng = np.random.default_rng(0)
    train, heldout = rng.random((400, 1, 6, 6), dtype=np.float32), rng.random((200, 1, 6, 6), dtype=np.float32)
    features = lambda x: x.reshape(len(x), -1)[:, :12] * 3  # noqa: E731 - a stand-in teacher
    refs = image_copy_references(train, heldout, features(train), features(heldout), cells=4)
    copies = train[:100]
    out = image_copy_measures(copies, features(copies), refs)
    assert set(out) == {"teacher", "pixel"}
    assert out["pixel"]["exact_copy_rate"] == out["teacher"]["exact_copy_rate"] == 1.0
    assert all(is_copying(m) for m in out.values())
