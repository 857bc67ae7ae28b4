"""Teacher-space FID of each GAN checkpoint along a training, to see where training stops improving.

    python scripts/checkpoint_fid.py --suite fashion-mnist --arch dcgan28 runs/dcgan_epoch*.pt \
        --out benchmarks/results/fid-by-epoch-fashion-mnist-dcgan28.md

Each checkpoint draws --samples images (seed 0) whose teacher features are compared with those of as many real
images of the suite's FID reference split; epoch, step and training seconds come from `<weights>.json`, which
`scripts/train_gan.py` writes beside the weights. The table goes to the terminal and, with --out, to a
markdown file with a JSON twin.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from csbench.cache import atomic_write_text
from csbench.data import load_split
from csbench.errors import CsbenchError
from csbench.features import extract, teacher_space
from csbench.gans import GAN_ARCHITECTURES, load_network, sample
from csbench.metrics import frechet_distance, statistics
from csbench.progress import console
from csbench.quality import real_reference
from csbench.suites import get_suite
from csbench.tables import markdown_table
from csbench.teacher import load_teacher


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", required=True)
    parser.add_argument("--arch", required=True, choices=sorted(GAN_ARCHITECTURES))
    parser.add_argument("weights", type=Path, nargs="+", help="checkpoints, each with its .sha256 and .json beside")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--teacher", type=Path, help="the suite's teacher file, where it is not committed")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--unverified-data", action="store_true", help="accept a copy that fails the checksums")
    parser.add_argument("--out", type=Path, help="markdown file to write (and a .json beside it)")
    return parser.parse_args(argv)


def checkpoint_rows(args: argparse.Namespace) -> tuple[list[dict], str]:
    suite = get_suite(args.suite)
    train = load_split(suite.dataset, "train", args.data_dir, unverified=args.unverified_data)
    real = load_split(suite.dataset, suite.fid_reference_split, args.data_dir, unverified=args.unverified_data)
    teacher = load_teacher(suite, args.teacher, data_root=args.data_dir, train=train)
    space = teacher_space(suite, teacher)
    n = min(args.samples, len(real))
    reference = real_reference(suite, space, suite.fid_reference_split, real, n, min(n, suite.prdc_samples))
    rows = []
    for path in args.weights:
        meta = json.loads(path.with_name(f"{path.name}.json").read_text())
        images, _ = sample(load_network(args.arch, path, None, "scripts/train_gan.py"), n, 0)
        features, _ = extract(space, images, label=f"({path.name})")
        rows.append({"weights": path.name, "epoch": meta["epoch"], "step": meta["step"], "wall_s": meta["wall_s"],
                     "cpu_s": meta["cpu_s"], "fid": frechet_distance(statistics(features), (reference.mu,
                                                                                              reference.sigma))})
    rows.sort(key=lambda r: r["step"])
    data = f"{suite.dataset} {suite.fid_reference_split} split, digest {real.identity.digest[:16]}" + (
        "" if real.identity.verified else " (unverified copy)")
    return rows, data


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        rows, data = checkpoint_rows(args)
    except CsbenchError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        return 2
    table = markdown_table(["checkpoint", "epoch", "step", "training wall s", "training CPU s", "teacher-FID"],
                           [[r["weights"], f"{r['epoch']:g}", str(r["step"]), f"{r['wall_s']:.0f}",
                             f"{r['cpu_s']:.0f}", f"{r['fid']:.2f}"] for r in rows], "lrrrrr")
    text = (f"Teacher-space FID of {args.samples:,} samples (seed 0) of each {args.arch} checkpoint against as many "
            f"real images of the {data}; `python scripts/checkpoint_fid.py`.\n\n{table}\n")
    console.print(text, highlight=False, soft_wrap=True, markup=False)
    if args.out:
        atomic_write_text(args.out, text)
        atomic_write_text(args.out.with_suffix(".json"), json.dumps({"arch": args.arch, "suite": args.suite,
                                                                     "data": data, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
