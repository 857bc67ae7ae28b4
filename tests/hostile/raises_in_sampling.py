"""Hostile: fails inside sample()."""

import csbench


@csbench.generator("raises_in_sampling", suites=["*"])
def sample(n, seed, ctx):
    raise ValueError("hostile generator broke while sampling")
