"""The kinds of task csbench runs, and the one place that asks which kind a suite is.

Image suites score a generator by the Compression Score and by GAN-assisted compression with a torch student;
tabular suites by GAN-assisted compression (and its CS) with scikit-learn forests. Each kind provides what the
shared parts need of it: its suites, the generator contract that `validate` checks, its board, and its lines of
`csbench suites` and `csbench compress` (in the module named by `commands`). The CLI, `validate`, the sandbox,
the sweep and the backends go through a `Task` and never ask "is this tabular?".
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .errors import CsbenchError
from .registry import Registry


@dataclass(frozen=True)
class Target:
    """What a suite asks of a generator: the context it is called in, the samples' range (None for standardised
    table rows) and how many samples one default evaluation draws per seed, for the budget checks."""

    name: str
    shape: tuple[int, ...]
    num_classes: int
    value_range: tuple[float, float] | None
    per_seed: int
    train: Callable[[], Any]  # the training split, loaded only for generators that declare they need it


@dataclass(frozen=True)
class Task:
    """`target(suite, data_root, unverified_data)`; `render_board(suite, results_dir, out_dir, asked)` writes the
    suite's board and returns its path (None without records; `asked`: the user named this suite); `commands`: the
    module whose `print_suites()` and `compress(args)` serve the command line."""

    name: str
    suites: Registry
    target: Callable[[str, Path | None, bool], Target]
    render_board: Callable[[str, Path, Path, bool], Path | None]
    commands: str

    def cli(self):
        return importlib.import_module(self.commands)


def _image_target(suite_name: str, data_root: Path | None, unverified_data: bool = False) -> Target:
    from .data import load_split
    from .suites import get_suite

    suite = get_suite(suite_name)
    return Target(suite.name, suite.image_shape, suite.num_classes, (0.0, 1.0), suite.protocol().samples,
                  lambda: load_split(suite.dataset, "train", data_root, unverified_data))


def _table_target(suite_name: str, data_root: Path | None, unverified_data: bool = False) -> Target:
    """The table is loaded at once: a suite's width (one-hot columns) and row count come from its data."""
    from .errors import CsbenchError
    from .tabular.compress import generated_rows
    from .tabular.data import load_table
    from .tabular.suites import get_tabular_suite

    if unverified_data:
        raise CsbenchError("--unverified-data applies to image suites only")
    suite = get_tabular_suite(suite_name)
    train, _ = load_table(suite.dataset, data_root)
    return Target(suite.name, (train.rows.shape[1],), suite.num_classes, None,
                  generated_rows(suite.ratio, len(train)), lambda: train)


def _image_board(suite_name: str, results: Path, out: Path, asked: bool) -> Path | None:
    from .leaderboard import render_board
    from .results import RecordKind, read_records
    from .suites import get_suite

    records = read_records(results, suite_name, RecordKind.CS)
    if not records and asked:
        raise CsbenchError(f"no result records for suite {suite_name!r} under {results}/{suite_name}/; "
                           f"run `csbench evaluate FILE --suite {suite_name} --out {results}` first")
    return render_board(get_suite(suite_name), records, out, results)


def _table_board(suite_name: str, results: Path, out: Path, asked: bool) -> Path | None:
    from .tabular.report import write_board

    return write_board(suite_name, results, out) if asked or (results / suite_name).is_dir() else None


def _tasks() -> Registry[Task]:
    from .suites import SUITES
    from .tabular.suites import TABULAR_SUITES

    tasks: Registry[Task] = Registry("task kind")
    tasks.add("image", Task("image", SUITES, _image_target, _image_board, "csbench.image_cli"))
    tasks.add("tabular", Task("tabular", TABULAR_SUITES, _table_target, _table_board, "csbench.tabular.cli"))
    return tasks


TASKS = _tasks()


def all_suites() -> list[str]:
    return [name for task in TASKS.values() for name in task.suites]


def task_of(suite_name: str) -> Task:
    """The kind whose registry holds the suite (image suites first, where a name is in both)."""
    for task in TASKS.values():
        if suite_name in task.suites:
            return task
    close = difflib.get_close_matches(suite_name, all_suites(), n=3)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise CsbenchError(f"unknown suite {suite_name!r}{hint} Known: {', '.join(sorted(all_suites()))}")
