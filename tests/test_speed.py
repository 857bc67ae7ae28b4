"""The speed work changes no number: rewritten layers, optimizer and teacher pass give bit-identical results."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from conftest import TINY_PROTOCOL
from torch import nn

from csbench.compression import distillation_loss, train_student
from csbench.features import extract, teacher_space
from csbench.models import build_model
from csbench.suites import get_suite
from csbench.timing import Timings


def relu_before_pool(model: nn.Module) -> nn.Module:
    """The textbook order (ReLU, then max-pool) with the same modules and weights."""
    layers = list(model.features)
    for i in range(len(layers) - 1):
        if isinstance(layers[i], nn.MaxPool2d) and isinstance(layers[i + 1], nn.ReLU):
            layers[i], layers[i + 1] = layers[i + 1], layers[i]
    model.features = nn.Sequential(*layers)
    return model


@pytest.mark.parametrize("name", ["cnn6"])  # the authors' student has no ReLU at its pools
def test_pool_before_relu_gives_identical_outputs_and_gradients(name):
    torch.manual_seed(0)
    fast = build_model(name, 1, 28, 10).train()
    slow = relu_before_pool(build_model(name, 1, 28, 10)).train()
    slow.load_state_dict(fast.state_dict())
    assert [type(m) for m in fast.features] != [type(m) for m in slow.features]
    x = torch.randn(16, 1, 28, 28)
    torch.manual_seed(1)  # the same dropout masks
    out_fast = fast(x)
    torch.manual_seed(1)
    out_slow = slow(x)
    assert torch.equal(out_fast, out_slow)
    out_fast.square().sum().backward()
    out_slow.square().sum().backward()
    for (key, a), b in zip(fast.named_parameters(), slow.parameters()):
        assert torch.equal(a.grad, b.grad), key


def test_committed_teacher_loads_into_the_reordered_network():
    from csbench.teacher import load_teacher

    suite = get_suite("fashion-mnist")
    teacher = load_teacher(suite)
    textbook = relu_before_pool(build_model("cnn6", 1, 28, 10))
    textbook.load_state_dict(teacher.state_dict())
    x = torch.rand(8, 1, 28, 28)
    with torch.inference_mode():
        assert torch.equal(teacher(x), textbook.eval()(x))


def plain_loop(suite, protocol, inputs, logits, seed):
    """train_student as first written: textbook layer order, one-tensor-at-a-time Adam, per-batch copies."""
    torch.manual_seed(seed)
    order_gen = torch.Generator().manual_seed(seed)
    c, h, _ = suite.image_shape
    student = relu_before_pool(build_model(suite.student, c, h, suite.num_classes)).to(
        memory_format=torch.channels_last)
    opt = torch.optim.Adam(student.parameters(), lr=protocol.lr, foreach=False)
    student.train()
    for _ in range(protocol.epochs):
        order = torch.randperm(len(inputs), generator=order_gen)
        for i in range(0, len(inputs), protocol.batch_size):
            idx = order[i : i + protocol.batch_size]
            xb = inputs[idx].to("cpu", memory_format=torch.channels_last)
            loss = distillation_loss(student(xb), logits[idx], protocol.loss, protocol.temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return student


@pytest.mark.parametrize("loss", ["l2-logits", "kd"])
def test_train_student_matches_the_plain_loop_bit_for_bit(loss):
    suite = get_suite("fashion-mnist")
    protocol = dataclasses.replace(TINY_PROTOCOL, samples=320, loss=loss, temperature=4.0)
    gen = torch.Generator().manual_seed(5)
    inputs, logits = torch.randn(320, 1, 28, 28, generator=gen), torch.randn(320, 10, generator=gen)
    fast = train_student(suite, protocol, inputs, logits, seed=1)
    slow = plain_loop(suite, protocol, inputs, logits, seed=1)
    assert math.ceil(320 / protocol.batch_size) == 5
    for (key, a), b in zip(fast.state_dict().items(), slow.state_dict().values()):
        assert torch.equal(a, b), key


def test_one_teacher_pass_labels_the_samples_and_gives_the_teacher_features():

    from csbench.evaluate import label_and_extract, label_samples
    from csbench.teacher import load_teacher

    suite = get_suite("fashion-mnist")
    teacher = load_teacher(suite)
    images = torch.rand(1100, 1, 28, 28, generator=torch.Generator().manual_seed(3))  # a short last batch
    timings = Timings()
    logits, (features, probs) = label_and_extract(teacher, images, "cpu", timings)
    assert torch.equal(logits, label_samples(teacher, images, "cpu", timings))
    separate_features, separate_probs = extract(teacher_space(suite, teacher), images)
    assert features.shape == (1100, 128) and probs.dtype == np.float64
    assert np.array_equal(features, separate_features) and np.array_equal(probs, separate_probs)


def test_real_logits_are_cached_and_a_damaged_cache_is_recomputed():

    from csbench.evaluate import real_logits, real_logits_path
    from csbench.teacher import load_teacher, predict_logits

    suite = get_suite("fashion-mnist")
    teacher = load_teacher(suite)
    calls = []
    teacher.register_forward_hook(lambda *_: calls.append(1))
    images = torch.rand(200, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    first = real_logits(suite, teacher, images, "cpu", Timings())
    passes = len(calls)
    assert passes > 0 and real_logits_path(suite, images).is_file()
    assert torch.equal(real_logits(suite, teacher, images, "cpu", Timings()), first)
    assert len(calls) == passes
    assert real_logits_path(suite, images[:100]) != real_logits_path(suite, images)
    assert real_logits_path(suite, images.flip(0)) != real_logits_path(suite, images)
    real_logits_path(suite, images).write_bytes(b"not an array")
    assert torch.equal(real_logits(suite, teacher, images, "cpu", Timings()), first)
    assert len(calls) == 2 * passes
    assert torch.equal(first, predict_logits(teacher, images))


def test_inference_batch_changes_no_output():
    """Batches of 128 instead of 1024 (cache-friendly on the CPU) give the same logits, teacher and student."""
    from csbench.teacher import INFERENCE_BATCH, load_teacher, predict_logits

    torch.manual_seed(0)
    student = build_model("lenet", 1, 28, 10).to(memory_format=torch.channels_last)
    images = torch.rand(1100, 1, 28, 28, generator=torch.Generator().manual_seed(6))
    assert INFERENCE_BATCH == 128
    for model in (load_teacher(get_suite("fashion-mnist")), student):
        assert torch.equal(predict_logits(model, images), predict_logits(model, images, batch_size=1024))
