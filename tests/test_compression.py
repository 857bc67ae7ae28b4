import math

import pytest
import torch

from csbench.compression import channel_mean, compression_score, distillation_loss, normalize


def test_l2_on_logits_is_the_mean_squared_error():
    s = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    t = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    assert distillation_loss(s, t, "l2-logits").item() == pytest.approx((1 + 4 + 0 + 4) / 4)
    assert distillation_loss(t, t, "l2-logits").item() == 0


def test_kd_loss_vanishes_only_at_the_teacher_distribution():
    t = torch.tensor([[2.0, 0.0, -1.0]])
    assert distillation_loss(t + 5.0, t, "kd", temperature=4).item() == pytest.approx(0, abs=1e-6)
    assert distillation_loss(-t, t, "kd", temperature=4).item() > 0.01


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown distillation loss"):
        distillation_loss(torch.zeros(1, 2), torch.zeros(1, 2), "hinge")


def test_normalisation_centres_the_real_training_data_per_channel():
    images = torch.rand(50, 3, 4, 4) * torch.tensor([1.0, 0.5, 0.2]).view(1, 3, 1, 1)
    mean = channel_mean(images)
    assert mean.shape == (1, 3, 1, 1)
    assert torch.allclose(normalize(images, mean).mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-6)
    assert torch.allclose(mean.flatten(), torch.tensor([0.5, 0.25, 0.1]), atol=0.05)


def test_compression_score_is_the_ratio_of_means_with_its_standard_error():
    cs, se = compression_score([0.6, 0.7, 0.8], [0.7, 0.8, 0.9])
    assert cs == pytest.approx(0.875)
    assert se == pytest.approx(0.875 * math.sqrt((0.1 / math.sqrt(3) / 0.7) ** 2 + (0.1 / math.sqrt(3) / 0.8) ** 2))
    cs, se = compression_score([0.8, 0.8], [0.8, 0.8])
    assert (cs, se) == (1.0, 0.0)
    assert math.isnan(compression_score([0.8], [0.8])[1])
