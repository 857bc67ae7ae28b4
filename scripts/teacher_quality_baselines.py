"""Teacher-space sample-quality metrics of real and noise images on a suite, with the seconds each takes.

Runs the metrics alone (no student training), against the suite's reference split:
    python scripts/teacher_quality_baselines.py --suite fashion-mnist --n 10000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from csbench.data import load_split
from csbench.features import teacher_space
from csbench.generators import SampleContext, load_generator_file
from csbench.quality import sample_quality
from csbench.suites import get_suite
from csbench.teacher import load_teacher
from csbench.timing import Timings

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", default="fashion-mnist")
    parser.add_argument("--n", type=int, help="samples for IS/FID (default: the suite's quality_samples)")
    parser.add_argument("--n-pairwise", type=int, help="samples for KID/PRDC (default: the suite's prdc_samples)")
    args = parser.parse_args()
    suite = get_suite(args.suite)
    suite = dataclasses.replace(suite, quality_samples=args.n or suite.quality_samples,
                                prdc_samples=args.n_pairwise or min(suite.prdc_samples, args.n or suite.prdc_samples))
    splits = {s: load_split(suite.dataset, s) for s in ("train", "test")}
    spaces = {"teacher": teacher_space(suite, load_teacher(suite))}
    ctx = SampleContext(suite=suite.name, shape=suite.image_shape, num_classes=suite.num_classes,
                        directory=ROOT / "generators", train=splits["train"])
    sets = {"real test split": lambda: splits["test"].images}
    for name in ("real_data", "uniform_noise"):
        gen = load_generator_file(ROOT / "generators" / f"{name}.py")
        sets[f"{name}.py seed 0"] = lambda gen=gen: gen.sample(suite.quality_samples, 0, ctx)
    for label, draw in sets.items():
        samples = draw()
        samples = samples[0] if isinstance(samples, tuple) else samples
        timings = Timings()
        t0 = time.perf_counter()
        metrics = sample_quality(suite, spaces, samples, splits, "cpu", timings)["teacher"]
        metrics.pop("network_sha256")
        print(json.dumps({"samples": label, **metrics, "seconds": {k: round(v, 2) for k, v in timings.items()},
                          "total_seconds": round(time.perf_counter() - t0, 2)}))


if __name__ == "__main__":
    main()
