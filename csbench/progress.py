"""Rich progress bars shared by every long-running stage."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)


def progress_bar() -> Progress:
    """A progress display on stderr; silent when CSBENCH_QUIET is set (tests, workers)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=bool(os.environ.get("CSBENCH_QUIET")),
    )


@contextmanager
def stage(description: str) -> Iterator[None]:
    """A spinner with the elapsed time for a stage without countable steps; silent when CSBENCH_QUIET is set."""
    if os.environ.get("CSBENCH_QUIET"):
        yield
        return
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True) as spinner:
        spinner.add_task(description, total=None)
        yield
