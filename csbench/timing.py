"""Seconds per stage of a run, as records report them."""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Iterator


class Timings(defaultdict):
    """Seconds per stage, summed over every block timed under that name; `elapsed()` since it was made."""

    def __init__(self, **initial: float):
        super().__init__(float, initial)
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self[stage] += time.perf_counter() - started

    def rounded(self) -> dict[str, float]:
        """For a record: milliseconds are the resolution that means anything, sorted by stage."""
        return {k: round(v, 3) for k, v in sorted(self.items())}
