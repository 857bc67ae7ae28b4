"""The cifar10-resnet56 teacher's accuracy on the real CIFAR-10 test images of a development subset (not a test).

Loads the published ResNet-56 through csbench's own path (pin check, conversion, `weights_only` load) from a local
copy and scores it on the subset's test images, next to the published 93.39 %:

    python scripts/resnet56_accuracy.py /work/shared/cifar10
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from scipy.stats import binomtest

from csbench.cache import atomic_write_text
from csbench.suites import get_suite
from csbench.teacher import accuracy, load_teacher, predict_logits

RESULT = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "resnet56-accuracy.md"
PUBLISHED = 0.9339


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="holds cifar10-real-subset.npz and resnet56-4bfd9763.th")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    suite = get_suite("cifar10-resnet56")
    with np.load(args.folder / "cifar10-real-subset.npz") as data:
        images = torch.from_numpy(data["test_images"]).float().div(255)
        labels = torch.from_numpy(data["test_labels"]).long()
    with tempfile.TemporaryDirectory() as home:
        os.environ["CSBENCH_HOME"] = home
        teacher = load_teacher(suite, args.folder / suite.teacher.checkpoint)
    acc = accuracy(predict_logits(teacher, images), labels)
    correct = round(acc * len(labels))
    # the 846 images give about ±1.7 points, not the full test set's ±0.5
    lo, hi = binomtest(correct, len(labels)).proportion_ci(0.95, method="wilson")
    text = (f"# cifar10-resnet56 teacher on real CIFAR-10 test images\n\n"
            f"Written by `scripts/resnet56_accuracy.py`. The published ResNet-56 of Idelbayev "
            f"(`{suite.teacher.checkpoint}`, sha256 `{suite.teacher.sha256[:16]}...`) loaded through "
            f"`csbench.teacher.load_teacher` from a local copy (pin checked, converted to the state dict with "
            f"sha256 `{teacher.record['sha256'][:16]}...`), scored on the first {len(labels)} images of the real "
            f"`test_batch`.\n\n"
            f"| | accuracy |\n|---|---|\n"
            f"| measured here, {len(labels)} real test images | {acc:.2%} ({correct}/{len(labels)}; 95 % Wilson "
            f"interval {lo:.1%}–{hi:.1%}) |\n"
            f"| published (10,000 test images, error 6.61 %) | {PUBLISHED:.2%} |\n")
    atomic_write_text(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
