"""Sampling cost of shipped generator files: wall and CPU seconds for n samples on one CPU thread, and the same
scaled to the 50,000 samples a fashion-mnist seed draws.

    python benchmarks/bench_sampling.py generators/fashion_mnist/ddpm_ddim10.py generators/fashion_mnist/cvae.py
    python benchmarks/bench_sampling.py --n 2000 generators/fashion_mnist/ddpm_ddim10.py   # then scaled

The files run in this process (they are the project's own; the harness runs strangers' files sandboxed), seed
0, after one small warm-up draw; those that declare needs_train_data get the training split, and their time
includes whatever they fit on it per draw. CPU seconds are the measure to compare on a shared machine: the wall time
there depends on what else runs. Writes benchmarks/results/sampling-fashion-mnist.md and .json, keeping the
rows of files not measured this time.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from csbench.cache import atomic_write_text
from csbench.data import load_split
from csbench.generators import SampleContext, load_generator_file
from csbench.tables import markdown_table

OUT = Path(__file__).resolve().parent / "results" / "sampling-fashion-mnist"
SEED_SAMPLES = 50_000


def measure(path: Path, n: int) -> dict:
    gen = load_generator_file(path)
    train = load_split("fashion-mnist", "train") if gen.needs_train_data else None
    ctx = SampleContext("fashion-mnist", (1, 28, 28), 10, path.parent, train=train)
    gen.sample(10, 1, ctx)  # loads the weights
    wall, cpu = time.perf_counter(), time.process_time()
    gen.sample(n, 0, ctx)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    scale = SEED_SAMPLES / n
    return {"generator": gen.name, "file": path.name, "n": n, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "cpu_s_per_50k": round(cpu * scale), "wall_s_per_50k": round(wall * scale),
            "load_average": round(os.getloadavg()[0], 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--n", type=int, default=SEED_SAMPLES, help="samples to time (scaled to 50,000)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    stored = json.loads(OUT.with_suffix(".json").read_text()) if OUT.with_suffix(".json").is_file() else {}
    rows = {row["file"]: row for row in stored.get("rows", [])}
    for path in args.files:
        rows[path.name] = measure(path, args.n)
        print(rows[path.name], flush=True)
    ordered = [rows[k] for k in sorted(rows)]
    atomic_write_text(OUT.with_suffix(".json"), json.dumps({"threads": 1, "rows": ordered}, indent=1) + "\n")
    table = markdown_table(["generator", "samples timed", "wall s", "CPU s", "CPU s per 50,000", "wall s per 50,000",
                            "load average"],
                           [[f"`{r['generator']}`", f"{r['n']:,}", f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}",
                             f"{r['cpu_s_per_50k']:,}", f"{r['wall_s_per_50k']:,}", f"{r['load_average']:g}"]
                            for r in ordered])
    atomic_write_text(OUT.with_suffix(".md"), "\n".join([
        "# Sampling cost of the fashion-mnist generators", "",
        "Written by `benchmarks/bench_sampling.py`: seed 0 on one CPU thread of a shared 2-core machine (load "
        "average at the end of each measurement in the last column), scaled linearly to the 50,000 samples of "
        "a seed where fewer were timed. Compare CPU seconds; wall seconds depend on the other work.", "",
        table, ""]))


if __name__ == "__main__":
    main()
