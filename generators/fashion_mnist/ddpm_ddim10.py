"""Class-conditional diffusion model for Fashion-MNIST: DDPM-trained U-Net, DDIM sampling in 10 steps.

Recipe (csbench/diffusion.py): DDPM training (Ho et al. 2020) of a small U-Net, 16/32/64 channels at 28x28,
14x14 and 7x7, EMA weights; class labels dropped 10 % of the time in training (classifier-free guidance, Ho &
Salimans 2022) but sampled purely conditionally (guidance 0: one network pass per step); deterministic DDIM
(Song et al. 2021, eta 0) over 10 evenly spaced timesteps. Draws the ten classes in turn. Weights `ddpm.pt`
beside this file, written by the command in TRAIN (seed 0, one CPU thread; 6,000 steps of 128 images, 12.8
epochs, 49 CPU minutes, `ddpm.pt.json`); trained on the Fashion-MNIST training split (MIT licence), the weights
are MIT.
"""

import csbench
from csbench.diffusion import checkpoint_sampler

TRAIN = "python scripts/train_generator.py --family ddpm --steps 6000 --out generators/fashion_mnist/ddpm.pt"
SHA256 = "1c5b273da84efd571e4d286d0a46cfe36da13f081648c61c53f727d5f060605d"
sample = csbench.generator("ddpm_ddim10", suites=["fashion-mnist"], description=__doc__.split("\n")[0])(
    checkpoint_sampler("ddpm.pt", SHA256, TRAIN, steps=10, guidance=0.0))
