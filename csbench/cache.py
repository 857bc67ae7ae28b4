"""One cache folder for everything csbench downloads or computes, safe writes into it, and pinned downloads."""

from __future__ import annotations

import hashlib
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from .errors import ChecksumMismatch, CsbenchError, clean
from .progress import progress_bar


def home() -> Path:
    """`CSBENCH_HOME`, else the user's cache folder (XDG on Linux)."""
    env = os.environ.get("CSBENCH_HOME")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "csbench"


def data_root() -> Path:
    """Where datasets live: `CSBENCH_DATA`, else `<home>/data`."""
    env = os.environ.get("CSBENCH_DATA")
    return Path(env).expanduser() if env else home() / "data"


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    A crash or exception leaves any existing file at `path` untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path | str, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def reference_file(suite: str, name: str, cache_dir: Path | None = None) -> Path:
    """`<home>/reference/<suite>/<name>`: what csbench computes once per suite on real data (teacher logits and
    features, reference students, metric references). `name` carries everything the value depends on: the
    network's pin, a digest of the images, counts, and the csbench version where csbench's own code computes it."""
    return (cache_dir or home() / "reference") / suite / name


def cached_arrays(path: Path, compute: Callable[[], dict[str, np.ndarray]],
                  valid: Callable[[dict[str, np.ndarray]], bool] = lambda arrays: True) -> dict[str, np.ndarray]:
    """The arrays of the .npz at `path`, else `compute()`'s, saved there atomically; a damaged or invalid file is
    recomputed and replaced. Read without pickle."""
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as cached:
                arrays = {k: cached[k] for k in cached.files}
            if valid(arrays):
                return arrays
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass
    arrays = compute()
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return arrays


def read_json(path: Path) -> dict | None:
    """The JSON object at `path`; None where there is none or it is damaged."""
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
    return None


def cached_json(path: Path, compute: Callable[[], dict]) -> dict:
    """The JSON object at `path`, else `compute()`'s, saved there atomically; a damaged file is recomputed."""
    cached = read_json(path)
    if cached is not None:
        return cached
    value = compute()
    write_json(path, value)
    return value


def write_json(path: Path, value: dict) -> None:
    """`value` at `path`, written atomically, as `cached_json` keeps it."""
    atomic_write_text(path, json.dumps(value, sort_keys=True) + "\n")


PIN_FORMS = {"sha256": re.compile(r"[0-9a-f]{64}"), "git-blob": re.compile(r"[0-9a-f]{40}")}

MAX_DOWNLOAD_BYTES = 1 << 30
"""No pinned file is this large: a server that sends more is cut off before it fills the disk."""


@dataclass(frozen=True)
class Pin:
    """What a file must hash to: its sha256, or, for a file known only from a git repository, its git blob id
    (sha1 of b"blob <size>\\0" + content), which is what `git hash-object` prints."""

    kind: str
    digest: str

    @classmethod
    def parse(cls, text: str) -> "Pin":
        """`sha256:<64 hex>` or `git-blob:<40 hex>`."""
        kind, _, digest = str(text).partition(":")
        if kind not in PIN_FORMS or not PIN_FORMS[kind].fullmatch(digest):
            raise CsbenchError(f"pin {str(text)[:80]!r} is not sha256:<64 hex digits> or git-blob:<40 hex digits>")
        return cls(kind, digest)

    def __str__(self) -> str:
        return f"{self.kind}:{self.digest}"

    def of(self, path: Path | str) -> str:
        """`path`'s digest of this pin's kind."""
        return sha256_file(path) if self.kind == "sha256" else git_blob_id(path)

    def check(self, path: Path | str, what: str, expected: str = "the pinned one") -> None:
        """Raise one line unless `path` hashes to this pin: nothing may parse a file before this passes."""
        found = self.of(path)
        if found != self.digest:
            raise ChecksumMismatch(f"{what} has {self.kind} {found[:12]}..., expected {self.digest[:12]}...: "
                                   f"the file is corrupt or not {expected}")


