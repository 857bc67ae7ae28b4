"""Why teacher-space precision rates pixel noise above early GANs: where each set's features sit among the
real k-NN balls, measured with the suite's committed teacher. Writes a markdown table:
    python scripts/precision_noise_study.py --n 10000 --out benchmarks/results/precision-noise.md
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch
from torchvision.transforms.functional import gaussian_blur

from csbench.data import load_split
from csbench.features import extract, teacher_space
from csbench.generators import SampleContext, load_generator_file
from csbench.metrics import prdc, precision_concentration, precision_rests_on_few_balls
from csbench.metrics.prdc import CONCENTRATION_FLAG, distances, knn_radii
from csbench.suites import get_suite
from csbench.teacher import load_teacher

ROOT = Path(__file__).resolve().parents[1]
K = 5


def ball_statistics(real: torch.Tensor, fake: torch.Tensor, radii: torch.Tensor, chunk: int = 1024) -> dict:
    """For each fake sample: how many real balls hold it, the smallest radius among them, its distance to the
    nearest real sample; for each real ball, whether it holds any."""
    count = torch.zeros(len(fake), dtype=torch.long)
    smallest = torch.full((len(fake),), float("inf"), dtype=torch.float64)
    nearest = torch.full((len(fake),), float("inf"), dtype=torch.float64)
    holders = torch.zeros(len(real), dtype=torch.bool)
    for i in range(0, len(real), chunk):
        d = distances(real[i : i + chunk], fake)
        r = radii[i : i + chunk, None]
        inside = d < r
        count += inside.sum(0)
        smallest = torch.minimum(smallest, torch.where(inside, r.expand_as(d), torch.inf).min(0).values)
        nearest = torch.minimum(nearest, d.min(0).values)
        holders[i : i + chunk] = inside.any(1)
    return {"count": count, "smallest": smallest, "nearest": nearest, "holders": holders}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", default="fashion-mnist")
    parser.add_argument("--n", type=int, default=10_000, help="real reference rows and samples per set")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "precision-noise.md")
    args = parser.parse_args()
    torch.set_num_threads(1)  # a study, not a race: leave the machine's other cores alone
    t0 = time.perf_counter()
    suite = get_suite(args.suite)
    train, test = (load_split(suite.dataset, s) for s in ("train", "test"))
    space = teacher_space(suite, load_teacher(suite))
    ctx = SampleContext(suite=suite.name, shape=suite.image_shape, num_classes=suite.num_classes,
                        directory=ROOT / "generators", train=train)
    n = args.n

    def generated(path: str):
        file = ROOT / "generators" / path
        out = load_generator_file(file).sample(n, 0, dataclasses.replace(ctx, directory=file.parent))
        return torch.as_tensor(out[0] if isinstance(out, tuple) else out)

    idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(1))[:n]
    sets = {
        "real test split": lambda: test.images[:n],
        "real train, blur sigma 1.5 (`real_blurred`)": lambda: generated("real_blurred.py"),
        "real train, blur sigma 3": lambda: gaussian_blur(train.images[idx], kernel_size=13, sigma=3.0),
        "`real_ten_per_class`": lambda: generated("real_ten_per_class.py"),
        "`acgan_epoch1`": lambda: generated("fashion_mnist/acgan_epoch1.py"),
        "`acgan_epoch0.25`": lambda: generated("fashion_mnist/acgan_epoch0.25.py"),
        "`dcgan_epoch0.25`": lambda: generated("fashion_mnist/dcgan_epoch0.25.py"),
        "`gaussian_noise`": lambda: generated("gaussian_noise.py"),
        "`uniform_noise`": lambda: generated("uniform_noise.py"),
    }
    real = torch.as_tensor(extract(space, train.images[:n], label="(real train)")[0], dtype=torch.float64)
    real_radii = knn_radii(real, K)
    real_median = real_radii.median().item()
    q99 = real_radii.quantile(0.99).item()
    real_spread = (real - real.mean(0)).norm(dim=1).median().item()
    rows = []
    for label, draw in sets.items():
        fake = torch.as_tensor(extract(space, draw(), label=label)[0], dtype=torch.float64)
        p = prdc(real, fake, k=K)
        b = ball_statistics(real, fake, real_radii)
        held = b["count"] > 0
        holders = real_radii[b["holders"]]
        rows.append([
            label, f"{p['precision']:.3f}", f"{p['density']:.3f}", f"{p['coverage']:.4f}", f"{p['recall']:.3f}",
            f"{int(b['holders'].sum())}", f"{precision_concentration(p['precision'], p['coverage']):.1f}",
            "**yes**" if precision_rests_on_few_balls(p["precision"], p["coverage"]) else "no",
            f"{(held & (b['smallest'] > q99)).double().mean().item():.3f}",
            f"{(holders[:, None] > real_radii[None, :]).double().mean(1).median().item():.3f}" if len(holders) else "–",
            f"{(fake - fake.mean(0)).norm(dim=1).median().item() / real_spread:.2f}",
            f"{knn_radii(fake, K).median().item() / real_median:.2f}",
            f"{b['nearest'].median().item() / real_median:.2f}",
        ])
        print(" | ".join(rows[-1]), flush=True)
    header = ["set", "precision", "density", "coverage", "recall", "real balls holding samples",
              "precision / coverage", "flagged", "share inside only balls above the 99th percentile radius",
              "radius percentile of the holding balls (median)", "spread / real spread",
              "own k-NN radius / real's", "distance to nearest real / real k-NN radius"]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    text = (f"# Teacher-space precision of noise ({suite.name})\n\n"
            f"`python scripts/precision_noise_study.py --n {n}`: the committed teacher's {real.shape[1]}-d "
            f"penultimate features; the first {n:,} real training images as the reference (as the board's "
            f"records use them), k = {K}; {n:,} samples per set, seed 0. Real k-NN radii: median "
            f"{real_median:.3f}, 99th percentile {q99:.3f}, largest {real_radii.max().item():.3f}. Spread: median "
            f"distance to the set's own mean (real: {real_spread:.3f}). Ratios of radii and distances are to the "
            f"median real k-NN radius. Flagged: `csbench.metrics.precision_rests_on_few_balls` (precision / "
            f"coverage above {CONCENTRATION_FLAG:g}). {time.perf_counter() - t0:.0f} s on one CPU thread.\n\n"
            + "\n".join(table) + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
