"""Hostile (hole 9): its import never ends."""

import time

import csbench

time.sleep(3600)
