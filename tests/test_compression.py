import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import class_structured_images

from csbench.compression import (
    StudentJob,
    batch_order,
    distillation_loss,
    pixel_mean,
    student_footprint_bytes,
    student_inputs,
    students_per_group,
    train_student,
    train_students,
)
from csbench.models import build_model
from csbench.suites import get_suite


def test_l2_on_logits_is_the_authors_l2_loss_over_the_batch_size():
    """`tf.nn.l2_loss(teacher - student) / batch_size`: half the summed squares, over the number of samples."""
    s = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    t = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    assert distillation_loss(s, t, "l2-logits").item() == pytest.approx((1 + 4 + 0 + 4) / 2 / 2)
    assert distillation_loss(t, t, "l2-logits").item() == 0


def test_cross_entropy_takes_class_indices():
    logits = torch.tensor([[2.0, 0.0], [0.0, 3.0]])
    expected = -(math.log(math.exp(2) / (math.exp(2) + 1)) + math.log(math.exp(3) / (math.exp(3) + 1))) / 2
    assert distillation_loss(logits, torch.tensor([0, 1]), "cross-entropy").item() == pytest.approx(expected)


def test_kd_loss_vanishes_only_at_the_teacher_distribution():
    t = torch.tensor([[2.0, 0.0, -1.0]])
    assert distillation_loss(t + 5.0, t, "kd", temperature=4).item() == pytest.approx(0, abs=1e-6)
    assert distillation_loss(-t, t, "kd", temperature=4).item() > 0.01


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown distillation loss"):
        distillation_loss(torch.zeros(1, 2), torch.zeros(1, 2), "hinge")


def test_student_inputs_are_raw_pixels_minus_the_mean_image():
    """The authors feed `np.float32(x) - mean`, x on the 0-255 scale, mean over the training split per pixel."""
    pixels = np.random.default_rng(0).integers(0, 256, size=(50, 3, 4, 4)).astype(np.uint8)
    images = torch.from_numpy(pixels).float() / 255
    mean = pixel_mean(images)
    assert mean.shape == (1, 3, 4, 4) and mean.dtype == torch.float64
    expected = np.float32(pixels) - pixels.mean(axis=0)
    inputs = student_inputs(images, mean)
    assert inputs.dtype == torch.float32
    np.testing.assert_allclose(inputs.numpy(), expected, atol=1e-4)


