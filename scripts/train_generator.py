"""Train the conditional VAE or the diffusion model on a suite's training split, resumably.

    python scripts/train_generator.py --family ddpm --steps 6000 --out generators/fashion_mnist/ddpm.pt
    python scripts/train_generator.py --family cvae --steps 9000 --out generators/fashion_mnist/cvae.pt

The full training state (model, optimiser, EMA, step, time spent) is saved every --save-every steps to
--state; run the same command again after a stop and it continues from there with identical results (every
random draw of a step is seeded by (--seed, step); see csbench/training.py). At --steps it writes the sampling
weights (the EMA where the recipe keeps one) and `<weights>.sha256`, which a generator file pins, and
`<weights>.json` with the settings and the training's wall and CPU time. To ship an earlier checkpoint, run
it with --steps at that checkpoint's step.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from csbench import diffusion, vae
from csbench.cache import atomic_write_text, home
from csbench.checkpoints import save_checkpoint
from csbench.data import load_split
from csbench.errors import CsbenchError
from csbench.progress import console, progress_bar
from csbench.suites import get_suite
from csbench.training import load_state, save_state, train

FAMILIES = {"cvae": vae.RECIPE, "ddpm": diffusion.RECIPE}
REFERENCES = {"cvae": "conditional VAE (Kingma & Welling 2014; Sohn et al. 2015)",
              "ddpm": "DDPM (Ho et al. 2020), class-conditional with label dropout for guidance (Ho & Salimans 2022)"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", required=True, choices=sorted(FAMILIES))
    parser.add_argument("--steps", type=int, required=True, help="train to this many steps in all")
    parser.add_argument("--out", type=Path, required=True, help="the sampling weights, written at --steps")
    parser.add_argument("--suite", default="fashion-mnist", help="whose training split to learn")
    parser.add_argument("--state", type=Path, help="training state (default $CSBENCH_HOME/training/<out>.state)")
    parser.add_argument("--save-every", type=int, default=250, help="steps between saves of the training state")
    parser.add_argument("--data-dir", type=Path, help="the dataset's folder (default $CSBENCH_DATA)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads; the weights depend on it")
    parser.add_argument("--limit", type=int, help="train on the first LIMIT images only (smoke tests)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    recipe = FAMILIES[args.family]
    state_path = args.state or home() / "training" / f"{args.out.name}.state"
    config = {"family": args.family, "suite": args.suite, "seed": args.seed, "threads": args.threads,
              "limit": args.limit, "batch_size": recipe.batch_size, "lr": recipe.lr}
    try:
        if args.steps <= 0 or args.save_every <= 0:
            raise CsbenchError(f"--steps and --save-every must be positive, got {args.steps} and {args.save_every}")
        suite = get_suite(args.suite)
        if suite.image_shape != (1, 28, 28):
            raise CsbenchError(f"the {args.family} networks make 28x28 grey images; suite {suite.name} has "
                               f"{suite.image_shape}")
        split = load_split(suite.dataset, "train", args.data_dir)
        images, labels = split.images[: args.limit], split.labels[: args.limit]
        state = load_state(recipe, args.seed, state_path, config)
        if state.step > args.steps:
            raise CsbenchError(f"training state {state_path} is at step {state.step}, past --steps {args.steps}")
        if state.step:
            console.print(f"resuming {state_path} at step {state.step}", highlight=False, soft_wrap=True)
        with progress_bar() as bar:
            task = bar.add_task(f"{args.family} {suite.name}", total=args.steps, completed=state.step)
            for _, loss in train(recipe, state, images, labels, args.steps, args.seed, args.save_every,
                                 on_step=lambda: bar.advance(task)):
                save_state(state, state_path, config)
                bar.console.print(f"step {state.step}: loss {loss:.4f} ({state.wall_s:.0f} s wall, "
                                  f"{state.cpu_s:.0f} s CPU)", highlight=False, soft_wrap=True)
        digest = save_checkpoint(state.sampler, args.out)
        per_epoch = len(images) // recipe.batch_size
        info = {"recipe": REFERENCES[args.family], **config, "dataset": suite.dataset,
                "data_digest": split.identity.digest, "images": len(images), "steps": args.steps,
                "epochs": round(args.steps / per_epoch, 2), "ema_decay": recipe.ema_decay, "sha256": digest,
                "wall_s": round(state.wall_s, 1), "cpu_s": round(state.cpu_s, 1), "torch": torch.__version__}
        atomic_write_text(args.out.with_name(f"{args.out.name}.json"), json.dumps(info, indent=1) + "\n")
        console.print(f"{args.out} ({args.out.stat().st_size / 1e6:.2f} MB) sha256 {digest}", highlight=False,
                      soft_wrap=True)
    except CsbenchError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
