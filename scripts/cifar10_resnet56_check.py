"""A pipeline check of `cifar10-resnet56` on real CIFAR-10 images (development, not a test, not board numbers).

The real development subset (4,660 training and 846 test images, /work/shared/cifar10/) stands in for the full
release: the published ResNet-56 is loaded by csbench's teacher loader from a local copy, the reference is the
library's `reference_score` on the 4,660 training images, and sample sets are scored by `student_score` on the 846
test images, under the suite's default protocol with `samples` cut to 4,660. The sample sets: the same real images
in another order (CS should be about 1), five of the ten classes, and uniform noise.

    python scripts/cifar10_resnet56_check.py /work/shared/cifar10
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from csbench.cache import atomic_write_text
from csbench.compression import pixel_mean
from csbench.data import Split
from csbench.evaluate import reference_score, student_score
from csbench.stats import ratio_interval
from csbench.suites import get_suite
from csbench.teacher import accuracy, load_teacher, predict_logits
from csbench.timing import Timings

RESULT = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "cifar10-resnet56-check.md"


def splits(folder: Path) -> tuple[Split, Split]:
    with np.load(folder / "cifar10-real-subset.npz") as data:
        return tuple(Split(torch.from_numpy(data[f"{s}_images"]).float().div(255),
                           torch.from_numpy(data[f"{s}_labels"]).long()) for s in ("train", "test"))


def sample_sets(train: Split, n: int) -> dict[str, torch.Tensor]:
    """Stand-ins for generators, drawn from the real training images and from noise."""
    gen = torch.Generator().manual_seed(0)
    five = torch.nonzero(train.labels < 5).squeeze(1)
    return {"real, shuffled": train.images[torch.randperm(len(train), generator=gen)[:n]],
            "real, classes 0-4 only": train.images[five[torch.randint(len(five), (n,), generator=gen)]],
            "uniform noise": torch.rand((n, *train.images.shape[1:]), generator=gen)}


def render(checkpoint: str, protocol, base: str, teacher_acc: float, reference: list[float],
           rows: dict[str, list[float]], seconds: float) -> str:
    def cs(acc: list[float]) -> str:
        value, half = ratio_interval(acc, reference)
        return f"{value:.3f} ± {half:.3f}"

    lines = [f"| {name} | {np.mean(acc):.4f} ({', '.join(f'{a:.4f}' for a in acc)}) | {cs(acc)} |"
             for name, acc in rows.items()]
    return (
        "# cifar10-resnet56 pipeline check on real images\n\n"
        f"Written by `scripts/cifar10_resnet56_check.py` ({seconds:.0f} s on 2 shared CPU cores). A check that the "
        "pieces fit on real data, not board numbers: 4,660 real training images instead of 50,000, 846 real test "
        f"images instead of 10,000. Teacher: the published ResNet-56 (`{checkpoint}`, pin checked, converted, "
        f"loaded by `csbench.teacher.load_teacher`). Protocol: `{base}` with `samples` = {protocol.samples:,}, "
        f"seeds {list(protocol.seeds)}. Reference: `csbench.evaluate.reference_score` (the student on the 4,660 "
        "real images, in order, teacher-labelled); sample sets: `csbench.evaluate.student_score` on the teacher's "
        "logits for them; CS = mean raw / mean reference ± the half-width of the 95 % paired interval of "
        "`csbench.stats.ratio_interval`.\n\n"
        f"Teacher accuracy on the 846 real test images: **{teacher_acc:.2%}** (published: 93.39 % on 10,000).\n\n"
        f"Reference student accuracy: {np.mean(reference):.4f} ({', '.join(f'{a:.4f}' for a in reference)}).\n\n"
        "| samples (4,660) | student accuracy, mean (per seed) | CS |\n|---|---|---|\n" + "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="holds cifar10-real-subset.npz and resnet56-4bfd9763.th")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    suite = get_suite("cifar10-resnet56")
    train, test = splits(args.folder)
    base = suite.protocol()
    protocol = dataclasses.replace(base, name=f"{base.name}-{len(train)}", samples=len(train),
                                   seeds=tuple(range(args.seeds)))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as home:
        os.environ["CSBENCH_HOME"] = home
        teacher = load_teacher(suite, args.folder / suite.teacher.checkpoint, train=train)
        teacher_acc = accuracy(predict_logits(teacher, test.images), test.labels)
        reference = [reference_score(suite, protocol, teacher, train, test, s, cache_dir=Path(home)).accuracy
                     for s in protocol.seeds]
        mean, rows = pixel_mean(train.images), {}
        for name, samples in sample_sets(train, protocol.samples).items():
            logits = predict_logits(teacher, samples)
            rows[name] = [student_score(suite, protocol, samples, logits, mean, test, s, "cpu", Timings(),
                                        label=f"{name} seed {s}").accuracy for s in protocol.seeds]
    text = render(suite.teacher.checkpoint, protocol, base.name, teacher_acc, reference, rows,
                  time.perf_counter() - started)
    atomic_write_text(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
