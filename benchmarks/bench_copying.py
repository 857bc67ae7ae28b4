"""Cost and values of the data-copying measures (csbench.metrics.copying) on real Fashion-MNIST.

    python benchmarks/bench_copying.py              # 50,000 and 10,000 samples per case, one thread
    python benchmarks/bench_copying.py --cases fgh  # only these cases; the other stored rows are kept
    python benchmarks/bench_copying.py --reflag     # re-apply the current flag rule to the stored rows
    python benchmarks/bench_copying.py --test-split [--cases ...]  # the same cases against the test split

Samples against the 60,000 training images, held-out = the 10,000 test images, in the teacher's feature
space and in pixel space, for five stand-in generators: (a) training images, (b) ten training images per
class repeated, (c) test images (the held-out set is then the other half of the test split, so that the
samples are fresh), (d) training images blurred over 3x3, (e) uniform noise; and three that place the flag
rule: (f) test images blurred (blurry but nothing copied: the control for (d)), (g) 10% training images
among test images (a partial copier), (h) training images plus Gaussian pixel noise (jittered copies).
With --test-split, the splits' roles swap as in csbench.quality.copy_detection's "test_split" entry: samples
against the 10,000 test images, held-out = the 60,000 training images (which a generator may copy), 10,000
samples per case: what leaks the test split must be flagged, what copies the training split must not. The flag
there is the rate rule alone (is_copying(by_ct=False)), as in the records.
Runs on one thread so that it does not starve a shared machine. Writes
benchmarks/results/copying-fashion-mnist.md and .json (copying-test-split-fashion-mnist with --test-split).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

from csbench.cache import atomic_write_text
from csbench.data import load_split
from csbench.metrics.copying import copy_measures_against, copy_reference, is_copying
from csbench.suites import get_suite
from csbench.teacher import load_teacher, predict_features

OUT = Path(__file__).resolve().parent / "results" / "copying-fashion-mnist"
TEST_SPLIT_OUT = OUT.with_name("copying-test-split-fashion-mnist")
SIZES = (50_000, 10_000)
SPACES = ("teacher", "pixel")


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def blur(images: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(images, 3, stride=1, padding=1, count_include_pad=False)


def flat(images: torch.Tensor) -> torch.Tensor:
    return images.reshape(len(images), -1)


def features_of(teacher, images: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return predict_features(teacher, images)[0]


def main(letters: str, test_split: bool = False) -> None:
    """Measure the cases named by `letters` (e.g. "abcdefgh"); rows of other cases already stored are kept. With
    `test_split`, against the test split, calibrated on the training split."""
    torch.set_num_threads(1)
    load_before = os.getloadavg()[0]
    train, test = load_split("fashion-mnist", "train"), load_split("fashion-mnist", "test")
    teacher = load_teacher(get_suite("fashion-mnist"))
    costs: dict[str, float] = {}
    train_f, costs["teacher features, 60,000 train"] = timed(features_of, teacher, train.images)
    test_f, costs["teacher features, 10,000 test"] = timed(features_of, teacher, test.images)
    space = {"teacher": {"train": train_f, "test": test_f},
             "pixel": {"train": flat(train.images), "test": flat(test.images)}}
    order = torch.randperm(len(test.images), generator=torch.Generator().manual_seed(1))
    calib, fresh = order[: len(order) // 2], order[len(order) // 2 :]
    refs, refs_c = {}, {}
    for s in SPACES:
        if test_split:
            refs[s], costs[f"{s} test-split reference (60,000 training images held out: NN + k-means)"] = timed(
                copy_reference, space[s]["test"], space[s]["train"])
            refs_c[s] = refs[s]
            continue
        refs[s], costs[f"{s} reference (10,000 held-out: NN + k-means)"] = timed(
            copy_reference, space[s]["train"], space[s]["test"])
        refs_c[s], costs[f"{s} reference, cases c f g (5,000 held-out)"] = timed(
            copy_reference, space[s]["train"], space[s]["test"][calib])
    sizes = (min(SIZES),) if test_split else SIZES

    g = torch.Generator().manual_seed(0)
    n = max(sizes)
    distinct = torch.randperm(len(train.images), generator=g)[:n]
    per_class = torch.cat([torch.nonzero(train.labels == c).squeeze(1)[torch.randperm(
        int((train.labels == c).sum()), generator=g)[:10]] for c in range(10)])
    repeated = per_class[torch.randint(len(per_class), (n,), generator=g)]
    noise = torch.rand((n, *train.images.shape[1:]), generator=g)
    jitter = 0.05 * torch.randn((min(SIZES), *train.images.shape[1:]), generator=torch.Generator().manual_seed(2))
    copies = lambda i: (train_f[i], space["pixel"]["train"][i])  # noqa: E731
    cases = {  # letter -> (name, images or (features, pixels), references)
        "a": ("(a) training images", copies(distinct), refs),
        "b": ("(b) 10 training images per class, repeated", copies(repeated), refs),
        "c": ("(c) test images (held-out = other half)", (test_f[fresh], space["pixel"]["test"][fresh]), refs_c),
        "d": ("(d) training images, 3x3 blur", lambda: blur(train.images[distinct]), refs),
        "e": ("(e) uniform noise", lambda: noise, refs),
        "f": ("(f) test images, 3x3 blur (held-out = other half)", lambda: blur(test.images[fresh]), refs_c),
        "g": ("(g) 10% training images among test images (held-out = other half)",
              lambda: torch.cat([train.images[distinct[: len(fresh) // 10]], test.images[fresh[len(fresh) // 10 :]]]),
              refs_c),
        "h": ("(h) training images + N(0, 0.05) pixel noise",
              lambda: (train.images[distinct[: min(SIZES)]] + jitter).clamp(0, 1), refs),
    }
    rows = []
    for letter in letters:
        name, data, r = cases[letter]
        if callable(data):
            images = data()
            features, costs[f"teacher features, case ({letter}), {len(images):,} images"] = timed(
                features_of, teacher, images)
            data = (features, flat(images))
        for size in sizes if len(data[0]) > min(sizes) else (len(data[0]),):
            for s, x in zip(SPACES, data):
                m, seconds = timed(copy_measures_against, x[:size], r[s])
                flag = is_copying(m, by_ct=not test_split)
                rows.append({"case": name, "space": s, "samples": size, "seconds": round(seconds, 2),
                             "flag": flag, **m})
                print(f"{name[:40]:40s} {s:8s} n={size:6d} {seconds:6.1f}s rate {m['copy_rate']:.4f} "
                      f"held-out {m['heldout_copy_rate']:.4f} ratio {m['median_distance_ratio']:.3f} "
                      f"C_T {m['ct']:.2f} flag {flag}", flush=True)
    out = TEST_SPLIT_OUT if test_split else OUT
    path = out.with_suffix(".json")
    result = json.loads(path.read_text()) if path.is_file() else {"rows": [], "runs": []}
    run = {"cases": letters, "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
           "load_average_before": round(load_before, 2), "load_average_after": round(os.getloadavg()[0], 2),
           "costs_s": {k: round(v, 2) for k, v in costs.items()}}
    measured = {row["case"] for row in rows}
    result = {**({"test_split": True} if test_split else {}),
              "runs": [x for x in result["runs"] if set(x["cases"]) - set(letters)] + [run],
              "rows": sorted([x for x in result["rows"] if x["case"] not in measured] + rows,
                             key=lambda x: (x["case"], -x["samples"], SPACES.index(x["space"])))}
    atomic_write_text(path, json.dumps(result, indent=1) + "\n")
    atomic_write_text(out.with_suffix(".md"), markdown(result))


def _f(v, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def markdown(result: dict) -> str:
    setting = ("Samples against the 10,000 test images; held-out = the 60,000 training images (the copy test's "
               "\"test_split\" entry: a flag means the samples copy the test split). Cases c, f, g are built from "
               "5,000 test images." if result.get("test_split") else
               "60,000 training images; held-out = the 10,000 test images (cases c, f, g: 5,000 of them, the "
               "samples being built from the other 5,000).")
    title = "Test-split copying measures" if result.get("test_split") else "Data-copying measures"
    lines = [f"# {title}: cost and values on Fashion-MNIST", "",
             f"One torch / BLAS thread. {setting} Copy rate at the 1% quantile of "
             "one held-out half; held-out rate = the other half against that threshold; C_T over 50 k-means "
             "cells, cells with under 20 samples skipped. `s`: seconds of `copy_measures_against` (sample NN "
             "search, cell assignment, C_T), the reference being prebuilt.", "",
             "| case | space | samples | s | copy rate | held-out rate | exact copies | median NN ratio | C_T "
             "| cells (sample share) | flag |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['case']} | {r['space']} | {r['samples']:,} | {r['seconds']:.1f} | {r['copy_rate']:.4f} "
                     f"| {r['heldout_copy_rate']:.4f} | {r['exact_copy_rate']:.4f} | "
                     f"{_f(r['median_distance_ratio'], '.3f')} | {_f(r['ct'], '.1f')} | {r['ct_cells']} "
                     f"({r['ct_sample_share']:.2f}) | {'**copying**' if r['flag'] else 'no'} |")
    lines += ["", "Thresholds (copy-rate quantile over calibration half) per reference: " + ", ".join(
        sorted({f"{r['space']} {r['threshold']:.3f}" for r in result["rows"]})), "",
        "## Runs and costs outside the per-sample measures", ""]
    for run in result["runs"]:
        lines += [f"Cases {', '.join(run['cases'])}: {run['threads']} thread(s) on a {run['cpu_count']}-core "
                  f"machine, load average before/after {run['load_average_before']} / {run['load_average_after']} "
                  "(1-min; above the core count, other work shared the cores and timings are inflated).", "",
                  "| step | s |", "|---|---:|"] + [f"| {k} | {v:.1f} |" for k, v in run["costs_s"].items()] + [""]
    return "\n".join(lines)


def remark() -> None:
    """Re-apply the current `is_copying` rule to the stored rows and rewrite the files (no measuring)."""
    for out in (OUT, TEST_SPLIT_OUT):
        if not out.with_suffix(".json").is_file():
            continue
        result = json.loads(out.with_suffix(".json").read_text())
        for row in result["rows"]:
            row["flag"] = is_copying(row, by_ct=not result.get("test_split"))
        atomic_write_text(out.with_suffix(".json"), json.dumps(result, indent=1) + "\n")
        atomic_write_text(out.with_suffix(".md"), markdown(result))


if __name__ == "__main__":
    args = sys.argv[1:]
    if args == ["--reflag"]:
        remark()
    else:
        test_split = "--test-split" in args
        args = [a for a in args if a != "--test-split"]
        with threadpool_limits(1):
            main(args[1] if args[:1] == ["--cases"] else "abcdefgh", test_split)
