"""Train a GAN of csbench/gans.py on a suite's training split and save checkpoints along training.

    python scripts/train_gan.py --suite fashion-mnist --arch dcgan28 --epochs 0.25 1 4 \
        --out 'generators/fashion_mnist/dcgan_epoch{epoch}.pt'
    python scripts/train_gan.py --suite cifar10-resnet56 --arch dcgan32 --epochs 1 5 20 --batch-size 128 \
        --out 'generators/cifar10/dcgan_epoch{epoch}.pt'

After each listed epoch (fractions allowed) it writes the generator's weights, `<weights>.sha256` in
`sha256sum` format and `<weights>.json` (the run's settings, data digest, step, and wall and CPU seconds so
far), and prints the sha256 that a generator file pins. Batches and latent codes come from CPU generators
seeded by --seed, so a seed fixes the run: on the CPU for a given --threads, on CUDA with cuDNN held to
deterministic kernels. The run's state is saved in --state as it goes; started again with the same
arguments, the script continues from there and writes the weights an uninterrupted run would.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import torch

from csbench.cache import atomic_write_text, home
from csbench.checkpoints import save_checkpoint
from csbench.data import load_split
from csbench.errors import CsbenchError
from csbench.gans import GAN_ARCHITECTURES, TrainingRun, train
from csbench.progress import console, progress_bar
from csbench.suites import get_suite
from csbench.teacher import require_device


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", required=True, help="whose training split to learn")
    parser.add_argument("--arch", required=True, choices=sorted(GAN_ARCHITECTURES))
    parser.add_argument("--epochs", type=float, nargs="+", required=True, help="save after each of these epochs")
    parser.add_argument("--out", required=True, help="weights file; with several epochs, a name holding {epoch}")
    parser.add_argument("--data-dir", type=Path, help="the dataset's folder (default $CSBENCH_DATA)")
    parser.add_argument("--unverified-data", action="store_true",
                        help="train on a copy that fails the release's checksums (a development copy)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads; the weights depend on it on the CPU")
    parser.add_argument("--limit", type=int, help="train on the first LIMIT images only (smoke tests)")
    parser.add_argument("--state", type=Path, help="resumable state file (default under $CSBENCH_HOME/training/)")
    parser.add_argument("--state-every", type=int, default=200, help="save the state every N steps")
    return parser.parse_args(argv)


def checkpoint_steps(epochs: list[float], per_epoch: int) -> dict[int, str]:
    """Step count -> epoch label ("0.25", "1") of each checkpoint."""
    if any(e <= 0 for e in epochs):
        raise CsbenchError(f"--epochs must be positive, got {' '.join(f'{e:g}' for e in epochs)}")
    return {max(1, round(e * per_epoch)): f"{e:g}" for e in sorted(epochs)}


def default_state(out: str) -> Path:
    """One state file per output, under the cache: never in the repository, never shared by two runs' outputs."""
    where = hashlib.sha256(str(Path(out).resolve()).encode()).hexdigest()[:12]
    return home() / "training" / f"{Path(out).stem.replace('{epoch}', '')}-{where}.state.pt"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        require_device(args.device)
        if args.device == "cuda":
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        if len(args.epochs) > 1 and "{epoch}" not in args.out:
            raise CsbenchError(f"--out {args.out} must hold {{epoch}} when several --epochs are saved")
        suite = get_suite(args.suite)
        if GAN_ARCHITECTURES[args.arch].image_shape != suite.image_shape:
            raise CsbenchError(f"--arch {args.arch} makes images of shape {GAN_ARCHITECTURES[args.arch].image_shape}, "
                               f"suite {suite.name} has {suite.image_shape}")
        split = load_split(suite.dataset, "train", args.data_dir, unverified=args.unverified_data)
        if not split.identity.verified:
            console.print(f"[yellow]unverified data[/]: {suite.dataset} train split digest {split.identity.digest}")
        images, labels = split.images[: args.limit], split.labels[: args.limit]
        if len(images) < args.batch_size:
            raise CsbenchError(f"{len(images)} training images are fewer than one batch of {args.batch_size}")
        run = TrainingRun(args.arch, len(images), args.batch_size, args.lr, args.seed, split.identity.digest)
        saves = checkpoint_steps(args.epochs, len(images) // args.batch_size)
        state = args.state or default_state(args.out)
        with progress_bar() as bar:
            task = bar.add_task(f"{args.arch} {suite.name}", total=max(saves))
            for step, network, losses in train(run, images, labels, list(saves), args.device, state=state,
                                               state_every=args.state_every,
                                               on_step=lambda step: bar.update(task, completed=step)):
                out = Path(args.out.format(epoch=saves[step]))
                digest = save_checkpoint(network, out)
                times = losses["timings"]
                atomic_write_text(out.with_name(f"{out.name}.json"), json.dumps({
                    **run.fields(), "suite": suite.name, "dataset": suite.dataset, "epoch": float(saves[step]),
                    "step": step, "threads": args.threads, "device": args.device, "sha256": digest,
                    "wall_s": round(times["training"], 1), "cpu_s": round(times["training_cpu"], 1),
                    "torch": torch.__version__}, indent=1) + "\n")
                bar.console.print(f"epoch {saves[step]} (step {step}, {times['training']:.0f} s): "
                                  f"discriminator loss {losses['discriminator']:.3f}, generator loss "
                                  f"{losses['generator']:.3f}\n  {out} ({out.stat().st_size / 1e6:.2f} MB) "
                                  f"sha256 {digest}", highlight=False, soft_wrap=True)
                saves.pop(step)
        if saves:
            console.print(f"not written again: the checkpoints at epochs {', '.join(saves.values())}, which {state} "
                          "had already passed (delete it to train from the start)",
                          highlight=False, soft_wrap=True)
    except CsbenchError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
