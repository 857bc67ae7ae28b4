"""Evaluate every registered generator of a suite, skipping those whose record is current.

One failing generator is reported in one line and the sweep goes on; records of others are untouched. Each
file is described and run in the sandbox (csbench.sandbox), never imported here.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .cache import sha256_file
from .errors import CsbenchError
from .evaluate import evaluate
from .results import read_record, record_path
from .sandbox import Limits, SandboxedGenerator, describe
from .suites import Protocol, Suite, get_suite


@dataclass(frozen=True)
class Outcome:
    file: Path
    status: str  # "evaluated", "current", "unsupported" or "failed"
    detail: str = ""


def generator_files(directory: Path | str) -> list[Path]:
    """Every generator file below `directory`; files and folders starting with "_" are helpers, not generators."""
    root = Path(directory)
    return sorted(p for p in root.rglob("*.py") if not any(part.startswith("_") for part in p.relative_to(root).parts))


def _normalised(value) -> object:
    return json.loads(json.dumps(value))


def is_current(record: dict, generator_sha256: str, suite: Suite, protocol: Protocol, seeds: Sequence[int]) -> bool:
    """A record is current when the generator file, teacher, protocol and seeds are all the ones asked for."""
    return (record.get("generator", {}).get("sha256") == generator_sha256
            and record.get("teacher", {}).get("sha256") == suite.teacher.sha256
            and record.get("protocol") == _normalised(protocol.to_dict())
            and record.get("seeds") == list(seeds))


def evaluate_all(suite_name: str, generator_dir: Path | str = "generators", *, out_dir: Path | str = "results",
                 protocol_name: str | None = None, seeds: Sequence[int] | None = None, samples: int | None = None,
                 on_outcome: Callable[[Outcome], None] = lambda outcome: None, **evaluate_kwargs) -> list[Outcome]:
    suite = evaluate_kwargs.pop("suite", None) or get_suite(suite_name)
    protocol = suite.protocol(protocol_name)
    if samples is not None:
        protocol = dataclasses.replace(protocol, samples=samples)
    seeds = list(seeds if seeds is not None else protocol.seeds)
    described: dict[Path, SandboxedGenerator | CsbenchError] = {}
    for path in generator_files(generator_dir):
        try:
            described[path] = describe(path, evaluate_kwargs.get("limits", Limits()), [out_dir])
        except CsbenchError as exc:
            described[path] = exc
    files_by_name = defaultdict(list)  # a name names a record: two files with one name would overwrite each other
    for path, gen in described.items():
        if isinstance(gen, SandboxedGenerator):
            files_by_name[gen.name].append(str(path.relative_to(generator_dir)))
    outcomes = []
    for path, gen in described.items():
        try:
            if isinstance(gen, CsbenchError):
                outcome = Outcome(path, "failed", str(gen))
            elif len(files_by_name[gen.name]) > 1:
                outcome = Outcome(path, "failed", f"generator name {gen.name!r} is registered by "
                                                  f"{len(files_by_name[gen.name])} files: "
                                                  f"{', '.join(files_by_name[gen.name])}")
            elif not gen.supports(suite.name):
                outcome = Outcome(path, "unsupported")
            else:
                existing = record_path(out_dir, suite.name, gen.name, protocol.name, suite.default_protocol)
                if existing.is_file() and is_current(read_record(existing), sha256_file(path), suite, protocol, seeds):
                    outcome = Outcome(path, "current", existing.name)
                else:
                    record = evaluate(path, suite.name, protocol=protocol, seeds=seeds, out_dir=out_dir, suite=suite,
                                      **evaluate_kwargs)
                    outcome = Outcome(path, "evaluated", f"CS {record['cs']:.4f} ± {record['cs_stderr']:.4f}")
        except CsbenchError as exc:
            outcome = Outcome(path, "failed", str(exc))
        on_outcome(outcome)
        outcomes.append(outcome)
    return outcomes