def _numpy_conv_valid(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x (N, C, H, W), w (O, C, k, k): cross-correlation without padding, as TF's conv2d 'VALID'."""
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    out = np.zeros((n, o, h - k + 1, wd - k + 1))
    for i in range(h - k + 1):
        for j in range(wd - k + 1):
            out[:, :, i, j] = np.einsum("nchw,ochw->no", x[:, :, i : i + k, j : j + k], w)
    return out + b[None, :, None, None]


def _numpy_max_pool_same(x: np.ndarray) -> np.ndarray:
    """2x2 stride 2, TF 'SAME': an odd edge is padded with -inf on the bottom/right."""
    n, c, h, w = x.shape
    padded = np.full((n, c, h + h % 2, w + w % 2), -np.inf)
    padded[:, :, :h, :w] = x
    return padded.reshape(n, c, padded.shape[2] // 2, 2, padded.shape[3] // 2, 2).max(axis=(3, 5))


def _numpy_max_pool_valid(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    x = x[:, :, : h - h % 2, : w - w % 2]
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


@pytest.mark.parametrize("channels, size, fc_inputs", [(1, 28, 2048), (3, 32, 3200), (1, 27, 128 * 4 * 4)])
def test_student_forward_equals_an_independent_numpy_lenet(channels, size, fc_inputs):
    """conv-pool-conv-pool without activations, ReLU only after FC-1024, as the authors' `lenet`."""
    torch.manual_seed(0)
    model = build_model("lenet", channels, size, 10).double().eval()
    p = {name: value.detach().numpy() for name, value in model.state_dict().items()}
    conv1, conv2, fc1, fc2 = (k.rsplit(".", 1)[0] for k in list(p)[::2])
    assert p[f"{fc1}.weight"].shape == (1024, fc_inputs)
    x = np.random.default_rng(1).normal(size=(3, channels, size, size)) * 50
    h = _numpy_max_pool_same(_numpy_conv_valid(x, p[f"{conv1}.weight"], p[f"{conv1}.bias"]))
    h = _numpy_max_pool_valid(_numpy_conv_valid(h, p[f"{conv2}.weight"], p[f"{conv2}.bias"]))
    h = np.maximum(h.reshape(len(x), -1) @ p[f"{fc1}.weight"].T + p[f"{fc1}.bias"], 0)
    expected = h @ p[f"{fc2}.weight"].T + p[f"{fc2}.bias"]
    np.testing.assert_allclose(model(torch.from_numpy(x)).detach().numpy(), expected, rtol=1e-9, atol=1e-9)


def test_student_initialisation_is_glorot_uniform_with_normal_biases():
    torch.manual_seed(0)
    model = build_model("lenet", 1, 28, 10)
    fc1 = model.features[5]
    bound = math.sqrt(6 / (2048 + 1024))
    assert fc1.weight.abs().max().item() <= bound and fc1.weight.abs().max().item() > 0.99 * bound
    assert fc1.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    assert fc1.bias.std().item() == pytest.approx(0.5, rel=0.1) and abs(fc1.bias.mean().item()) < 0.1


def test_paper_protocol_visits_samples_in_order_and_drops_the_last_partial_batch(monkeypatch):
    """Samples encode their index; the student records what each step sees."""
    import csbench.compression

    suite = get_suite("fashion-mnist")
    paper = dataclasses.replace(suite.protocol("paper"), samples=600)
    seen = []
    real_build = csbench.compression.build_student

    def recording_student(s):
        model = real_build(s)
        model.register_forward_pre_hook(lambda _, args: seen.append(args[0][:, 0, 0, 0].round().long().tolist()))
        return model

    monkeypatch.setattr(csbench.compression, "build_student", recording_student)
    inputs = torch.arange(600, dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, 1, 28, 28).contiguous()
    train_student(suite, paper, inputs, torch.zeros(600, 10), seed=0)
    assert seen == [list(range(0, 256)), list(range(256, 512))]
    graded = dataclasses.replace(suite.protocol("graded"), samples=600)
    first = batch_order(600, graded, seed=0)
    assert len(first) == 2 * 5 and sorted(torch.cat(first[:5]).tolist()) == list(range(600))
    assert first[0].tolist() != list(range(128))
    assert all(torch.equal(a, b) for a, b in zip(first, batch_order(600, graded, seed=0)))


def test_teacher_dropout_while_labelling_is_seeded_and_leaves_batch_norm_alone():
    from csbench.teacher import predict_features, predict_logits

    torch.manual_seed(0)
    teacher = build_model("cnn6", 1, 28, 10)
    teacher.classifier[0].p = 0.5
    images = torch.rand(40, 1, 28, 28)
    clean = predict_logits(teacher, images)
    noisy = predict_logits(teacher, images, dropout_seed=3)
    assert torch.equal(noisy, predict_logits(teacher, images, dropout_seed=3))
    assert not torch.equal(noisy, predict_logits(teacher, images, dropout_seed=4))
    assert not torch.allclose(noisy, clean)
    assert torch.equal(predict_logits(teacher, images), clean) and not teacher.training
    features, logits = predict_features(teacher, images, dropout_seed=3)
    assert torch.equal(logits, noisy)
    assert torch.equal(features, predict_features(teacher, images)[0])  # dropout sits after the features
    # Batch norm in eval: the dropout-free part of the network is the clean one
    teacher.classifier[0].p = 0.0
    assert torch.allclose(predict_logits(teacher, images, dropout_seed=3), clean, atol=1e-6)


def _structured(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = class_structured_images(n, seed)
    return torch.from_numpy(images).float().div(255).unsqueeze(1), torch.from_numpy(labels).long()


@pytest.mark.parametrize("name", ["graded", "paper"])
def test_students_trained_together_are_the_students_trained_alone(name):
    """Own seed, own samples, own loss (logits, and class indices for CAS) and own optimiser state: each batched
    student is its one-at-a-time self up to float summation order, and scores within a point of it."""
    suite = get_suite("fashion-mnist")
    protocol = dataclasses.replace(suite.protocol(name), samples=320, batch_size=32)
    (images, labels), (other, other_labels) = _structured(320, 0), _structured(320, 5)
    test_images, test_labels = _structured(300, 9)
    mean = pixel_mean(images)
    inputs, other_inputs = student_inputs(images, mean), student_inputs(other, mean)
    jobs = [StudentJob(inputs, 4 * F.one_hot(labels, 10).float(), seed=0),
            StudentJob(inputs, labels, seed=0, loss="cross-entropy"),
            StudentJob(other_inputs, 4 * F.one_hot(other_labels, 10).float(), seed=1)]
    together = train_students(suite, protocol, jobs)
    alone = [train_student(suite, protocol, j.inputs, j.targets, j.seed, loss=j.loss) for j in jobs]
    test_inputs = student_inputs(test_images, mean)
    for a, b in zip(together, alone):  # by norm: Adam turns float noise in near-zero gradients into whole steps
        for p, q in zip(a.parameters(), b.parameters()):
            assert (p - q).norm() <= 1e-3 * q.norm()
        with torch.no_grad():
            accuracy = [(m(test_inputs).argmax(1) == test_labels).float().mean().item() for m in (a, b)]
        assert abs(accuracy[0] - accuracy[1]) <= 0.01 and accuracy[1] > 0.3
    # the students moved from their initialisations, each its own way (a trivial pass would also agree)
    assert not torch.allclose(together[0].classifier.weight, together[1].classifier.weight, atol=1e-3)
    again = train_students(suite, protocol, jobs)
    assert all(torch.equal(p, q) for a, b in zip(together, again) for p, q in zip(a.parameters(), b.parameters()))


def test_students_are_grouped_to_fit_the_memory_budget():
    suite = get_suite("fashion-mnist")
    protocol = suite.protocol("graded")
    one = student_footprint_bytes(suite, protocol)
    # at least its own inputs (50,000 float32 images) and its parameters with gradients and Adam's moments
    params = sum(p.numel() for p in build_model("lenet", 1, 28, 10).parameters())
    assert one > 4 * (50_000 * 28 * 28 + 4 * params)
    assert students_per_group(suite, protocol, 2.5 * one) == 2
    assert students_per_group(suite, protocol, one / 2) == 1
    assert student_footprint_bytes(get_suite("cifar10"), protocol) > 2 * one  # three channels, a larger FC layer


def test_students_train_one_at_a_time_on_the_cpu_unless_asked_and_batched_on_a_gpu():
    from csbench.evaluate import RunOptions

    suite = get_suite("fashion-mnist")
    protocol = suite.protocol("graded")
    fit = students_per_group(suite, protocol, 4 * 2**30)
    assert fit > 3
    assert RunOptions(device="cpu").student_group_size(suite, protocol) == 1
    assert RunOptions(device="cpu", students_per_batch=3).student_group_size(suite, protocol) == 3
    assert RunOptions(device="cuda").student_group_size(suite, protocol) == fit
    assert RunOptions(device="cuda", batch_memory_gib=0.1, students_per_batch=9).student_group_size(
        suite, protocol) == students_per_group(suite, protocol, 0.1 * 2**30)
