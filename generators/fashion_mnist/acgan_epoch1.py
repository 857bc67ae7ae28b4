"""Class-conditional AC-GAN for Fashion-MNIST, one epoch (937 steps of 64 images).

Recipe: Radford et al. (2016), Adam 2e-4, beta1 0.5, at batch 64 (theirs: 128). Draws the ten classes in turn.
Weights `acgan_epoch1.pt` beside this file, written by the command in TRAIN (seed 0, one CPU thread; 2 CPU minutes
to this checkpoint, `acgan_epoch1.pt.json`) on the Fashion-MNIST training split (MIT licence); the weights are MIT.
"""

import csbench
from csbench.gans import checkpoint_sampler

TRAIN = ("python scripts/train_gan.py --suite fashion-mnist --arch acgan28 --epochs 0.25 1 4 10 15 20 25 30 "
         "--out 'generators/fashion_mnist/acgan_epoch{epoch}.pt'")
SHA256 = "3c14f0456b28d8a02b96b10bac63e4f86c632dc42a5ce7293449956d9116d9f1"
sample = csbench.generator("acgan_epoch1", suites=["fashion-mnist"], description=__doc__.split("\n")[0])(
    checkpoint_sampler("acgan28", "acgan_epoch1.pt", SHA256, TRAIN))
