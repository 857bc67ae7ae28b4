import numpy as np
import pytest

from csbench.metrics import class_statistics, fid, frechet_distance, inception_score, kid, prdc, statistics


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


def test_kid_is_seeded_and_clips_the_subset_size():
    a, b = gaussian(300, 4, seed=1), gaussian(300, 4, mean=0.3, seed=2)
    assert kid(a, b, subsets=5, seed=3) == kid(a, b, subsets=5, seed=3)
    assert kid(a, b, subsets=5, seed=3) != kid(a, b, subsets=5, seed=4)
    # Subsets of the whole set (clipped from 1000 to 300) are all the same set: no spread.
    assert kid(a, b, subsets=4)[1] == pytest.approx(0.0, abs=1e-12)


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


def test_prdc_needs_more_than_k_samples():
    with pytest.raises(ValueError, match="more than k=5"):
        prdc(gaussian(5, 3), gaussian(10, 3))
