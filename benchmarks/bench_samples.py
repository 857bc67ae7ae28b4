"""Samples files at full size: equality with the generator file, and what reading them costs.

1. Equality: real_five_classes (a labelled generator) draws seed 0's 50,000 Fashion-MNIST samples; they are saved
   as a folder of 50,000 PNGs (with labels.txt) and as an .npz; all three are evaluated for seed 0 under the
   default protocol, and CS, CAS, per-class CS and the teacher-space metrics are compared.
2. Cost: 50,000 CIFAR-sized (32x32 RGB) PNGs, made from Fashion-MNIST images (padded, one tint per channel), are
   inspected (every file hashed and decoded once) and read as a seed's slice (decoded again), wall and CPU time;
   set against the seed time of part 1 (all of a seed's work) on this machine.

    python benchmarks/bench_samples.py --out benchmarks/results [--skip-equality]

Writes samples-<date>.json and .md. Heavy: run it alone, under `nice`, and say whether the machine was shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from csbench.cache import atomic_write_text
from csbench.data import load_split
from csbench.evaluate import RunOptions, evaluate
from csbench.generators import SampleContext, load_generator_file
from csbench.sample_files import inspect, read_slice
from csbench.suites import get_suite

ROOT = Path(__file__).resolve().parents[1]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(fn):
    wall, cpu = time.perf_counter(), cpu_s()
    value = fn()
    return value, {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(cpu_s() - cpu, 2)}


def write_pngs(folder: Path, images: np.ndarray, labels: np.ndarray | None) -> None:
    folder.mkdir(parents=True)
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{i:05d}.png")
    if labels is not None:
        (folder / "labels.txt").write_text("".join(f"{v}\n" for v in labels))


def equality(work: Path) -> dict:
    suite = get_suite("fashion-mnist")
    n = suite.protocol().samples
    generator = ROOT / "generators" / "real_five_classes.py"
    gen = load_generator_file(generator)
    ctx = SampleContext(suite.name, suite.image_shape, suite.num_classes, generator.parent,
                        train=load_split("fashion-mnist", "train"))
    images, labels = gen.sample(n, 0, ctx)
    pixels = (images * 255).round().to(torch.uint8)[:, 0].numpy()
    write_pngs(work / "pngs", pixels, labels.numpy())
    np.savez(work / "samples.npz", images=pixels, labels=labels.numpy())
    records, times = {}, {}
    for kind, path in (("generator file", generator), ("png folder", work / "pngs"), ("npz", work / "samples.npz")):
        records[kind], times[kind] = timed(lambda p=path, k=kind: evaluate(
            p, suite.name, seeds=[0], out_dir=work / "results" / k.replace(" ", "-"), options=RunOptions()))
    base = records["generator file"]
    same = {kind: {"raw_scores": r.raw_scores == base.raw_scores, "cs": r.cs == base.cs, "cas": r.cas == base.cas,
                   "per_class": r.per_class == base.per_class,
                   "teacher_metrics": r.metrics["teacher"] == base.metrics["teacher"]}
            for kind, r in records.items() if kind != "generator file"}
    return {"suite": suite.name, "protocol": base.protocol["name"], "samples": n, "seed": 0,
            "cs": {k: r.cs for k, r in records.items()}, "cas": {k: r.cas["scores"][0] for k, r in records.items()},
            "identical": same, "run": times, "timings_s": {k: r.timings_s for k, r in records.items()}}


def reading_cost(work: Path, seed_s: float | None) -> dict:
    train = load_split("fashion-mnist", "train")
    base = (train.images[:50_000, 0] * 255).round().to(torch.uint8).numpy()
    padded = np.pad(base, ((0, 0), (2, 2), (2, 2)))
    rgb = np.stack([padded, 255 - padded, padded // 2 + 64], axis=-1)  # three different channels
    folder = work / "cifar-sized"
    _, written = timed(lambda: write_pngs(folder, rgb, train.labels[:50_000].numpy()))
    size = sum(p.stat().st_size for p in folder.glob("*.png"))
    shape = (3, 32, 32)
    inspected, inspect_t = timed(lambda: inspect(folder, shape, 10))
    _, read_t = timed(lambda: read_slice(inspected, slice(0, 50_000), 8192))
    out = {"images": 50_000, "image_size": "32x32 RGB", "png_bytes": size, "writing": written,
           "inspect (hash + decode every file)": inspect_t, "read a seed's slice (decode)": read_t}
    if seed_s:
        out["seed_s"] = seed_s
        out["fraction_of_seed"] = round((inspect_t["wall_s"] + read_t["wall_s"]) / seed_s, 4)
    return out


def markdown(result: dict) -> str:
    lines = [f"# Samples files at full size ({result['date']})", "", result["machine"], ""]
    eq = result.get("equality")
    if eq:
        lines += [f"## Equality: {eq['samples']:,} samples, {eq['suite']}, protocol {eq['protocol']}, seed 0", "",
                  "| input | CS | CAS | wall s | CPU s |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {k} | {eq['cs'][k]:.6f} | {eq['cas'][k]:.6f} | {eq['run'][k]['wall_s']:.0f} | "
                  f"{eq['run'][k]['cpu_s']:.0f} |" for k in eq["cs"]]
        lines += ["", "Identical to the generator file's record: " + "; ".join(
            f"{k}: " + ", ".join(f"{f} {'yes' if v else 'NO'}" for f, v in checks.items())
            for k, checks in eq["identical"].items()), ""]
    cost = result["reading"]
    lines += ["## Reading 50,000 CIFAR-sized PNGs", "", "| step | wall s | CPU s |", "|---|---:|---:|"]
    lines += [f"| {k} | {v['wall_s']:.1f} | {v['cpu_s']:.1f} |" for k, v in cost.items() if isinstance(v, dict)]
    if "fraction_of_seed" in cost:
        lines += ["", f"Inspecting and reading together: {cost['fraction_of_seed']:.1%} of one Fashion-MNIST seed's "
                  f"wall time here ({cost['seed_s']:.0f} s, the generator file's seed in part 1)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--skip-equality", action="store_true")
    parser.add_argument("--machine", default=f"{os.cpu_count()} CPU cores, torch {torch.__version__}, "
                        f"{torch.get_num_threads()} threads")
    args = parser.parse_args()
    result = {"date": time.strftime("%Y-%m-%d"), "machine": args.machine}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.skip_equality:
            result["equality"] = equality(work)
        seed_s = result.get("equality", {}).get("timings_s", {}).get("generator file", {}).get("total")
        result["reading"] = reading_cost(work, seed_s)
    stem = args.out / f"samples-{result['date']}"
    atomic_write_text(stem.with_suffix(".json"), json.dumps(result, indent=2) + "\n")
    atomic_write_text(stem.with_suffix(".md"), markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
