import warnings

import numpy as np
import prdc as naeem_prdc
import pytest
import scipy.linalg
import scipy.spatial
import torch
from pytorch_fid.fid_score import calculate_frechet_distance
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric

from csbench.metrics import (
    class_balance,
    class_statistics,
    fid,
    frechet_distance,
    inception_score,
    kid,
    prdc,
    precision_concentration,
    precision_rests_on_few_balls,
    statistics,
)
from csbench.metrics.fid import trace_sqrt_product
from csbench.metrics.kid import mmd2_unbiased
from csbench.metrics.prdc import distances, knn_radii


def gaussian(n, d, mean=0.0, seed=0, scale=1.0):
    return np.random.default_rng(seed).normal(mean, scale, size=(n, d))


def test_fid_of_identical_sets_is_zero():
    x = gaussian(500, 8)
    assert fid(x, x) == pytest.approx(0.0, abs=1e-6)


def test_fid_of_exact_gaussian_statistics_is_the_closed_form():
    mu = np.array([1.0, -2.0, 0.5])
    a = (np.zeros(3), np.eye(3))
    assert frechet_distance(a, (mu, np.eye(3))) == pytest.approx(mu @ mu)
    # N(0, I) against N(0, s^2 I) in d dimensions: d (1 - s)^2
    assert frechet_distance(a, (np.zeros(3), 4.0 * np.eye(3))) == pytest.approx(3.0)
    # Diagonal covariances: sum (sqrt(a_i) - sqrt(b_i))^2 plus the mean term
    s1, s2 = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 1.0, 1.0])
    assert frechet_distance((np.zeros(3), s1), (mu, s2)) == pytest.approx(mu @ mu + 1 + 1 + 4)


def test_fid_of_sampled_gaussians_approaches_the_closed_form():
    shift = np.full(4, 0.5)
    value = fid(gaussian(20000, 4, seed=1), gaussian(20000, 4, mean=shift, seed=2))
    assert value == pytest.approx(shift @ shift, abs=0.02)


