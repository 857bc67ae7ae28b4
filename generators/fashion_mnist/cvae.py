"""Conditional VAE for Fashion-MNIST: decoder pixel means at z ~ N(0, I), one class at a time.

Recipe (csbench/vae.py): the VAE of Kingma & Welling (2014) with encoder and decoder conditioned on the
one-hot class (Sohn et al. 2015); two 512-unit hidden layers each, a 32-dimensional latent, Bernoulli pixel
likelihood. Draws the ten classes in turn. Weights `cvae.pt` beside this file, written by the command in TRAIN
(seed 0, one CPU thread; steps, epochs and training time in `cvae.pt.json`); trained on the Fashion-MNIST
training split (MIT licence), the weights are MIT.
"""

import csbench
from csbench.vae import checkpoint_sampler

TRAIN = "python scripts/train_generator.py --family cvae --steps 9000 --out generators/fashion_mnist/cvae.pt"
SHA256 = "b8d0ff6d77d6309d0706dcf36cdb5686e5ee5ae0fec0fbc7a11adf513f084d10"
sample = csbench.generator("cvae", suites=["fashion-mnist"], description=__doc__.split("\n")[0])(
    checkpoint_sampler("cvae.pt", SHA256, TRAIN))
