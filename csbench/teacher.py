"""The fixed teacher of a suite: its training recipe, and loading its pinned checkpoint safely."""

from __future__ import annotations

import io
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from . import cifar_teachers
from .cache import atomic_path, fetch_pinned, home, sha256_file
from .compression import pixel_mean
from .data import Split, load_split
from .errors import CsbenchError
from .models import PixelMeanInput, build_model
from .progress import progress_bar
from .suites import Suite, TeacherRecipe


def build_teacher(suite: Suite) -> nn.Module:
    c, h, _ = suite.image_shape
    return build_model(suite.teacher.architecture, c, h, suite.num_classes)


def load_teacher(suite: Suite, path: Path | str | None = None, device: str = "cpu", data_root: Path | None = None,
                 train: Split | None = None) -> nn.Module:
    """The suite's teacher in eval mode, from a file verified against its pin before anything parses it.

    A committed teacher is `path` or the committed checkpoint. A published one is `path` (a local copy), else
    downloaded once into `<home>/teachers/<pin>/`; either way it is converted once into a plain state dict
    beside it, and loaded from that with `weights_only=True`. A teacher that takes raw pixels minus the training
    mean gets it from `train`, else from the training split under `data_root`.
    `teacher.record` is what a result record keeps of it: architecture, the sha256 of the state dict loaded,
    test accuracy, and for a published teacher its URL and pin.
    """
    spec = suite.teacher
    if not spec.pinned:
        path = Path(path) if path is not None else spec.path
        if not path.is_file():
            raise CsbenchError(missing_teacher_message(suite, path))
        raise CsbenchError(f"suite {suite.name} pins no teacher sha256 yet, so {path} cannot be verified; to make it "
                           f"the suite's teacher, pin sha256 {sha256_file(path)} and its test accuracy in "
                           "csbench/suites.py")
    state_path = _state_dict_path(suite, Path(path) if path is not None else None)
    try:
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        model = cifar_teachers.build(spec.architecture, state, suite.num_classes) if spec.url else build_teacher(suite)
        model.load_state_dict(state)
    except Exception as exc:
        raise CsbenchError(f"teacher checkpoint {state_path} cannot be loaded: {' '.join(str(exc).split())}") from None
    inputs = [m for m in model.modules() if isinstance(m, PixelMeanInput)]
    if inputs:
        train = train if train is not None else load_split(suite.dataset, "train", data_root)
        inputs[0].mean = pixel_mean(train.images)
    model.record = {"architecture": spec.architecture, "sha256": sha256_file(state_path),
                    "test_accuracy": spec.test_accuracy} | ({"url": spec.url, "pin": str(spec.pin)} if spec.url else {})
    return model.to(device).eval()


def _state_dict_path(suite: Suite, path: Path | None) -> Path:
    """The verified state dict to load: the committed file itself, or the conversion of the published file."""
    spec = suite.teacher
    if not spec.url:
        path = path or spec.path
        if not path.is_file():
            raise CsbenchError(missing_teacher_message(suite, path))
        spec.pin.check(path, f"teacher checkpoint {path}", expected="this suite's teacher")
        return path
    folder = home() / "teachers" / spec.identity
    converted = folder / "state_dict.pt"
    if path is not None:
        if not path.is_file():
            raise CsbenchError(missing_teacher_message(suite, path))
        spec.pin.check(path, f"teacher file {path}", expected=f"{spec.checkpoint} of suite {suite.name}")
    elif converted.is_file():
        return converted
    else:
        path = fetch_pinned(spec.url, spec.pin, folder / spec.checkpoint, f"the teacher of suite {suite.name}",
                            "download it where you have internet access and pass it with --teacher PATH")
    if not converted.is_file():
        state = cifar_teachers.CONVERTERS[spec.format](path, f"teacher file {path}")
        buffer = io.BytesIO()
        torch.save(state, buffer)
        with atomic_path(converted) as tmp:
            tmp.write_bytes(buffer.getvalue())
    return converted


def missing_teacher_message(suite: Suite, path: Path) -> str:
    """How to get the teacher: a published one downloads itself, a committed one is trained by its recipe."""
    spec = suite.teacher
    if spec.url:
        return (f"teacher file {path} not found; pass a copy of {spec.url} (its {spec.pin.kind} is checked), or "
                "leave out --teacher to download it")
    if spec.pinned:
        return (f"teacher checkpoint {path} not found; train it with "
                f"`csbench teacher train --suite {suite.name}` and pin its sha256 in the suite")
    return (f"the teacher of suite {suite.name} is not trained yet ({path} not found): train it with "
            f"`csbench teacher train --suite {suite.name} --device cuda`, copy the checkpoint to "
            f"{spec.path} and pin its sha256 and test accuracy in csbench/suites.py")


def augment(x: torch.Tensor, generator: torch.Generator, pad: int = 2) -> torch.Tensor:
    """Per-sample random crop (zero padding `pad`) and horizontal flip, without Python loops."""
    n, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = (oy[:, None] + torch.arange(h))[:, :, None]
    cols = (ox[:, None] + torch.arange(w))[:, None, :]
    out = padded.permute(0, 2, 3, 1)[torch.arange(n)[:, None, None], rows, cols].permute(0, 3, 1, 2)
    flip = torch.rand(n, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(3), out).contiguous()


INFERENCE_BATCH = 128
"""Batch size of every inference pass. On the CPU a batch of 128 keeps the activations in cache: the teacher runs
faster than at 1024 on one core, with bit-identical outputs (benchmarks/bench_evaluation.py measures it)."""


