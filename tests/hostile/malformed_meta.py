"""Hostile (hole 8): registers with suites that are not a list of names."""

import csbench


@csbench.generator("malformed_meta", suites=5)
def sample(n, seed, ctx):
    return None
