"""The Compression Score: train a student on teacher-labelled samples, score it on real test data.

The student sees only the samples and the teacher's outputs on them, so its test accuracy measures
how much of the teacher's knowledge the samples carry: both their coverage (diversity) and their
class structure (discriminability).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .models import build_model
from .progress import progress_bar
from .suites import Protocol, Suite


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, loss: str,
                      temperature: float = 1.0) -> torch.Tensor:
    """"l2-logits": mean squared error on logits (Ba & Caruana 2014).
    "kd": T² · KL(softmax(t/T) ‖ softmax(s/T)) per sample (Hinton et al. 2015)."""
    if loss == "l2-logits":
        return F.mse_loss(student_logits, teacher_logits)
    if loss == "kd":
        t = temperature
        return F.kl_div(F.log_softmax(student_logits / t, 1), F.log_softmax(teacher_logits / t, 1),
                        reduction="batchmean", log_target=True) * t * t
    raise ValueError(f"unknown distillation loss {loss!r}")


def channel_mean(images: torch.Tensor) -> torch.Tensor:
    """Per-channel mean of the real training images, shaped to broadcast over (N, C, H, W)."""
    return images.mean(dim=(0, 2, 3)).view(1, -1, 1, 1)


def normalize(images: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    return images - mean


def build_student(suite: Suite) -> nn.Module:
    c, h, _ = suite.image_shape
    return build_model(suite.student, c, h, suite.num_classes)


def _optimizer(protocol: Protocol, params) -> torch.optim.Optimizer:
    """Multi-tensor ("foreach") updates: on the CPU PyTorch defaults to one parameter at a time, which for
    the student's 6.6M parameters costs more than twice as long per step, with bit-identical results."""
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


def train_student(suite: Suite, protocol: Protocol, inputs: torch.Tensor, teacher_logits: torch.Tensor,
                  seed: int, device: str = "cpu", label: str = "student") -> nn.Module:
    """Train a freshly initialised student by the protocol; `inputs` are already normalised.

    The data moves to `device` once; batches are gathered there, so a GPU run copies nothing per step.
    """
    torch.manual_seed(seed)
    order_gen = torch.Generator().manual_seed(seed)
    student = build_student(suite).to(device, memory_format=torch.channels_last)
    opt = _optimizer(protocol, student.parameters())
    steps_per_epoch = math.ceil(len(inputs) / protocol.batch_size)
    sched = _scheduler(protocol, opt, protocol.epochs * steps_per_epoch)
    inputs, teacher_logits = inputs.to(device), teacher_logits.to(device)
    student.train()
    with progress_bar() as bar:
        task = bar.add_task(label, total=protocol.epochs * steps_per_epoch)
        for _ in range(protocol.epochs):
            order = torch.randperm(len(inputs), generator=order_gen).to(device)
            for i in range(0, len(inputs), protocol.batch_size):
                idx = order[i : i + protocol.batch_size]
                xb = inputs[idx].contiguous(memory_format=torch.channels_last)
                loss = distillation_loss(student(xb), teacher_logits[idx], protocol.loss, protocol.temperature)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                bar.advance(task)
    return student.eval()


def compression_score(raw_scores: Sequence[float], reference_scores: Sequence[float]) -> tuple[float, float]:
    """CS = mean student accuracy on the samples / mean accuracy of the same protocol on real data.

    Returns (CS, standard error): the delta-method error of a ratio of two independent means, so
    that the reference's own seed noise counts too. With one seed on either side it is NaN.
    """
    raw = np.asarray(raw_scores, dtype=float)
    ref = np.asarray(reference_scores, dtype=float)
    if ref.mean() <= 0:
        raise ValueError("reference accuracy must be positive")
    cs = float(raw.mean() / ref.mean())
    if len(raw) < 2 or len(ref) < 2:
        return cs, float("nan")
    rel_raw = raw.std(ddof=1) / math.sqrt(len(raw)) / raw.mean() if raw.mean() > 0 else 0.0
    rel_ref = ref.std(ddof=1) / math.sqrt(len(ref)) / ref.mean()
    return cs, cs * math.sqrt(rel_raw**2 + rel_ref**2)
