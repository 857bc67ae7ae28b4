"""The Compression Score: train a student on teacher-labelled samples, score it on real test data.

The student sees only the samples and the teacher's outputs on them, so its test accuracy measures
how much of the teacher's knowledge the samples carry: both their coverage (diversity) and their
class structure (discriminability).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

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


def initial_student(suite: Suite, seed: int) -> nn.Module:
    """The student's initial weights are a function of the seed alone."""
    torch.manual_seed(seed)
    return build_student(suite)


def _optimizer(protocol: Protocol, params) -> torch.optim.Optimizer:
    """Every update is elementwise, so one optimiser over students' stacked parameters is each student's own
    (`train_students`); a rule with per-tensor norms (LAMB, clipping by norm) would have to be applied per slice.

    Multi-tensor ("foreach") updates: on the CPU PyTorch defaults to one parameter at a time, which for
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
    student = initial_student(suite, seed).to(device, memory_format=torch.channels_last)
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


@dataclass(frozen=True)
class StudentJob:
    """One student to train: `inputs` (already `student_inputs`) and `targets` as `train_student` takes them,
    its `seed` (initialisation and sample order) and `loss` (None: the protocol's)."""

    inputs: torch.Tensor
    targets: torch.Tensor
    seed: int
    loss: str | None = None
    label: str = "student"


def train_students(suite: Suite, protocol: Protocol, jobs: Sequence[StudentJob], device: str = "cpu",
                   label: str = "students") -> list[nn.Module]:
    """Train the jobs' students together as one batched model; each comes out as `train_student` would make it
    alone, up to the order of floating-point sums.

    PyTorch's model-ensembling recipe (`torch.func`): the students' parameters are stacked along a new first
    dimension and `vmap` runs the one architecture over every slice with that student's own batch, so a step is
    a few large products instead of many small ones. Each student keeps its own initialisation and sample order
    (from its seed), its own loss, and its own optimiser state: the optimiser's update is elementwise
    (`_optimizer`) and every student takes the same steps, so one optimiser and one schedule over the stacked
    tensors are N independent ones. The gradient of the summed losses with respect to a student's slice is the
    gradient of that student's loss alone. One job trains by `train_student` itself.
    """
    if len(jobs) == 1:
        job = jobs[0]
        return [train_student(suite, protocol, job.inputs, job.targets, job.seed, device, job.label, job.loss)]
    if len({len(job.inputs) for job in jobs}) != 1:
        raise ValueError("students trained together need the same number of samples (the same steps)")
    students = [initial_student(suite, job.seed) for job in jobs]
    stacked, buffers = stack_module_state(students)
    params = {k: v.detach().to(device).requires_grad_() for k, v in stacked.items()}
    buffers = {k: v.to(device) for k, v in buffers.items()}
    skeleton = copy.deepcopy(students[0]).to("meta")
    forward = vmap(lambda p, b, x: functional_call(skeleton, (p, b), (x,)))
    opt = _optimizer(protocol, params.values())
    orders = [batch_order(len(job.inputs), protocol, job.seed) for job in jobs]
    sched = _scheduler(protocol, opt, len(orders[0]))
    on_device: dict[int, torch.Tensor] = {}  # a tensor shared by several jobs (CAS and distillation) moves once
    data = [(on_device.setdefault(id(job.inputs), job.inputs.to(device)),
             on_device.setdefault(id(job.targets), job.targets.to(device))) for job in jobs]
    losses = [job.loss or protocol.loss for job in jobs]
    with progress_bar() as bar:
        task = bar.add_task(f"{label} ({len(jobs)} together)", total=len(orders[0]))
        for step in zip(*orders):
            idx = [i.to(device) for i in step]
            logits = forward(params, buffers, _stacked_batch([x[i] for (x, _), i in zip(data, idx)]))
            step_loss = sum(distillation_loss(out, t[i], loss, protocol.temperature)
                            for out, (_, t), i, loss in zip(logits, data, idx, losses))
            opt.zero_grad(set_to_none=True)
            step_loss.backward()
            opt.step()
            sched.step()
            bar.advance(task)
    for n, student in enumerate(students):
        student.load_state_dict({k: v[n].detach() for k, v in (params | buffers).items()})
    return [student.to(device).eval() for student in students]


def _stacked_batch(batches: list[torch.Tensor]) -> torch.Tensor:
    """The students' batches as one (N, B, C, H, W) tensor laid out (B, H, W, N, C) in memory: vmap turns a
    convolution of stacked weights into one grouped convolution over (B, N·C, H, W), and this layout makes that
    input channels-last, the layout in which the CPU's grouped convolution is fast."""
    return torch.stack([b.permute(0, 2, 3, 1) for b in batches], dim=3).permute(3, 0, 4, 1, 2)


def student_footprint_bytes(suite: Suite, protocol: Protocol) -> int:
    """An upper estimate of the memory one more student adds to a batched training: its own copy of the inputs
    (students that share inputs share them, so this overcounts), its parameters with their gradients and the
    optimiser's two moments, and a step's layer outputs three times over (kept for the backward pass, their
    gradients, and the copies vmap makes between layers), all float32."""
    with torch.device("meta"):
        student = build_student(suite)
        outputs: list[int] = []
        for module in student.modules():
            if not list(module.children()):
                module.register_forward_hook(lambda m, i, out: outputs.append(out.numel()))
        student(torch.empty(protocol.batch_size, *suite.image_shape))
    params = sum(p.numel() for p in student.parameters())
    return 4 * (protocol.samples * math.prod(suite.image_shape) + 4 * params + 3 * sum(outputs))


def students_per_group(suite: Suite, protocol: Protocol, memory_bytes: float) -> int:
    """How many students train together within `memory_bytes`; at least one, whatever the budget."""
    return max(1, int(memory_bytes // student_footprint_bytes(suite, protocol)))


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