def random_statistics(n, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(size=d)
    return statistics(x)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fid_equals_pytorch_fids_on_random_covariances(seed):
    a, b = random_statistics(300, 48, seed), random_statistics(200, 48, seed + 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pytorch-fid passes scipy's deprecated `disp`
        try:
            expected = calculate_frechet_distance(*a, *b)
        except TypeError as exc:  # the SciPy that removes `disp`: the formula itself is checked below
            pytest.skip(f"pytorch-fid does not run on this SciPy: {exc}")
    assert frechet_distance(a, b) == pytest.approx(expected, abs=1e-6)


def test_fid_trace_term_is_that_of_the_matrix_square_root_and_warns_of_nothing():
    (_, sa), (_, sb) = random_statistics(200, 32, 4), random_statistics(100, 32, 5)
    expected = np.trace(scipy.linalg.sqrtm(sa @ sb)).real
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert trace_sqrt_product(sa, sb) == pytest.approx(expected, rel=1e-10)
        # fewer samples than dimensions: singular covariances need no offset, and the trace stays real
        (_, sa), (_, sb) = random_statistics(20, 32, 6), random_statistics(25, 32, 7)
        eigenvalues = np.linalg.eigvals(sa @ sb).real.clip(min=0)
        assert trace_sqrt_product(sa, sb) == pytest.approx(np.sqrt(eigenvalues).sum(), abs=1e-5)


def test_statistics_match_numpy_and_reject_a_single_row():
    x = gaussian(50, 3)
    mu, sigma = statistics(x)
    assert np.allclose(mu, x.mean(0)) and np.allclose(sigma, np.cov(x.T))
    with pytest.raises(ValueError, match="n >= 2"):
        statistics(x[:1])


def test_inception_score_of_uniform_predictions_is_one():
    mean, std = inception_score(np.full((100, 10), 0.1))
    assert mean == pytest.approx(1.0) and std == pytest.approx(0.0)


@pytest.mark.parametrize("k", [2, 5, 10])
def test_inception_score_of_balanced_one_hot_predictions_is_the_class_count(k):
    probs = np.eye(10)[np.arange(200) % k]
    mean, std = inception_score(probs)
    assert mean == pytest.approx(k) and std == pytest.approx(0.0)


def test_inception_score_is_exp_of_its_two_entropies():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(300, 7)) * 3
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    s = class_statistics(probs)
    assert inception_score(probs, splits=1)[0] == pytest.approx(np.exp(s["class_entropy"] - s["conditional_entropy"]))
    assert 0 < s["conditional_entropy"] < s["class_entropy"] <= np.log(7)


def test_class_statistics_of_one_class_predictions():
    probs = np.tile([0.1, 0.9, 0.0], (40, 1))
    s = class_statistics(probs)
    assert s["class_shares"] == [0.0, 1.0, 0.0]
    assert s["mean_confidence"] == pytest.approx(0.9)
    assert s["class_entropy"] == pytest.approx(s["conditional_entropy"])
    assert s["class_entropy"] == pytest.approx(-(0.1 * np.log(0.1) + 0.9 * np.log(0.9)))


def test_a_set_with_most_samples_in_two_classes_has_a_low_class_balance():
    """80 % of the samples in two classes, the rest spread over eight: the imbalance a high CS can hide."""
    labels = np.repeat(np.arange(10), [400, 400] + [25] * 8)
    s = class_statistics(np.eye(10)[labels])
    expected = -(2 * 0.4 * np.log(0.4) + 8 * 0.025 * np.log(0.025)) / np.log(10)
    assert s["class_balance"] == pytest.approx(expected) and expected == pytest.approx(0.639, abs=1e-3)
    assert s["rarest_class_share"] == pytest.approx(0.025)
    assert class_balance([0.1] * 10) == pytest.approx({"class_balance": 1.0, "rarest_class_share": 0.1})
    assert class_balance([0.0, 1.0, 0.0]) == {"class_balance": 0.0, "rarest_class_share": 0.0}


def test_inception_score_cuts_its_parts_as_the_original_code():
    logits = np.random.default_rng(3).normal(size=(1005, 10)) * 4
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    theirs = isc_features_to_metric(torch.from_numpy(logits), splits=10, shuffle=False)
    ours = inception_score(probs, splits=10)
    assert ours == pytest.approx((theirs["inception_score_mean"], theirs["inception_score_std"]), rel=1e-10)
    parts = [np.exp(np.mean([np.sum(q * np.log(q / part.mean(0))) for q in part]))
             for part in np.array_split(probs, 10)]
    assert abs(ours[0] - np.mean(parts)) > 1e-4  # np.array_split's cut, which this replaced, gives another number


def test_inception_score_rejects_rows_that_are_not_distributions():
    with pytest.raises(ValueError, match="sum to 1"):
        inception_score(np.ones((20, 3)))


def test_kid_is_about_zero_for_one_distribution_and_positive_for_a_shift():
    same, same_std = kid(gaussian(2000, 16, seed=1), gaussian(2000, 16, seed=2), subsets=20, subset_size=500)
    shifted, _ = kid(gaussian(2000, 16, seed=1), gaussian(2000, 16, mean=1.0, seed=2), subsets=20, subset_size=500)
    assert abs(same) < 3 * same_std + 1e-3
    assert shifted > 0.5 and shifted > 50 * abs(same)


def test_kid_of_a_known_shift_matches_the_kernel_expectation():
    # Point masses at 0 and at c (d=1): k(0,0)=1, k(c,c)=(c^2+1)^3, k(0,c)=1 -> MMD^2 = (c^2+1)^3 - 1.
    x, y = np.zeros((50, 1)), np.full((50, 1), 2.0)
    assert kid(x, y, subsets=3, subset_size=10)[0] == pytest.approx(5.0 ** 3 - 1)


def test_kid_is_seeded():
    a, b = gaussian(300, 4, seed=1), gaussian(300, 4, mean=0.3, seed=2)
    assert kid(a, b, subsets=5, subset_size=100, seed=3) == kid(a, b, subsets=5, subset_size=100, seed=3)
    assert kid(a, b, subsets=5, subset_size=100, seed=3) != kid(a, b, subsets=5, subset_size=100, seed=4)


def test_kid_draws_torch_fidelitys_subsets():
    a, b = gaussian(130, 6, seed=1), gaussian(120, 6, mean=0.2, seed=2)
    ours = kid(a, b, subsets=7, subset_size=50, seed=5)
    theirs = kid_features_to_metric(torch.from_numpy(a), torch.from_numpy(b), kid_subsets=7, kid_subset_size=50,
                                    kid_degree=3, kid_gamma=None, kid_coef0=1, rng_seed=5, verbose=False)
    assert ours == pytest.approx((theirs["kernel_inception_distance_mean"],
                                  theirs["kernel_inception_distance_std"]), rel=1e-10)


def test_kid_of_sets_no_larger_than_a_subset_is_one_full_set_estimate():
    a, b = gaussian(80, 6, seed=1), gaussian(90, 6, mean=0.2, seed=2)
    mean, std = kid(a, b, subset_size=80)
    assert mean == mmd2_unbiased(a, b) and np.isnan(std)
    # torch-fidelity at N = subset size draws the whole set in some order: the same number
    theirs = kid_features_to_metric(torch.from_numpy(a), torch.from_numpy(b[:80]), kid_subsets=1,
                                    kid_subset_size=80, kid_degree=3, kid_gamma=None, kid_coef0=1, rng_seed=0,
                                    verbose=False)
    assert kid(a, b[:80], subset_size=1000)[0] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-10)


