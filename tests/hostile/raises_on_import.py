"""Hostile: fails while its file is imported."""

import csbench

raise RuntimeError("hostile generator broke at import")
