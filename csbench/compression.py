"""The Compression Score: train a student on teacher-labelled samples, score it on real test data.

The student sees only the samples and the teacher's outputs on them, so its test accuracy measures
how much of the teacher's knowledge the samples carry: both their coverage (diversity) and their
class structure (discriminability).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .models import build_model
from .progress import progress_bar
from .suites import Protocol, Suite


def distillation_loss(student_logits: torch.Tensor, targets: torch.Tensor, loss: str,
                      temperature: float = 1.0) -> torch.Tensor:
    """"l2-logits": the authors' `tf.nn.l2_loss(teacher - student) / batch_size`, half the summed squared
    logit differences per sample (Ba & Caruana 2014).
    "kd": T² · KL(softmax(t/T) ‖ softmax(s/T)) per sample (Hinton et al. 2015).
    "cross-entropy": `targets` are class indices (the generator's own labels, for CAS)."""
    if loss == "l2-logits":
        return (targets - student_logits).square().sum() / (2 * len(targets))
    if loss == "kd":
        t = temperature
        return F.kl_div(F.log_softmax(student_logits / t, 1), F.log_softmax(targets / t, 1),
                        reduction="batchmean", log_target=True) * t * t
    if loss == "cross-entropy":
        return F.cross_entropy(student_logits, targets)
    raise ValueError(f"unknown distillation loss {loss!r}")


def pixel_mean(images: torch.Tensor) -> torch.Tensor:
    """The per-pixel mean image of the real training split on the 0–255 scale (float64, shape (1, C, H, W)),
    as the authors' `np.mean(data_train, axis=0)`."""
    return images.double().mul(255).mean(dim=0, keepdim=True)


def student_inputs(images: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] as the authors' student sees them: raw 0–255 values minus the training mean image,
    unscaled (`np.float32(x) - mean`, fed as float32)."""
    return torch.cat([(chunk.double() * 255 - mean).float() for chunk in images.split(8192)])


def build_student(suite: Suite) -> nn.Module:
    c, h, _ = suite.image_shape
    return build_model(suite.student, c, h, suite.num_classes)


def _optimizer(protocol: Protocol, params) -> torch.optim.Optimizer:
    """Multi-tensor ("foreach") updates: on the CPU PyTorch defaults to one parameter at a time, which for
    a student of millions of parameters costs more than twice as long per step, with bit-identical results."""
    if protocol.optimizer == "adam":
        return torch.optim.Adam(params, lr=protocol.lr, foreach=True)
    if protocol.optimizer == "sgd":
        return torch.optim.SGD(params, lr=protocol.lr, momentum=0.9, nesterov=True, foreach=True)
    raise ValueError(f"unknown optimizer {protocol.optimizer!r}")


def _scheduler(protocol: Protocol, opt: torch.optim.Optimizer, total_steps: int):
    if protocol.lr_schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    if protocol.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)
    raise ValueError(f"unknown lr schedule {protocol.lr_schedule!r}")


def batch_order(n: int, protocol: Protocol, seed: int) -> list[torch.Tensor]:
    """The index batches of every step. Unshuffled, one pass visits the samples in the order they were drawn,
    as the authors' loop does; `drop_last` drops the final partial batch (their `int(n / batch_size)` steps)."""
    order_gen = torch.Generator().manual_seed(seed)
    stop = n - n % protocol.batch_size if protocol.drop_last else n
    batches = []
    for _ in range(protocol.epochs):
        order = torch.randperm(n, generator=order_gen) if protocol.shuffle else torch.arange(n)
        batches += list(order[:stop].split(protocol.batch_size))
    return batches


def train_student(suite: Suite, protocol: Protocol, inputs: torch.Tensor, targets: torch.Tensor,
                  seed: int, device: str = "cpu", label: str = "student", loss: str | None = None) -> nn.Module:
    """Train a freshly initialised student by the protocol; `inputs` are already `student_inputs`.

    `targets` are the teacher's logits, or with `loss="cross-entropy"` class indices. The data moves to `device`
    once; batches are gathered there, so a GPU run copies nothing per step.
    """
    torch.manual_seed(seed)
    student = build_student(suite).to(device, memory_format=torch.channels_last)
    opt = _optimizer(protocol, student.parameters())
    batches = batch_order(len(inputs), protocol, seed)
    sched = _scheduler(protocol, opt, len(batches))
    inputs, targets = inputs.to(device), targets.to(device)
    student.train()
    with progress_bar() as bar:
        task = bar.add_task(label, total=len(batches))
        for idx in batches:
            idx = idx.to(device)
            xb = inputs[idx].contiguous(memory_format=torch.channels_last)
            step_loss = distillation_loss(student(xb), targets[idx], loss or protocol.loss, protocol.temperature)
            opt.zero_grad(set_to_none=True)
            step_loss.backward()
            opt.step()
            sched.step()
            bar.advance(task)
    return student.eval()


def seconds_per_training(suite: Suite, protocol: Protocol, device: str = "cpu", steps: int = 3) -> float:
    """A quick timing of a few steps of the student on random inputs, scaled to one training by the protocol."""
    from .timing import Timings

    student = build_student(suite).to(device, memory_format=torch.channels_last)
    opt = _optimizer(protocol, student.parameters())
    x = torch.randn(protocol.batch_size, *suite.image_shape, device=device)
    x = x.contiguous(memory_format=torch.channels_last)
    target = torch.randn(protocol.batch_size, suite.num_classes, device=device)

    def step() -> None:
        loss = distillation_loss(student(x), target, protocol.loss, protocol.temperature)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # the first step allocates: not timed
    timed = Timings()
    with timed.measure("steps"):
        for _ in range(steps):
            step()
    return timed["steps"] / steps * len(batch_order(protocol.samples, protocol, 0))
