"""Hostile (hole 9): its import never ends."""

import time

import csbench  # noqa: F401  (a generator file imports it; this one never gets to register)

time.sleep(3600)