@contextmanager
def inference(model: nn.Module, dropout_seed: int | None = None) -> Iterator[None]:
    """Eval mode; with `dropout_seed`, the dropout layers stay on (batch norm still uses its running statistics),
    their masks drawn from a forked RNG seeded with it, so the same seed gives the same noisy outputs."""
    model.eval()
    dropouts = [m for m in model.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]
    with torch.inference_mode(), torch.random.fork_rng(devices=[]):
        if dropout_seed is not None:
            torch.manual_seed(dropout_seed)
            for m in dropouts:
                m.train()
        try:
            yield
        finally:
            for m in dropouts:
                m.eval()


def has_dropout_before_features(model: nn.Module) -> bool:
    """Whether dropout changes a FeatureClassifier's features (not only its logits)."""
    return any(isinstance(m, nn.modules.dropout._DropoutNd) for m in model.features.modules())


def predict_logits(model: nn.Module, images: torch.Tensor, batch_size: int = INFERENCE_BATCH,
                   device: str = "cpu", dropout_seed: int | None = None, label: str | None = None) -> torch.Tensor:
    """`label`: show a progress bar under that name."""
    return _batched(model, lambda x: (None, model(x)), images, batch_size, device, dropout_seed, label)[1]


def predict_features(model: nn.Module, images: torch.Tensor, batch_size: int = INFERENCE_BATCH,
                     device: str = "cpu", dropout_seed: int | None = None,
                     label: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Penultimate features and logits from one forward pass: a FeatureClassifier's forward is
    `classifier(features(x))`, so the logits equal `predict_logits`'s bit for bit at the same batch size."""

    def both(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = model.features(x)
        return f, model.classifier(f)

    return _batched(model, both, images, batch_size, device, dropout_seed, label)


def _batched(model: nn.Module, forward, images: torch.Tensor, batch_size: int, device: str,
             dropout_seed: int | None, label: str | None) -> tuple[torch.Tensor | None, torch.Tensor]:
    """`forward(batch) -> (features or None, logits)` over `images` in batches, gathered on the CPU in float32."""
    kept, logits = [], []
    with inference(model, dropout_seed), progress_bar() as bar:
        task = bar.add_task(label or "", total=len(images), visible=label is not None)
        for i in range(0, len(images), batch_size):
            f, out = forward(images[i : i + batch_size].to(device))
            logits.append(out.float().cpu())
            if f is not None:
                kept.append(f.float().cpu())
            bar.advance(task, len(out))
    return (torch.cat(kept) if kept else None), torch.cat(logits)


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return (logits.argmax(1) == labels).float().mean().item()


def default_device() -> str:
    """CUDA where PyTorch sees a GPU, else the CPU."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def require_device(device: str) -> None:
    """Fail in one line before any data is loaded, instead of deep inside the first `.to(device)`."""
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        raise CsbenchError(f"device {device!r} was asked for, but PyTorch sees no CUDA GPU on this machine")


def build_optimizer(recipe: TeacherRecipe, params) -> torch.optim.Optimizer:
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=recipe.max_lr, weight_decay=recipe.weight_decay)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(params, lr=recipe.max_lr, momentum=0.9, nesterov=True, weight_decay=recipe.weight_decay)
    raise ValueError(f"unknown teacher optimizer {recipe.optimizer!r}")


def train_teacher(suite: Suite, out: Path, device: str = "cpu", epochs: int | None = None,
                  limit: int | None = None, data_root: Path | None = None) -> tuple[str, float]:
    """Train the suite's teacher by its recipe; write the checkpoint atomically; return (sha256, test acc).

    On CUDA the training steps run in float16 mixed precision with loss scaling; on the CPU in float32.
    Test accuracy is always measured in float32, as `load_teacher` users will run the checkpoint.
    """
    recipe = suite.teacher.recipe
    if recipe is None:
        raise CsbenchError(f"the teacher of suite {suite.name} is published, not trained here: it downloads itself "
                           f"from {suite.teacher.url}")
    require_device(device)
    epochs = epochs or recipe.epochs
    torch.manual_seed(recipe.seed)
    gen = torch.Generator().manual_seed(recipe.seed)
    train, test = load_split(suite.dataset, "train", data_root), load_split(suite.dataset, "test", data_root)
    x, y = train.images[:limit], train.labels[:limit]
    model = build_teacher(suite).to(device, memory_format=torch.channels_last)
    opt = build_optimizer(recipe, model.parameters())
    mixed = torch.device(device).type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=mixed)
    steps_per_epoch = -(-len(x) // recipe.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.max_lr, total_steps=epochs * steps_per_epoch)
    with progress_bar() as bar:
        task = bar.add_task(f"teacher {suite.name}", total=epochs * steps_per_epoch)
        for epoch in range(epochs):
            model.train()
            order = torch.randperm(len(x), generator=gen)
            for i in range(0, len(x), recipe.batch_size):
                idx = order[i : i + recipe.batch_size]
                xb = augment(x[idx], gen, recipe.crop_padding).to(device, memory_format=torch.channels_last)
                with torch.autocast("cuda", dtype=torch.float16, enabled=mixed):
                    loss = F.cross_entropy(model(xb), y[idx].to(device))
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                sched.step()
                bar.advance(task)
            acc = accuracy(predict_logits(model, test.images, device=device), test.labels)
            bar.console.print(f"epoch {epoch + 1}/{epochs}: loss {loss.item():.3f}, test accuracy {acc:.4f}")
    buffer = io.BytesIO()
    torch.save({k: v.cpu().contiguous() for k, v in model.state_dict().items()}, buffer)
    with atomic_path(out) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return sha256_file(out), acc
