"""Hostile (hole 8): at import, writes deeply nested JSON on the result pipe its request names, then exits."""

import json
import os
import sys

import csbench  # noqa: F401

with open(sys.argv[1]) as f:
    request = json.load(f)
os.write(request["result_fd"], b"[" * 30_000 + b"]" * 30_000)
os._exit(0)