def git_blob_id(path: Path | str) -> str:
    """The id git gives the file's content: sha1 over a `blob <size>\\0` header and the bytes."""
    digest = hashlib.sha1(b"blob %d\0" % os.path.getsize(path))
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class DownloadLimits:
    """What downloading may take: bytes and seconds per file, and in all for the files one owner declares (a
    generator's weight files, a declaration's samples). A server that sends more, or more slowly, is cut off."""

    file_bytes: int = MAX_DOWNLOAD_BYTES
    file_s: float = 900.0
    total_bytes: int = 2 * MAX_DOWNLOAD_BYTES
    total_s: float = 1800.0


def pinned_folder() -> Path:
    return home() / "pinned"


def pinned_path(pin: Pin) -> Path:
    """Where the verified copy of a pinned download lives: one file per pin, whatever names declare it."""
    return pinned_folder() / f"{pin.kind}-{pin.digest}"


def fetch_pinned(url: str, pin: Pin, dest: Path | str, what: str, offline_hint: str,
                 max_bytes: int = MAX_DOWNLOAD_BYTES, timeout_s: float = DownloadLimits.file_s) -> Path:
    """`dest`, downloaded from `url` unless a copy that matches `pin` is already there.

    The download goes to a temporary file that is checked against the pin before it is renamed onto `dest`, so
    `dest` only ever holds a verified file; it runs in a child process killed after `timeout_s` and stops past
    `max_bytes`. `offline_hint` ends the one-line error when the download fails; the URL in it is cleaned.
    """
    dest = Path(dest)
    if dest.is_file() and pin.of(dest) == pin.digest:
        return dest
    with atomic_path(dest) as tmp:
        problem = _download(url, tmp, f"downloading {dest.name}", max_bytes, timeout_s)
        if problem:
            raise CsbenchError(f"{what} is not in {dest.parent} and could not be downloaded from {clean(url)} "
                               f"({clean(problem)}); {offline_hint}")
        pin.check(tmp, f"{what} downloaded from {clean(url)}")
    return dest


def fetch_all(files: Sequence[tuple[str, Pin, str]], limits: DownloadLimits, offline_hint: str) -> list[Path]:
    """The verified copy of each `(url, pin, what)` (`pinned_path`), downloaded in turn where missing, within
    `limits` per file and in all. A pin listed twice is fetched once."""
    deadline, bytes_left = time.monotonic() + limits.total_s, limits.total_bytes
    fetched: dict[Pin, Path] = {}
    for url, pin, what in files:
        if pin in fetched:
            continue
        dest = pinned_path(pin)
        seconds = max(0.0, min(limits.file_s, deadline - time.monotonic()))
        hint = f"{offline_hint}: save it as {dest}, where its pin is checked"
        fetched[pin] = fetch_pinned(url, pin, dest, what, hint, max(0, min(limits.file_bytes, bytes_left)), seconds)
        bytes_left -= fetched[pin].stat().st_size
    return [fetched[pin] for _, pin, _ in files]


DOWNLOAD_WORKER = Path(__file__).resolve().parent / "download_worker.py"


def _download(url: str, out: Path, label: str, max_bytes: int, timeout_s: float) -> str | None:
    """Stream `url` into `out` with a progress bar, in a child process (csbench/download_worker.py) killed after
    `timeout_s`; refuse more than `max_bytes`. Returns why it failed, or None."""
    command = [sys.executable, "-I", str(DOWNLOAD_WORKER), url, str(out), str(max_bytes)]
    deadline = time.monotonic() + timeout_s
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          start_new_session=True) as proc, progress_bar() as bar:
        task, lines, buffer = bar.add_task(label, total=None), [], b""
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while (left := deadline - time.monotonic()) > 0:
                if not selector.select(left):
                    continue
                chunk = os.read(proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    break
                *done, buffer = (buffer + chunk).split(b"\n")
                for line in (x.decode(errors="replace") for x in done):
                    word, _, value = line.partition(" ")
                    if word == "size" and value.isdigit():
                        bar.update(task, total=int(value))
                    elif word == "got" and value.isdigit():
                        bar.update(task, completed=int(value))
                    lines.append(line)
                buffer = buffer[-4096:]
            else:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return f"the download took longer than its limit of {timeout_s:g} s"
        proc.wait()
    error = next((line[len("error "):] for line in lines if line.startswith("error ")), None)
    if error or proc.returncode:
        return error or f"the download process ended with status {proc.returncode}"
    if out.stat().st_size > max_bytes:
        return f"more than {max_bytes:,} bytes"
    return None
