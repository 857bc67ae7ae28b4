"""Time a Compression Score evaluation stage by stage on this machine, beside pytorch-fid's feature loop.

    python benchmarks/bench_evaluation.py                          # fashion-mnist, default protocol, seed 0
    python benchmarks/bench_evaluation.py --protocol paper --seeds 0 1 2
    python benchmarks/bench_evaluation.py --stability 5 --generators generators/real_data.py gan.py
    python benchmarks/bench_evaluation.py --batching graded paper --seeds 0 1 2 --name batching
    python benchmarks/bench_evaluation.py --units budget gan-mc --skip-evaluation --generator gan.py --name budget

Writes benchmarks/results/<machine>.json and .md (`--name` overrides the machine name). Not part of the test
suite: a full run trains one student per seed. Timings on a shared machine are inflated: the JSON keeps the
load average before and after the run so that readers can tell.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import multiprocessing
import os
import platform
import re
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from PIL import Image

import csbench.evaluate
from csbench.budget import BudgetUnit, Mix, budgets_for, evaluate_budget_unit, unit_references
from csbench.cache import atomic_write_text, data_root
from csbench.compression import batch_order, build_student
from csbench.data import load_split
from csbench.evaluate import RunOptions, Unit, evaluate_unit, evaluate_units
from csbench.features import extract, teacher_space
from csbench.sources import SandboxedFile
from csbench.stats import ratio_interval
from csbench.suites import BUDGETS, Protocol, Suite, get_suite
from csbench.teacher import load_teacher

ROOT = Path(__file__).resolve().parents[1]

STAGES = {  # timing key in a seed record -> row label
    "sampling": "sampling (sandboxed child)",
    "labelling": "teacher labelling (+ teacher features, one pass, on the metrics seed)",
    "training": "student training",
    "scoring": "test scoring",
    "reference": "reference score (cached after its first run)",
    "metrics.teacher.reference": "teacher reference statistics (cached after their first run)",
    "metrics.teacher.features": "teacher feature pass (~0: done by the labelling pass)",
    "metrics.teacher.is": "IS",
    "metrics.teacher.fid": "FID",
    "metrics.teacher.kid": "KID",
    "metrics.teacher.prdc": "PRDC",
    "metrics.inception.reference": "Inception reference statistics",
    "metrics.inception.features": "Inception feature pass",
    "total": "total (seed record)",
}


def peak_rss_mib() -> dict:
    """Peak resident memory of this process and of its largest child (the sandboxed samplers), MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"harness": round(own), "largest_child": round(children)}


def machine(device: str) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "device": device, "python": platform.python_version()}
    if torch.device(device).type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def machine_name(info: dict) -> str:
    """A file name that says what ran it: "cpu-2c-amd-epyc" or "cuda-nvidia-h100-80gb-hbm3"."""
    what = info["gpu"] if "gpu" in info else f"{info['cores']}c-{info['cpu']}"
    kind = "cuda" if "gpu" in info else "cpu"
    return re.sub(r"[^a-z0-9]+", "-", f"{kind}-{what}".lower()).strip("-")[:60]


def time_evaluation(suite: Suite, protocol: Protocol, generator: Path, seeds: Sequence[int], options: RunOptions,
                    metrics: bool = True) -> dict:
    """Evaluate `generator` seed by seed (metrics on the first), as `csbench evaluate` does; keep every timing."""
    started = time.perf_counter()
    records = [evaluate_unit(Unit(SandboxedFile(generator), suite, protocol, seed, metrics=metrics and i == 0,
                                  options=options)) for i, seed in enumerate(seeds)]
    wall = time.perf_counter() - started
    cs, half = ratio_interval([r.raw_score for r in records], [r.reference_score for r in records])
    return {"generator": str(generator), "protocol": protocol.to_dict(), "seeds": list(seeds),
            "per_seed_s": [r.timings_s for r in records], "wall_s": round(wall, 3),
            "raw_scores": [r.raw_score for r in records],
            "reference_scores": [r.reference_score for r in records], "cs": cs, "cs_half_width": half,
            "peak_rss_mib": peak_rss_mib()}


