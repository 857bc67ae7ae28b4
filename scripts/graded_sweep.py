"""Development study: which `graded` recipe grades best with the suite's student (not part of the test suite).

Trains the student on teacher-labelled sets from the repository's own generator files (trusted, so imported
in-process rather than sandboxed) under variants of `graded`, and reports each set's student accuracy and its
ratio to real data's. The recipe to keep separates `real_ten_per_class` from `real_data` most, relative to
seed noise. Writes benchmarks/results/graded-sweep.{json,md}.

    python scripts/graded_sweep.py --lr 1e-3 3e-4 1e-4 --sets real_data real_ten_per_class uniform_noise --seeds 0
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"


def draw(name: str, seed: int, n: int):
    from csbench.data import load_split
    from csbench.generators import SampleContext, check_samples, load_generator_file
    from csbench.suites import get_suite

    suite = get_suite("fashion-mnist")
    gen = load_generator_file(next(ROOT.glob(f"generators/**/{name}.py")) if name.startswith("acgan")
                              else ROOT / "generators" / f"{name}.py")
    ctx = SampleContext(suite=suite.name, shape=suite.image_shape, num_classes=10,
                        directory=gen.path.parent, train=load_split("fashion-mnist", "train"))
    return check_samples(gen.sample(n, seed, ctx), n, suite.image_shape)


def run(job: tuple[str, float, int]) -> dict:
    from csbench.compression import pixel_mean, student_inputs, train_student
    from csbench.data import load_split
    from csbench.suites import get_suite
    from csbench.teacher import load_teacher, predict_logits

    torch.set_num_threads(1)
    name, lr, seed = job
    suite = get_suite("fashion-mnist")
    protocol = dataclasses.replace(suite.protocol("graded"), lr=lr)
    train, test = load_split("fashion-mnist", "train"), load_split("fashion-mnist", "test")
    samples = train.images[: protocol.samples] if name == "reference" else draw(name, seed, protocol.samples)
    t0 = time.perf_counter()
    logits = predict_logits(load_teacher(suite), samples)
    mean = pixel_mean(train.images)
    student = train_student(suite, protocol, student_inputs(samples, mean), logits, seed, label=f"{name} lr {lr:g}")
    acc = (predict_logits(student, student_inputs(test.images, mean)).argmax(1) == test.labels).float().mean().item()
    return {"set": name, "lr": lr, "seed": seed, "accuracy": acc, "seconds": time.perf_counter() - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lr", type=float, nargs="+", required=True)
    parser.add_argument("--sets", nargs="+", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="graded-sweep")
    args = parser.parse_args()
    jobs = [(name, lr, seed) for lr in args.lr for seed in args.seeds for name in ["reference", *args.sets]]
    path = OUT / f"{args.out}.json"
    done = json.loads(path.read_text()) if path.is_file() else []
    have = {(r["set"], r["lr"], r["seed"]) for r in done}
    jobs = [j for j in jobs if j not in have]
    with mp.get_context("spawn").Pool(args.workers) as pool:
        for result in pool.imap_unordered(run, jobs):
            done.append(result)
            print(json.dumps(result), flush=True)
            path.write_text(json.dumps(done, indent=1) + "\n")
    write_table(done, OUT / f"{args.out}.md")


def write_table(results: list[dict], path: Path) -> None:
    lines = ["# `graded` recipes with the authors' student (fashion-mnist)", "",
             "Student test accuracy per set and its ratio to the reference (the first 50,000 real training images); "
             "one row per learning rate, mean over seeds (n: how many). Written by scripts/graded_sweep.py.", ""]
    sets = list(dict.fromkeys(r["set"] for r in results))
    lines += ["| lr | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for lr in sorted({r["lr"] for r in results}, reverse=True):
        ref = np.mean([r["accuracy"] for r in results if r["lr"] == lr and r["set"] == "reference"] or [np.nan])
        cells = []
        for s in sets:
            accs = [r["accuracy"] for r in results if r["lr"] == lr and r["set"] == s]
            cells.append(f"{np.mean(accs):.4f} (CS {np.mean(accs) / ref:.3f}, n={len(accs)})" if accs else "–")
        lines.append(f"| {lr:g} | " + " | ".join(cells) + " |")
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
