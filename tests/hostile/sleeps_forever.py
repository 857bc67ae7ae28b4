"""Hostile: never returns."""

import time

import csbench


@csbench.generator("sleeps_forever", suites=["*"])
def sample(n, seed, ctx):
    while True:
        time.sleep(60)