def time_budget_units(suite: Suite, protocol: Protocol, generator: Path, seeds: Sequence[int], options: RunOptions,
                      mix: Mix, budgets: Sequence[int]) -> dict:
    """One budget or GAN-MC unit per seed, as `evaluate-all --budget/--gan-mc` runs them: the unit's students (and
    its sampling and labelling) apart from its real-subset references, which are trained once per seed and budget
    and then cached, timed on their own first."""
    budgets = budgets_for(protocol, mix, budgets)
    runs = []
    for seed in seeds:
        unit = BudgetUnit(SandboxedFile(generator), suite, protocol, seed, mix, budgets, options)
        references, reference_s, reference_cpu_s = _timed(unit_references, unit)
        record, wall_s, cpu_s = _timed(evaluate_budget_unit, dataclasses.replace(unit, references=references))
        runs.append({"seed": seed, "timings_s": record.timings_s, "wall_s": wall_s, "cpu_s": cpu_s,
                     "references_wall_s": reference_s, "references_cpu_s": reference_cpu_s, "scores": record.scores,
                     "reference_scores": record.reference_scores})
    return {"generator": str(generator), "mix": mix.value, "protocol": protocol.to_dict(), "budgets": list(budgets),
            "steps_per_student": record.steps, "generated": record.generated, "seeds": runs,
            "peak_rss_mib": peak_rss_mib()}


def _timed(call, *args):
    """`call(*args)`, its wall seconds and the CPU seconds of this process and its finished children (the sandboxed
    samplers), rounded to milliseconds."""

    def cpu_s() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    wall, cpu = time.perf_counter(), cpu_s()
    value = call(*args)
    return value, round(time.perf_counter() - wall, 3), round(cpu_s() - cpu, 3)


class _PytorchFidModel(torch.nn.Module):
    """The teacher's feature extractor in pytorch-fid's model contract: a list whose first entry is (B, d, 1, 1).
    pytorch-fid reads images as RGB; the grey suites' teacher sees the first channel, the same values."""

    def __init__(self, teacher: torch.nn.Module, channels: int):
        super().__init__()
        self.teacher, self.channels = teacher, channels

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.teacher.features(x[:, : self.channels])[:, :, None, None]]


def _pytorch_fid_png(model: torch.nn.Module, images: torch.Tensor, dims: int, batch_size: int, device: str,
                     workers: int) -> tuple[np.ndarray, float]:
    """pytorch-fid's own `get_activations` over image files, as `python -m pytorch_fid` runs it."""
    from pytorch_fid.fid_score import get_activations

    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, img in enumerate((images * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()):
            files.append(Path(tmp) / f"{i:06d}.png")
            Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img).save(files[-1])
        t0 = time.perf_counter()
        features = get_activations(files, model, batch_size=batch_size, dims=dims, device=device, num_workers=workers)
        return features, time.perf_counter() - t0


def _pytorch_fid_loop_in_memory(model: torch.nn.Module, images: torch.Tensor, batch_size: int,
                                device: str) -> tuple[np.ndarray, float]:
    """pytorch-fid's loop body (DataLoader, no_grad, squeeze, copy into a float64 array) over in-memory tensors."""
    t0 = time.perf_counter()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images), batch_size=batch_size,
                                         shuffle=False, drop_last=False, num_workers=0)
    out, start = None, 0
    model.eval()
    for (batch,) in loader:
        with torch.no_grad():
            pred = model(batch.to(device))[0].squeeze(3).squeeze(2).cpu().numpy()
        if out is None:
            out = np.empty((len(images), pred.shape[1]))
        out[start : start + len(pred)] = pred
        start += len(pred)
    return out, time.perf_counter() - t0


