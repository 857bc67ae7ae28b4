"""The generator files and samples declarations a pull request adds or changes, each with the suites CI checks it
on (`csbench validate` downloads a declaration's samples and checks them).

    python scripts/pr_generators.py origin/main    # prints "FILE SUITE" lines

A file counts as changed when it, a helper module (`_*.py`) or a weight file in its folder changed. Suites are
those the file declares whose teacher is pinned; a file that cannot even be described is listed with the first
pinned suite, so that `csbench validate` reports why. Files are described in the sandbox, with the timeout the
workflow gives `csbench validate`. CI runs the base branch's copy of this script and csbench from the pull
request's checkout (the working directory), so a pull request cannot change what judges it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from csbench.declarations import DECLARATION_SUFFIX, read_declaration
from csbench.errors import GeneratorError
from csbench.sandbox import Limits, describe
from csbench.suites import SUITES
from csbench.sweep import generator_files


def changed_paths(base: str) -> list[Path]:
    out = subprocess.run(["git", "diff", "--name-only", "--diff-filter=AMR", f"{base}...HEAD", "--", "generators"],
                         capture_output=True, text=True, check=True).stdout
    return [Path(line) for line in out.splitlines() if line]


def affected(files: list[Path], changed: list[Path]) -> list[Path]:
    entries = {p for p in changed if (p.suffix == ".py" or p.name.endswith(DECLARATION_SUFFIX))
               and not p.name.startswith("_")}
    folders = {p.parent for p in changed if p not in entries}
    return [f for f in files if f in entries or f.parent in folders]


def main(base: str) -> None:
    pinned = [s.name for s in SUITES.values() if s.teacher.pinned]
    for file in affected(generator_files("generators"), changed_paths(base)):
        try:
            gen = (read_declaration(file) if file.name.endswith(DECLARATION_SUFFIX)
                   else describe(file, Limits(timeout_s=600)))
        except GeneratorError:
            print(file, pinned[0])
            continue
        for suite in [s for s in pinned if gen.supports(s)]:
            print(file, suite)


if __name__ == "__main__":
    main(sys.argv[1])
