"""Hostile (issue 28): hunts for the test split's files by every path it can think of and reports what it found.

It opens the paths it is told (where the data lies on the host, also through /proc/self/root), then walks every
folder it can list from the file system's root, its own folder, sys.path, /usr and the usual data and cache places
(bounded), hashing each file whose size is that of a test-split file. It always raises, with what it visited and
found, so that tests/test_sandbox.py reads both from the one-line error.
"""

import hashlib
import json
import os
import sys
import time
from collections import deque
from pathlib import Path

import csbench

MAX_ENTRIES = 300_000
MAX_SECONDS = 30.0
ROOTS = ("/", "/proc/self/root", "/proc/1/root")


def digest(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


@csbench.generator("finds_test_split", suites=["*"], needs_train_data=True)
def sample(n, seed, ctx):
    targets = json.loads((Path(ctx.directory) / "targets.json").read_text())
    wanted = {int(size): set(hashes) for size, hashes in targets["files"].items()}
    found, seen, visited = set(), set(), 0

    def check(path: str) -> None:
        try:
            size = os.stat(path).st_size
        except OSError:
            return
        if size in wanted and digest(path) in wanted[size]:
            found.add(os.path.realpath(path))

    for path in targets["paths"]:
        for variant in (path, f"/proc/self/root{path}", f"/proc/1/root{path}"):
            check(variant)
    starts = [str(ctx.directory), *(str(Path(p).parent) for p in targets["paths"]), *ROOTS, "/proc/self/cwd",
              *sys.path, "/usr",
              "/usr/share", "/usr/share/datasets", "/usr/local/share", "/opt", "/srv", "/var", "/tmp", "/root",
              "/home", "/data", "/datasets", "/mnt", "/media", os.environ.get("HOME", "/"),
              os.environ.get("TMPDIR", "/")]
    todo, started = deque(dict.fromkeys(starts)), time.monotonic()  # breadth first, the likeliest places first
    while todo and visited < MAX_ENTRIES and time.monotonic() - started < MAX_SECONDS:
        folder = todo.popleft()
        try:
            info = os.stat(folder)
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            visited += 1
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not (folder in ROOTS and entry.name in ("proc", "sys", "dev")):  # kernel views, not files
                        todo.append(entry.path)
                elif entry.is_file():
                    check(entry.path)
            except OSError:
                pass
    raise RuntimeError(f"visited {visited} entries; found: {', '.join(sorted(found)) or 'nothing'}")
