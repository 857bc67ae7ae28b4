"""Train the DCGAN of generators/cifar10/dcgan.py on the CIFAR-10 training split.

    python scripts/train_dcgan_cifar10.py --device cuda [--data-dir DIR] [--epochs 25] [--seed 0]

Writes the generator's weights (default generators/cifar10/dcgan.pt) and `<weights>.sha256` beside them in
`sha256sum` format. Batches and latent codes come from CPU generators seeded by --seed, so a seed fixes the
run; on CUDA, cuDNN is held to deterministic kernels.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from csbench.cache import atomic_path, atomic_write_text, sha256_file
from csbench.data import load_split
from csbench.dcgan import Z_DIM, DCGANDiscriminator, DCGANGenerator, init_weights
from csbench.errors import CsbenchError
from csbench.progress import console, progress_bar
from csbench.teacher import require_device

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "generators" / "cifar10" / "dcgan.pt"


def train(images: torch.Tensor, epochs: int, batch_size: int, lr: float, seed: int, device: str) -> DCGANGenerator:
    """Adam (beta1 0.5) on the non-saturating GAN loss, one discriminator step per generator step."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    g, d = DCGANGenerator().to(device), DCGANDiscriminator().to(device)
    g.apply(init_weights)
    d.apply(init_weights)
    opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=lr, betas=(0.5, 0.999))
    steps = len(images) // batch_size
    ones, zeros = torch.ones(batch_size, device=device), torch.zeros(batch_size, device=device)
    with progress_bar() as bar:
        task = bar.add_task("DCGAN cifar10", total=epochs * steps)
        for epoch in range(epochs):
            order = torch.randperm(len(images), generator=gen)
            for i in range(steps):
                real = images[order[i * batch_size : (i + 1) * batch_size]].to(device) * 2 - 1
                fake = g(torch.randn(batch_size, Z_DIM, generator=gen).to(device))
                loss_d = (F.binary_cross_entropy_with_logits(d(real), ones)
                          + F.binary_cross_entropy_with_logits(d(fake.detach()), zeros))
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
                loss_g = F.binary_cross_entropy_with_logits(d(fake), ones)
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
                bar.advance(task)
            bar.console.print(f"epoch {epoch + 1}/{epochs}: discriminator loss {loss_d.item():.3f}, "
                              f"generator loss {loss_g.item():.3f}")
    return g.cpu().eval()


def save(network: DCGANGenerator, out: Path) -> str:
    """Write the weights and their sha256 atomically; return the sha256."""
    buffer = io.BytesIO()
    torch.save({k: v.contiguous() for k, v in network.state_dict().items()}, buffer)
    with atomic_path(out) as tmp:
        tmp.write_bytes(buffer.getvalue())
    digest = sha256_file(out)
    atomic_write_text(out.with_name(f"{out.name}.sha256"), f"{digest}  {out.name}\n")
    return digest


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, help="folder holding cifar-10-batches-py/ (default $CSBENCH_DATA)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="train on the first LIMIT images only (smoke tests)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        require_device(args.device)
        if args.device == "cuda":
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        images = load_split("cifar10", "train", args.data_dir).images[: args.limit]
        network = train(images, args.epochs, args.batch_size, args.lr, args.seed, args.device)
    except CsbenchError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        return 2
    digest = save(network, args.out)
    console.print(f"DCGAN weights written to {args.out}\n  sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