def test_prdc_of_identical_sets():
    x = gaussian(400, 6)
    out = prdc(x, x, chunk=64)
    assert out["precision"] == 1.0 and out["recall"] == 1.0 and out["coverage"] == 1.0
    assert out["density"] == pytest.approx(1.0, abs=0.05)


def test_prdc_of_disjoint_far_sets_is_zero():
    out = prdc(gaussian(300, 6), gaussian(300, 6, mean=100.0), chunk=100)
    assert out == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_prdc_separates_fidelity_from_diversity():
    real = gaussian(1000, 4, seed=1)
    collapsed = gaussian(1000, 4, seed=2, scale=0.2)  # inside the real manifold, far less spread
    out = prdc(real, collapsed)
    assert out["precision"] > 0.95 and out["recall"] < 0.3 and out["coverage"] < 0.6


def test_prdc_does_not_depend_on_the_chunk_size():
    real, fake = gaussian(250, 5, seed=1), gaussian(200, 5, mean=0.3, seed=2)
    assert prdc(real, fake, chunk=7) == prdc(real, fake, chunk=1000)


@pytest.mark.parametrize("k", [3, 5])
def test_prdc_equals_naeem_et_al_prdc(k, capsys):
    real, fake = gaussian(300, 8, seed=1), gaussian(250, 8, mean=0.2, scale=1.1, seed=2)
    expected = naeem_prdc.compute_prdc(real, fake, nearest_k=k)
    assert prdc(real, fake, k=k, chunk=128) == pytest.approx(expected, rel=1e-12)


def test_prdc_of_copies_and_collapsed_copies_follows_the_rule_not_rounding(monkeypatch, capsys):
    rng = np.random.default_rng(2)
    points = rng.normal(0, 5, size=(10, 33))
    real = np.concatenate([rng.normal(0, 5, size=(97, 33)), np.repeat(points, 6, axis=0)])
    fake = np.concatenate([np.repeat(points, 6, axis=0), rng.normal(0, 5, size=(31, 33))])
    # Six copies of a point: its 5th neighbour is a copy, its ball of radius 0 holds nothing.
    assert (knn_radii(torch.from_numpy(real), 5)[97:] == 0).all()
    assert (distances(torch.from_numpy(real[97:]), torch.from_numpy(fake[:60])).min(1).values == 0).all()
    # Naeem et al.'s code on distances from coordinate differences (theirs come from |a|² + |b|² - 2a·b)
    monkeypatch.setattr(naeem_prdc.prdc, "compute_pairwise_distance",
                        lambda x, y=None: scipy.spatial.distance.cdist(x, x if y is None else y))
    assert prdc(real, fake, chunk=16) == naeem_prdc.compute_prdc(real, fake, nearest_k=5)
    same = prdc(real, real.copy())  # every sample inside its own ball, except the copies, whose balls are empty
    assert same["precision"] == same["recall"] == same["coverage"] == 97 / 157


def test_a_collapsed_cloud_in_an_outliers_ball_is_flagged_and_real_or_repeated_samples_are_not():
    real = np.concatenate([gaussian(500, 8, seed=1), np.eye(8)[:1] * 30])  # one outlier, its ball ~27 wide
    cloud = np.eye(8)[0] * 30 + np.eye(8)[1] * 15 + gaussian(500, 8, seed=2, scale=0.01)
    out = prdc(real, cloud)
    assert out["precision"] == 1.0 and out["coverage"] == 1 / 501  # all of it in the outlier's ball alone
    assert precision_concentration(out["precision"], out["coverage"]) == pytest.approx(501)
    assert precision_rests_on_few_balls(out["precision"], out["coverage"])
    same = prdc(real, np.concatenate([gaussian(500, 8, seed=3), np.eye(8)[:1] * 30]))
    assert precision_concentration(same["precision"], same["coverage"]) == pytest.approx(1.0, abs=0.15)
    repeated = prdc(real, np.repeat(real[:50], 10, axis=0))  # 50 real images ten times over
    assert repeated["precision"] == 1.0
    assert not precision_rests_on_few_balls(repeated["precision"], repeated["coverage"])
    assert np.isnan(precision_concentration(0.0, 0.0)) and not precision_rests_on_few_balls(0.0, 0.0)


def test_prdc_needs_more_than_k_samples():
    with pytest.raises(ValueError, match="more than k=5"):
        prdc(gaussian(5, 3), gaussian(10, 3))