def time_feature_pass(suite: Suite, teacher: torch.nn.Module, images: torch.Tensor, device: str, repeats: int,
                      workers: int = 0) -> dict:
    """csbench's teacher-space feature pass against pytorch-fid's, on the same images, network and batch size.

    The three loops run in turn, `repeats` times; the best time of each counts (least disturbed by other load).
    """
    space = teacher_space(suite, teacher)
    model = _PytorchFidModel(teacher, suite.image_shape[0]).to(device)
    best: dict[str, float] = {}
    outputs: dict[str, np.ndarray] = {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        outputs["csbench"], _ = extract(space, images, device)
        runs = {"csbench": time.perf_counter() - t0}
        outputs["pytorch_fid_files"], runs["pytorch_fid_files"] = _pytorch_fid_png(
            model, images, outputs["csbench"].shape[1], space.batch_size, device, workers)
        outputs["pytorch_fid_loop_in_memory"], runs["pytorch_fid_loop_in_memory"] = _pytorch_fid_loop_in_memory(
            model, images, space.batch_size, device)
        for key, seconds in runs.items():
            best[key] = min(best.get(key, float("inf")), seconds)
    return {
        "images": len(images), "batch_size": space.batch_size, "repeats": repeats, "dataloader_workers": workers,
        "network": space.description,
        "seconds": {k: round(v, 3) for k, v in best.items()},
        "images_per_s": {k: round(len(images) / v, 1) for k, v in best.items()},
        "max_abs_feature_difference": {k: float(np.abs(v - outputs["csbench"]).max()) for k, v in outputs.items()
                                       if k != "csbench"},
    }


def seed_summary(seeds: list[int], raw: list[float], reference: list[float], seconds: list[float]) -> dict:
    """CS per seed in points (raw / reference of the same seed) and its spread, beside the raw scores' spread and
    the spread CS per seed would have against one fixed reference (the mean of the seeds' references), which
    separates the generator's seed noise from the reference student's."""
    per_seed = [100 * a / b for a, b in zip(raw, reference)]
    cs, half = ratio_interval(raw, reference)
    spread = len(seeds) > 1
    return {"seeds": seeds, "raw_scores": raw, "reference_scores": reference,
            "cs_points_per_seed": [round(v, 3) for v in per_seed],
            "cs_points_mean": round(float(np.mean(per_seed)), 3),
            "cs_points_std": round(float(np.std(per_seed, ddof=1)), 3) if spread else None,
            "raw_points_std": round(100 * float(np.std(raw, ddof=1)), 3) if spread else None,
            "cs_points_std_fixed_reference": (round(100 * float(np.std(raw, ddof=1) / np.mean(reference)), 3)
                                              if spread else None),
            "cs": cs, "cs_half_width": half, "seconds_per_seed": seconds}


def stability(suite: Suite, protocol: Protocol, generators: Sequence[Path], seeds: Sequence[int], device: str,
              data_root: Path | None = None, workers: int = 1) -> dict:
    """CS per seed (raw / reference of the same seed, in points) and across seeds, for each generator.
    With `workers` > 1 the (generator, seed) units run in that many processes, each with an equal share of the
    threads; a seed's reference student is trained once, by whichever process needs it first."""
    units = [(gen, seed) for gen in generators for seed in seeds]
    threads = max(1, torch.get_num_threads() // workers)
    started = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=torch.set_num_threads, initargs=(threads,)) as pool:
        options = RunOptions(device, data_root=data_root)
        records = list(pool.map(evaluate_unit, [Unit(SandboxedFile(gen), suite, protocol, seed, options=options)
                                                for gen, seed in units]))
    out = {"workers": workers, "threads_per_worker": threads, "wall_s": round(time.perf_counter() - started, 1),
           "generators": {}}
    for gen in generators:
        mine = [r for (g, _), r in zip(units, records) if g == gen]
        out["generators"][Path(gen).stem] = {
            **seed_summary(list(seeds), [r.raw_score for r in mine], [r.reference_score for r in mine],
                           [r.timings_s["total"] for r in mine]),
            "stages_s_per_seed": [{k: round(v, 1) for k, v in r.timings_s.items()} for r in mine]}
    return out


def matmul_peak_gflops(size: int = 2048, repeats: int = 5) -> float:
    """This machine's fp32 matrix-product rate with torch's threads: the best of `repeats` square products."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def training_flops(suite: Suite, protocol: Protocol) -> float:
    """Floating-point operations of one training by the protocol: per sample and layer, the forward product, the
    weight gradient's product of the same size, and the input gradient's (not for the first layer, whose input
    needs none); multiply-adds count two, the elementwise work (pooling, ReLU, the optimiser) nothing."""
    per_sample = []
    with torch.device("meta"):
        student = build_student(suite)

        def count(module: torch.nn.Module, _, out: torch.Tensor) -> None:
            if isinstance(module, torch.nn.Conv2d):
                per_sample.append(2 * out[0].numel() * module.in_channels * math.prod(module.kernel_size))
            elif isinstance(module, torch.nn.Linear):
                per_sample.append(2 * module.in_features * module.out_features)

        for module in student.modules():
            module.register_forward_hook(count)
        student(torch.empty(1, *suite.image_shape))
    flops = 3 * sum(per_sample) - per_sample[0]
    return flops * sum(len(b) for b in batch_order(protocol.samples, protocol, 0))


@contextmanager
def timed_trainings() -> Iterator[dict]:
    """Wall and CPU time of every student training an evaluation starts, and the size of each group."""
    trainings = {"wall_s": 0.0, "cpu_s": 0.0, "students": 0, "groups": []}
    original = csbench.evaluate.train_students

    def timed(suite, protocol, jobs, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        students = original(suite, protocol, jobs, *args, **kwargs)
        trainings["wall_s"] += time.perf_counter() - wall
        trainings["cpu_s"] += time.process_time() - cpu
        trainings["students"] += len(jobs)
        trainings["groups"].append(len(jobs))
        return students

    csbench.evaluate.train_students = timed
    try:
        yield trainings
    finally:
        csbench.evaluate.train_students = original


def time_batching(suite: Suite, protocol: Protocol, generator: Path, seeds: Sequence[int], device: str,
                  peak_gflops: float, metrics: bool) -> dict:
    """One cold evaluation of `generator` over `seeds`, its students trained one at a time and then batched: each
    in a fresh cache, so that the reference students and the teacher's labels are computed too. The trainings are
    timed where the evaluation calls them; their throughput is given as a share of the matmul peak."""
    runs = {}
    for mode, per_batch in (("one_at_a_time", 1), ("batched", 3 * len(seeds))):  # every student of the run at once
        os.environ["CSBENCH_HOME"] = tempfile.mkdtemp(prefix=f"csbench-bench-{mode}-")
        options = RunOptions(device=device, students_per_batch=per_batch)
        with timed_trainings() as trainings:
            wall, cpu = time.perf_counter(), time.process_time()
            records = evaluate_units([Unit(SandboxedFile(generator), suite, protocol, seed, metrics=metrics and i == 0,
                                           options=options) for i, seed in enumerate(seeds)])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        gflops = training_flops(suite, protocol) * trainings["students"] / trainings["wall_s"] / 1e9
        runs[mode] = {
            "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "training_wall_s": round(trainings["wall_s"], 1), "training_cpu_s": round(trainings["cpu_s"], 1),
            "students": trainings["students"], "groups": trainings["groups"],
            "training_gflops": round(gflops, 2), "share_of_matmul_peak": round(gflops / peak_gflops, 3),
            "raw_scores": [r.raw_score for r in records], "reference_scores": [r.reference_score for r in records],
            "cas_scores": [r.cas["accuracy"] if r.cas else None for r in records],
        }
    alone, together = runs["one_at_a_time"], runs["batched"]
    deltas = [abs(a - b) for key in ("raw_scores", "reference_scores", "cas_scores")
              for a, b in zip(alone[key], together[key]) if a is not None]
    return {"protocol": protocol.to_dict(), "seeds": list(seeds), "generator": str(generator), **runs,
            "training_speedup": round(alone["training_wall_s"] / together["training_wall_s"], 2),
            "training_cpu_speedup": round(alone["training_cpu_s"] / together["training_cpu_s"], 2),
            "max_score_difference": max(deltas)}


def markdown(result: dict) -> str:
    """The JSON's numbers as tables: stages per seed, feature-pass throughput, stability."""
    m = result["machine"]
    lines = [f"# Evaluation benchmark: {result['name']}", "",
             f"{m['cpu']}, {m['cores']} cores, {m['torch_threads']} torch threads, device {m['device']}"
             f"{', ' + m['gpu'] if 'gpu' in m else ''}; torch {m['torch']}; {result['date']}.",
             f"Load average before/after: {result['load_average_before']} / {result['load_average_after']} "
             f"(1-min; above {m['cores']} means other work shared the cores and timings are inflated).", ""]
    ev = result.get("evaluation")
    if ev:
        p = ev["protocol"]
        lines += [f"## Stages: {Path(ev['generator']).stem}, `{p['name']}` protocol ({p['samples']:,} samples, "
                  f"{p['epochs']} epoch(s), batch {p['batch_size']}, {p['loss']}), {result['suite']}", "",
                  "| stage | " + " | ".join(f"seed {s} (s)" for s in ev["seeds"]) + " |",
                  "|---|" + "---:|" * len(ev["seeds"])]
        keys = [k for k in STAGES if any(k in t for t in ev["per_seed_s"])]
        keys += sorted({k for t in ev["per_seed_s"] for k in t} - set(keys))
        for k in keys:
            cells = [f"{t[k]:.1f}" if k in t else "" for t in ev["per_seed_s"]]
            lines.append(f"| {STAGES.get(k, k)} | " + " | ".join(cells) + " |")
        rss = ev["peak_rss_mib"]
        lines += ["", f"Whole run (all seeds, with data and teacher loading): {ev['wall_s']:.1f} s. "
                  f"CS {ev['cs']:.4f}. Peak memory (RSS): harness {rss['harness']} MiB, largest sandboxed child "
                  f"{rss['largest_child']} MiB.", ""]
    fp = result.get("feature_pass")
    if fp:
        lines += [f"## Teacher-space feature pass: {fp['images']:,} images, batch {fp['batch_size']}, best of "
                  f"{fp['repeats']}", "", "| loop | seconds | images/s | max abs feature difference |",
                  "|---|---:|---:|---:|"]
        names = {"csbench": "csbench `extract` (in-memory tensors, inference_mode)",
                 "pytorch_fid_files": f"pytorch-fid `get_activations` (PNG files, DataLoader, "
                                      f"{fp['dataloader_workers']} workers)",
                 "pytorch_fid_loop_in_memory": "pytorch-fid's loop over an in-memory DataLoader"}
        for k, seconds in fp["seconds"].items():
            diff = fp["max_abs_feature_difference"].get(k)
            lines.append(f"| {names[k]} | {seconds:.2f} | {fp['images_per_s'][k]:.0f} | "
                         f"{'' if diff is None else f'{diff:.1e}'} |")
        lines.append("")
    for u in result.get("units", []):
        p = u["protocol"]
        what = ("CS by budget: N generated samples" if u["mix"] == "generated" else
                f"GAN-MC: N real images alone and with {u['generated']:,} generated samples")
        lines += [f"## {what}: {Path(u['generator']).stem}, `{p['name']}` protocol, N in "
                  f"{', '.join(f'{b:,}' for b in u['budgets'])}", "",
                  f"Every student trains {'/'.join(map(str, u['steps_per_student']))} steps. The unit's students, "
                  "sampling and labelling; apart, its real-subset references (one student per budget and seed, "
                  "cached after their first run).", "",
                  "| seed | unit wall s | unit CPU s | sampling s | labelling s | references wall s | "
                  "references CPU s |", "|---:|---:|---:|---:|---:|---:|---:|"]
        for r in u["seeds"]:
            t = r["timings_s"]
            lines.append(f"| {r['seed']} | {r['wall_s']:.0f} | {r['cpu_s']:.0f} | {t.get('sampling', 0):.1f} | "
                         f"{t.get('labelling', 0):.1f} | {r['references_wall_s']:.0f} | {r['references_cpu_s']:.0f} |")
        lines.append("")
    st = result.get("stability")
    if st:
        lines += ["## Seed stability (CS in points: 100 x raw / reference of the same seed)", "",
                  "| generator | seeds | CS mean | CS std | CS std, fixed reference | raw std | s per unit |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for name, s in st["generators"].items():
            std, fixed, raw_std = ("" if s.get(k) is None else f"{s[k]:.2f}"
                                   for k in ("cs_points_std", "cs_points_std_fixed_reference", "raw_points_std"))
            lines.append(f"| {name} | {len(s['seeds'])} | {s['cs_points_mean']:.2f} | {std} | {fixed} | {raw_std} | "
                         f"{np.mean(s['seconds_per_seed']):.0f} |")
        lines += ["", "Std over seeds, in points. Fixed reference: raw / the mean of the seeds' references, i.e. "
                  "without the reference student's own seed noise. A unit's seconds include its seed's reference "
                  "student when that unit trained it.", "",
                  f"{st['workers']} process(es) of {st['threads_per_worker']} thread(s); wall {st['wall_s']:.0f} s "
                  "for all units, references included.", ""]
    batching = result.get("batching")
    if batching:
        lines += [f"## Students one at a time against batched: {Path(batching[0]['generator']).stem}, "
                  f"{len(batching[0]['seeds'])} seeds, cold cache", "",
                  f"fp32 matmul peak measured here: {result['matmul_peak_gflops']:.0f} GFLOP/s "
                  f"({result['machine']['torch_threads']} threads).", "",
                  "| protocol | samples | training | students (groups) | wall s | CPU s | training wall s | "
                  "training CPU s | GFLOP/s | share of peak |", "|---|---:|---|---|---:|---:|---:|---:|---:|---:|"]
        for b in batching:
            for mode in ("one_at_a_time", "batched"):
                r = b[mode]
                lines.append(f"| {b['protocol']['name']} | {b['protocol']['samples']:,} | {mode.replace('_', ' ')} | "
                             f"{r['students']} ({'+'.join(map(str, r['groups']))}) | {r['wall_s']:.0f} | "
                             f"{r['cpu_s']:.0f} | {r['training_wall_s']:.0f} | {r['training_cpu_s']:.0f} | "
                             f"{r['training_gflops']:.1f} | {100 * r['share_of_matmul_peak']:.0f} % |")
        lines += ["", "Training speed-up of batching (wall / CPU time): " + "; ".join(
            f"{b['protocol']['name']} {b['training_speedup']:.2f}x / {b['training_cpu_speedup']:.2f}x"
            for b in batching) + ". Largest per-seed score difference (raw, reference, CAS): " + "; ".join(
            f"{b['protocol']['name']} {100 * b['max_score_difference']:.2f} points" for b in batching) + ".",
            "GFLOP/s: the students' forward and backward products (csbench's LeNet, counted per layer) over "
            "the training wall time.", ""]
    return "\n".join(lines)


def write(result: dict, out_dir: Path) -> tuple[Path, Path]:
    json_path, md_path = out_dir / f"{result['name']}.json", out_dir / f"{result['name']}.md"
    atomic_write_text(json_path, json.dumps(result, indent=2) + "\n")
    atomic_write_text(md_path, markdown(result))
    return json_path, md_path


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", default="fashion-mnist")
    ap.add_argument("--protocol", help="default: the suite's default protocol")
    ap.add_argument("--generator", type=Path, default=ROOT / "generators" / "real_data.py")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--samples", type=int, help="override the protocol's sample count")
    ap.add_argument("--teacher", type=Path, help="teacher checkpoint instead of the suite's pinned one")
    ap.add_argument("--data-dir", type=Path, help="dataset folder (default: the cache)")
    ap.add_argument("--unverified-data", action="store_true",
                    help="run on a copy that fails the release's checksums (the CIFAR-10 development copy)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, help="torch intra-op threads (default: PyTorch's choice)")
    ap.add_argument("--no-metrics", action="store_true", help="skip the sample-quality metrics")
    ap.add_argument("--cold", action="store_true", help="empty cache: time the reference points too")
    ap.add_argument("--feature-images", type=int, default=10_000,
                    help="test images for the feature-pass comparison (0 skips it)")
    ap.add_argument("--feature-repeats", type=int, default=2)
    ap.add_argument("--fid-workers", type=int, default=0, help="DataLoader workers of pytorch-fid's loop")
    ap.add_argument("--skip-evaluation", action="store_true")
    ap.add_argument("--stability", type=int, metavar="K", help="CS over seeds 0..K-1 of each --generators file")
    ap.add_argument("--generators", type=Path, nargs="+", default=[])
    ap.add_argument("--workers", type=int, default=1, help="processes for the --stability units")
    ap.add_argument("--batching", nargs="+", metavar="PROTOCOL",
                    help="cold evaluations of --generator under these protocols, students one at a time, then batched")
    ap.add_argument("--units", nargs="+", choices=[m.folder for m in Mix], default=[],
                    help="time one budget (CS by budget) or GAN-MC unit of --generator per seed")
    ap.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS), help="the units' budgets")
    ap.add_argument("--name", help="result file name (default: from the machine)")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.cold:  # a fresh cache, but the same datasets
        os.environ["CSBENCH_DATA"] = str(data_root())
        os.environ["CSBENCH_HOME"] = tempfile.mkdtemp(prefix="csbench-bench-")
    os.environ.setdefault("CSBENCH_QUIET", "1")
    suite = get_suite(args.suite)
    protocol = suite.protocol(args.protocol)
    if args.samples:
        protocol = dataclasses.replace(protocol, samples=args.samples)
    info = machine(args.device)
    result = {"name": args.name or machine_name(info), "machine": info, "suite": suite.name,
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cold_cache": args.cold,
              "load_average_before": round(os.getloadavg()[0], 2)}
    options = RunOptions(device=args.device, teacher_path=args.teacher, data_root=args.data_dir,
                         unverified_data=args.unverified_data)
    if not args.skip_evaluation:
        result["evaluation"] = time_evaluation(suite, protocol, args.generator, args.seeds, options,
                                               metrics=not args.no_metrics)
    if args.feature_images:
        teacher = load_teacher(suite, device=args.device)
        images = load_split(suite.dataset, "test").images[: args.feature_images]
        result["feature_pass"] = time_feature_pass(suite, teacher, images, args.device, args.feature_repeats,
                                                   args.fid_workers)
    if args.batching:
        os.environ["CSBENCH_DATA"] = str(data_root())
        result["matmul_peak_gflops"] = round(matmul_peak_gflops(), 1)
        result["batching"] = []
        for name in args.batching:
            chosen = suite.protocol(name)
            if args.samples:
                chosen = dataclasses.replace(chosen, samples=args.samples)
            result["batching"].append(time_batching(suite, chosen, args.generator, args.seeds, args.device,
                                                    result["matmul_peak_gflops"], metrics=not args.no_metrics))
    if args.units:
        result["units"] = [time_budget_units(suite, protocol, args.generator, args.seeds, options,
                                             next(m for m in Mix if m.folder == folder), args.budgets)
                           for folder in args.units]
    if args.stability:
        result["stability"] = stability(suite, protocol, args.generators, range(args.stability), args.device,
                                        workers=args.workers)
    result["load_average_after"] = round(os.getloadavg()[0], 2)
    result["peak_rss_mib"] = peak_rss_mib()
    json_path, md_path = write(result, args.out_dir)
    print(markdown(result))
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
