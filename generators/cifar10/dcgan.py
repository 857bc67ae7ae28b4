"""DCGAN samples for CIFAR-10, from weights that scripts/train_dcgan_cifar10.py saves beside this file."""

from functools import lru_cache
from pathlib import Path

import torch

import csbench
from csbench.cache import sha256_file
from csbench.dcgan import Z_DIM, DCGANGenerator
from csbench.errors import GeneratorError

WEIGHTS = "dcgan.pt"
BATCH = 1000


@lru_cache(maxsize=1)
def load_network(path: Path) -> DCGANGenerator:
    """Loaded at the first draw, so that sweeps over other suites can import this file without the weights."""
    if not path.is_file():
        raise GeneratorError(f"DCGAN weights {path} not found; train them with `python scripts/train_dcgan_cifar10.py "
                             f"--device cuda`, which writes {path.name} and {path.name}.sha256 beside this file")
    recorded = path.with_name(f"{path.name}.sha256")
    if recorded.is_file() and recorded.read_text().split()[0] != sha256_file(path):
        raise GeneratorError(f"DCGAN weights {path} do not match the sha256 in {recorded.name}: a partial copy or "
                             "other weights; copy both files again or retrain")
    network = DCGANGenerator()
    network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return network.eval()


@csbench.generator("dcgan", suites=["cifar10", "cifar10-resnet"])
@torch.inference_mode()
def sample(n: int, seed: int, ctx: csbench.SampleContext):
    """DCGAN images; the latent codes are drawn on the CPU so that a seed gives the same codes on any device."""
    z = torch.randn(n, Z_DIM, generator=torch.Generator().manual_seed(seed))
    network = load_network(ctx.directory / WEIGHTS).to(ctx.device)
    images = torch.cat([network(z[i : i + BATCH].to(ctx.device)).float().cpu() for i in range(0, n, BATCH)])
    return images.add_(1).div_(2).clamp_(0, 1)
