"""Does C_T tell copies from smooth samples? Training copies, degraded, measured against both splits.

    python benchmarks/bench_copying_directions.py [--results results]

C_T and the median distance ratio in pixel space (where C_T flags degraded copies), for 10,000 training images
copied with a degradation, each measured twice as csbench.quality.copy_detection measures a generator: against
the training split (held-out = the 10,000 test images) and against the test split (held-out = the 60,000
training images). A copier lies relatively nearer the split it copied; smooth samples lie near real images of
either split. With --results, this version's fashion-mnist records there add their generators' seed-0 rows (no
measuring).
The flag columns apply `is_copying` to the training-split measures without and with the test-split ones
(`unseen`). Runs on one thread. Writes benchmarks/results/copying-directions-fashion-mnist.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

from csbench import __version__
from csbench.cache import atomic_write_text
from csbench.data import load_split
from csbench.metrics.copying import copy_measures_against, copy_reference, is_copying
from csbench.results import RecordKind, read_records
from csbench.tables import markdown_table

OUT = Path(__file__).resolve().parent / "results" / "copying-directions-fashion-mnist"
SAMPLES = 10_000


def blur(images: torch.Tensor, size: int, times: int = 1) -> torch.Tensor:
    for _ in range(times):
        images = F.avg_pool2d(images, size, stride=1, padding=size // 2, count_include_pad=False)
    return images


def degraded_copies(train: torch.Tensor) -> dict[str, torch.Tensor]:
    copies = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:SAMPLES]]
    jitter = 0.05 * torch.randn(copies.shape, generator=torch.Generator().manual_seed(2))
    return {"training images": copies,
            "training images + N(0, 0.05) pixel noise": (copies + jitter).clamp(0, 1),
            "training images, 3x3 blur": blur(copies, 3),
            "training images, 3x3 blur twice": blur(copies, 3, 2),
            "training images, 5x5 blur": blur(copies, 5),
            "training images, 7x7 blur twice": blur(copies, 7, 2)}


def row(case: str, against_training: dict, against_test: dict, seconds: float | None = None) -> dict:
    return {"case": case, "seconds": seconds, "training": against_training, "test": against_test,
            "flag_ct_alone": is_copying(against_training),
            "flag": is_copying(against_training, unseen=against_test)}


def measure() -> tuple[list[dict], dict]:
    torch.set_num_threads(1)
    load_before = os.getloadavg()[0]
    train, test = load_split("fashion-mnist", "train"), load_split("fashion-mnist", "test")
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    t0 = time.perf_counter()
    against_training = copy_reference(flat(train.images), flat(test.images))
    against_test = copy_reference(flat(test.images), flat(train.images))
    costs = {"both pixel references (NN + k-means)": time.perf_counter() - t0}
    rows = []
    for case, images in degraded_copies(train.images).items():
        t0 = time.perf_counter()
        a, b = copy_measures_against(flat(images), against_training), copy_measures_against(flat(images), against_test)
        rows.append(row(case, a, b, time.perf_counter() - t0))
        print(f"{case:45s} C_T {a['ct']:6.1f} / {b['ct']:6.1f}  ratio {a['median_distance_ratio']:.3f} / "
              f"{b['median_distance_ratio']:.3f}  flag {rows[-1]['flag_ct_alone']} -> {rows[-1]['flag']}", flush=True)
    run = {"threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
           "load_average_before": round(load_before, 2), "load_average_after": round(os.getloadavg()[0], 2),
           "costs_s": {k: round(v, 1) for k, v in costs.items()}}
    return rows, run


def record_rows(results: Path) -> list[dict]:
    """Seed-0 pixel measures of this csbench version's fashion-mnist records under `results` that have both
    directions."""
    rows = []
    for record in read_records(results, "fashion-mnist", RecordKind.CS):
        copying = record.copying or {}
        both = "pixel" in copying and (copying.get("test_split") or {}).get("pixel")
        if record.provenance.csbench_version == __version__ and both:
            rows.append(row(f"generator `{record.generator['name']}` (record, seed 0)", copying["pixel"],
                            copying["test_split"]["pixel"]))
    return sorted(rows, key=lambda r: r["case"])


def _f(v, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def markdown(result: dict) -> str:
    header = ["case", "C_T vs training", "C_T vs test split", "distance ratio vs training",
              "distance ratio vs test split", "flag by C_T alone", "flag"]
    rows = [[r["case"], _f(r["training"]["ct"], ".1f"), _f(r["test"]["ct"], ".1f"),
             _f(r["training"]["median_distance_ratio"], ".3f"), _f(r["test"]["median_distance_ratio"], ".3f"),
             "**copying**" if r["flag_ct_alone"] else "no", "**copying**" if r["flag"] else "no"]
            for r in result["rows"]]
    run = result["run"]
    return "\n".join([
        "# Copies or smooth samples? Pixel-space C_T against both splits on Fashion-MNIST", "",
        f"{SAMPLES:,} samples per case, pixel space. Against the training split: held-out = the 10,000 test images; "
        "against the test split: held-out = the 60,000 training images, as each record's \"test_split\" entry. "
        "Distance ratio: the samples' median nearest-neighbour distance over the held-out images' (1 for fresh "
        "data). \"flag by C_T alone\": the copy rule without the test-split measures; \"flag\": the rule as "
        "the board applies it, C_T counting only where the samples lie relatively nearer the training split "
        "(lower ratio against it). The flag columns judge the training-split measures only; the rate rule "
        "flags the first two cases in either column.", "",
        markdown_table(header, rows), "",
        f"{run['threads']} thread(s) on a {run['cpu_count']}-core machine, load average before/after "
        f"{run['load_average_before']} / {run['load_average_after']} (1-min; above the core count, other work "
        "shared the cores). " + "; ".join(f"{k}: {v:.0f} s" for k, v in run["costs_s"].items()) + ".", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, help="a results folder whose fashion-mnist records add rows")
    args = parser.parse_args()
    with threadpool_limits(1):
        rows, run = measure()
    result = {"rows": rows + (record_rows(args.results) if args.results else []), "run": run}
    atomic_write_text(OUT.with_suffix(".json"), json.dumps(result, indent=1) + "\n")
    atomic_write_text(OUT.with_suffix(".md"), markdown(result))


if __name__ == "__main__":
    main()
