"""The interval policy against values computed by hand."""

import math

import numpy as np
import pytest

from csbench.stats import direction, per_seed_cs, ratio_interval, ratio_of_means, ratio_stderr, t_critical, t_interval

T_DF2 = 4.302653  # t(0.975, 2), from tables


def test_t_quantile_and_interval():
    assert t_critical(3) == pytest.approx(T_DF2, rel=1e-6)
    assert t_critical(2, level=0.90) == pytest.approx(6.313752, rel=1e-6)
    assert math.isnan(t_critical(1))
    mean, half = t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(T_DF2 / math.sqrt(3), rel=1e-6)
    mean, half = t_interval([0.5])
    assert mean == 0.5 and math.isnan(half)


def test_paired_ratio_interval_by_hand():
    # CS = 0.8 / 0.9; residuals raw_i - CS ref_i = (0, -1/90, 1/90), sd 1/90; SE = (1/90) / (sqrt(3) 0.9)
    cs, half = ratio_interval([0.8, 0.7, 0.9], [0.9, 0.8, 1.0])
    assert cs == pytest.approx(8 / 9)
    assert half == pytest.approx(T_DF2 / (81 * math.sqrt(3)), rel=1e-6)
    assert ratio_stderr([0.8, 0.7, 0.9], [0.9, 0.8, 1.0])[1] == pytest.approx(1 / (81 * math.sqrt(3)))


def test_seed_noise_both_sides_share_cancels():
    """A set that always scores half the reference on the same seed has CS 0.5 exactly, however noisy the seeds."""
    ref = np.array([0.9, 0.7, 0.8, 0.95])
    assert ratio_interval(ref / 2, ref) == pytest.approx((0.5, 0.0))


def test_ratio_needs_paired_seeds_and_a_positive_reference():
    assert math.isnan(ratio_interval([0.8], [0.9])[1])
    with pytest.raises(ValueError, match="pair seed by seed"):
        ratio_interval([0.8, 0.7], [0.9])
    with pytest.raises(ValueError, match="positive"):
        ratio_interval([0.1, 0.1], [0.0, 0.0])


def test_ratio_of_means_per_class_and_per_seed_cs():
    raw = [[0.4, 0.0, 0.3], [0.3, 0.1, 0.3]]
    ref = [[0.9, 0.5, 0.0], [0.5, 0.5, 0.0]]
    np.testing.assert_allclose(ratio_of_means(raw, ref), [0.5, 0.1, np.nan])
    assert ratio_of_means([0.8, 0.7, 0.9], [0.9, 0.8, 1.0]) == pytest.approx(8 / 9)
    np.testing.assert_allclose(per_seed_cs([0.8, 0.4], [0.8, 0.5]), [1.0, 0.8])


def test_direction_is_the_two_sided_paired_t_test():
    assert direction([0.02, 0.03, 0.025]) == 1 and direction([-0.02, -0.03, -0.025]) == -1
    assert direction([-0.01, 0.02, 0.0]) == 0  # noisy: the interval covers 0
    assert direction([0.5, 0.5]) == 0  # fewer than MIN_SEEDS: not tested
    # mean 0.02, sd 0.01 over 3: t = 3.46 < 4.30 at 95 %, but > 2.92 at 90 %
    assert direction([0.01, 0.02, 0.03]) == 0 and direction([0.01, 0.02, 0.03], level=0.90) == 1
