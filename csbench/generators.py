"""The generator API: a Python file registers a sampling function with `@generator(...)`.

A generator file is imported by path; the decorator puts a `Generator` record into `GENERATORS`.
Its sampling function is called as `sample(n, seed, ctx)` and returns `n` samples (a float
tensor or array in [0, 1] of shape (n, *ctx.shape)), optionally with its own labels as a second
value, which the score ignores: the teacher labels everything.

Weight files too large for a pull request, or published elsewhere, are declared by URL and pin
(`weights=`): the harness downloads and verifies them (`fetch_generator_weights`) before the
sandbox, which has no network, runs the file; `ctx.weights` says where each one is.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import importlib.util
import os
import re
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch

from .cache import DownloadLimits, Pin, fetch_all, pinned_folder, sha256_file
from .errors import CsbenchError, GeneratorError, clean
from .registry import Registry

GENERATORS: Registry[Generator] = Registry("generator")  # name -> Generator; a re-imported file replaces its own


@dataclass(frozen=True)
class SampleContext:
    """What a generator is handed: never the test split."""

    suite: str
    shape: tuple[int, ...]
    num_classes: int
    directory: Path
    device: str = "cpu"
    train: Any = None  # the training split, only for generators declaring needs_train_data
    weights: Mapping[str, Path] = field(default_factory=dict)  # declared weight file name -> verified local copy


WEIGHT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
WEIGHT_SCHEMES = ("https", "http")
GENERATOR_NAME = re.compile(r"(?=.{1,100}$)[A-Za-z0-9_][A-Za-z0-9_.]*(-[A-Za-z0-9_.]+)*")
"""Words of letters, digits, '_' and '.' joined by single hyphens: a name is its record's file name, and '--' joins
a record's name to its protocol and seed (`results.record_path`), so a name holding it could alias another's."""


def check_generator_name(name: object, who: str) -> str:
    """`name` if it may name a generator (`GENERATOR_NAME`), else a one-line GeneratorError."""
    if not (isinstance(name, str) and GENERATOR_NAME.fullmatch(name)):
        raise GeneratorError(f"{who} registers the name {clean(name, 80)!r}; a name (it names the result file) is "
                             "words of letters, digits, '_' and '.' joined by single hyphens ('--' separates a "
                             "record's name from its protocol)")
    return name


@dataclass(frozen=True)
class WeightFile:
    """A weight file a generator declares: fetched from `url` by the harness, usable only if it matches `pin`."""

    name: str
    url: str
    pin: Pin

    def to_json(self) -> list[str]:
        return [self.name, self.url, str(self.pin)]


def parse_weights(declared: Any, who: str) -> tuple[WeightFile, ...]:
    """Weight declarations as `{name: (url, pin)}` (a decorator) or `[[name, url, pin], ...]` (a child's JSON
    report, which is untrusted), checked: a plain file name, an http(s) URL, a well-formed pin."""
    try:
        entries = [(name, *rest) for name, rest in declared.items()] if isinstance(declared, Mapping) else declared
        files = []
        for name, url, pin in entries:
            if not (isinstance(name, str) and WEIGHT_NAME.fullmatch(name)):
                raise CsbenchError(f"weight file name {str(name)[:80]!r} is not a plain file name")
            if not (isinstance(url, str) and urllib.parse.urlsplit(url).scheme in WEIGHT_SCHEMES):
                raise CsbenchError(f"weight file {name} has URL {str(url)[:120]!r}; an http(s) URL is needed")
            files.append(WeightFile(name, url, Pin.parse(pin)))
    except CsbenchError as exc:
        raise GeneratorError(f"{who} declares bad weights: {exc}") from None
    except (TypeError, ValueError):
        raise GeneratorError(f"{who} declares weights that are not {{file name: (url, pin)}}") from None
    if len({f.name for f in files}) != len(files):
        raise GeneratorError(f"{who} declares the same weight file name twice")
    return tuple(files)


def declared_weights(path: Path) -> tuple[WeightFile, ...]:
    """The weight files a generator file declares, read from its source without running it: the `weights=` of its
    `generator(...)` call, a literal `{name: (url, pin)}` whose parts may name module-level constants. What the
    file registers when it runs must be the same (csbench.sandbox.describe checks): a URL computed at import could
    carry what the file read to whoever serves it."""
    who = f"generator file {clean(path.name, 100)}"
    try:
        tree = ast.parse(path.read_bytes(), filename=path.name)
    except (SyntaxError, ValueError):
        return ()  # importing it fails too, with the line to fix
    constants = {node.targets[0].id: node.value for node in tree.body if isinstance(node, ast.Assign)
                 and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)}
    calls = [keyword.value for node in ast.walk(tree) if isinstance(node, ast.Call)
             and getattr(node.func, "id", getattr(node.func, "attr", None)) == "generator"
             for keyword in node.keywords if keyword.arg == "weights"]
    if not calls:
        return ()
    if len(calls) > 1:
        raise GeneratorError(f"{who} declares weights in {len(calls)} places; declare them once")

    def literal(node: ast.AST, depth: int = 0):
        if isinstance(node, ast.Name) and node.id in constants and depth < 8:
            return literal(constants[node.id], depth + 1)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, (ast.Tuple, ast.List)):
            return [literal(element, depth) for element in node.elts]
        if isinstance(node, ast.Dict) and None not in node.keys:
            return {literal(k, depth): literal(v, depth) for k, v in zip(node.keys, node.values)}
        raise GeneratorError(f"{who} declares weights that are not literal (line {getattr(node, 'lineno', '?')}): "
                             "write weights={file name: (url, pin)} with strings, or names of module-level "
                             "string constants, so the harness can read them without running the file")

    return parse_weights(literal(calls[0]), who)


def fetch_generator_weights(gen: "Generator", limits: DownloadLimits = DownloadLimits()) -> dict[str, Path]:
    """Download (where not cached) and verify every weight file `gen` declares, within `limits`; return name ->
    local path, one file per pin (`cache.pinned_path`) however many names declare it.

    For the harness, before sampling: the sandbox has no network, and reads only these files. A file whose bytes
    are a dataset file of this machine (a split, raw or compressed) is refused: it would hand over the test split."""
    paths = fetch_all([(w.url, w.pin, f"weight file {w.name} of generator {gen.name}") for w in gen.weights], limits,
                      "download it where you have internet access")
    for w, path in zip(gen.weights, paths):
        refuse_dataset_copy(path, f"weight file {w.name} of generator {gen.name}")
    return {w.name: path for w, path in zip(gen.weights, paths)}


def dataset_files() -> list[Path]:
    """The files that hold datasets on this machine: those in `data.dataset_folders` (the data folder, Debian's
    dataset packages, scikit-learn's bundled tables), which the sandbox never shows a generator either."""
    from .data import dataset_folders

    downloads = pinned_folder().resolve()  # in a data folder that holds the cache, not a dataset's
    return [p for folder in dataset_folders() if folder.is_dir() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.resolve().is_relative_to(downloads)]


def refuse_dataset_copy(path: Path, what: str) -> None:
    """Raise one line if the bytes of `path` are those of a dataset file, or of a gzip-compressed one uncompressed.
    Only files of the same size are hashed (a gzip file's size uncompressed is in its last four bytes)."""
    size = path.stat().st_size
    digest = None
    for candidate in dataset_files():
        same_size = candidate.stat().st_size == size
        gzipped = candidate.suffix == ".gz" and _gzip_size(candidate) == size % 2**32
        if not (same_size or gzipped):
            continue
        digest = digest or sha256_file(path)
        if (same_size and sha256_file(candidate) == digest) or (gzipped and _gunzip_sha256(candidate) == digest):
            raise GeneratorError(f"{what} is a copy of the dataset file {clean(candidate)}: a generator may not "
                                 "be handed a dataset's files")


def _gzip_size(path: Path) -> int | None:
    """The uncompressed size modulo 2**32 that a gzip file records in its last four bytes."""
    try:
        with open(path, "rb") as f:
            f.seek(-4, os.SEEK_END)
            return int.from_bytes(f.read(4), "little")
    except OSError:
        return None


def _gunzip_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except (OSError, EOFError):
        return None
    return digest.hexdigest()


@dataclass(frozen=True)
class Generator:
    name: str
    suites: tuple[str, ...]
    sample: Callable[[int, int, SampleContext], Any]
    needs_train_data: bool = False
    description: str = ""
    path: Path | None = field(default=None, compare=False)
    weights: tuple[WeightFile, ...] = ()

    def supports(self, suite: str) -> bool:
        return "*" in self.suites or suite in self.suites


def generator(name: str, suites: list[str] | tuple[str, ...], needs_train_data: bool = False,
              description: str = "", weights: Mapping[str, tuple[str, str]] | None = None):
    """Register the decorated `sample(n, seed, ctx)` function as generator `name`.

    `weights`: `{file name: (url, pin)}`, pin `sha256:<hex>` or `git-blob:<hex>`; the sampler finds each verified
    file at `ctx.weights[file name]`."""
    files = parse_weights(weights or {}, f"generator {name}")

    def register(sample):
        if name in GENERATORS and GENERATORS[name].sample is not sample:
            raise GeneratorError(f"generator name {name!r} is already registered")
        GENERATORS[name] = Generator(name, tuple(suites), sample, needs_train_data,
                                     description or (sample.__doc__ or "").strip().split("\n")[0], weights=files)
        return sample

    return register


def load_generator_file(path: Path | str) -> Generator:
    """Import a generator file by path and return the single generator it registers."""
    path = Path(path).resolve()
    if not path.is_file():
        raise GeneratorError(f"generator file {path} does not exist")
    module_name = "csbench_generator_" + hashlib.sha256(str(path).encode()).hexdigest()[:16]
    before = dict(GENERATORS)
    for name in [n for n, g in GENERATORS.items() if g.path == path]:
        del GENERATORS[name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except GeneratorError:
        raise
    except BaseException as exc:
        GENERATORS.clear()
        GENERATORS.update(before)
        raise GeneratorError(f"generator file {path.name} raised on import: {type(exc).__name__}: {exc}") from None
    new = [g for n, g in GENERATORS.items() if before.get(n) is not g]
    try:
        if len(new) != 1:
            raise GeneratorError(f"generator file {path.name} must register exactly one generator with "
                                 f"@csbench.generator, it registered {len(new)}")
        check_generator_name(new[0].name, f"generator file {clean(path.name, 100)}")
    except GeneratorError:
        GENERATORS.clear()
        GENERATORS.update(before)
        raise
    registered = Generator(**{**new[0].__dict__, "path": path})
    GENERATORS[registered.name] = registered
    return registered


def repository_path(path: Path) -> str:
    """`path` within the git repository that holds it (POSIX form), or its absolute path outside one: what names a
    generator file wherever the repository is checked out."""
    path = path.resolve()
    root = next((folder for folder in path.parents if (folder / ".git").exists()), None)
    return (path.relative_to(root) if root else path).as_posix()


def sibling_files(path: Path) -> list[Path]:
    """What a generator file may import or read beside itself, other than declared weights: the files of its folder
    that are not generator files (helper modules `_*.py`, weights, data) and everything in its folder's helper
    folders (`_`-prefixed; Python's `__pycache__` aside). Other generator files (`*.py` not starting with `_`) and
    sub-folders are other generators' inputs (generators/cifar10/), not this one's."""
    folder = path.resolve().parent
    out = []
    for entry in sorted(folder.iterdir()):
        if entry.is_file() and not (entry.suffix == ".py" and not entry.name.startswith("_")):
            out.append(entry)
        elif entry.is_dir() and entry.name.startswith("_") and entry.name != "__pycache__":
            out += [p for p in sorted(entry.rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
    return out


def siblings_sha256(path: Path) -> str:
    """One digest of `sibling_files`: their paths relative to the folder and their contents' sha256."""
    folder = path.resolve().parent
    digest = hashlib.sha256()
    for sibling in sibling_files(path):
        digest.update(f"{sibling.relative_to(folder).as_posix()}\0{sha256_file(sibling)}\n".encode())
    return digest.hexdigest()


def check_samples(samples: Any, n: int, shape: tuple[int, ...], name: str = "generator",
                  value_range: tuple[float, float] | None = (0.0, 1.0)) -> torch.Tensor:
    """Return the samples as a float32 tensor, or raise naming the first broken rule of the contract.

    `value_range` is (0, 1) for images; None for standardised table rows, which have no fixed range.
    """
    if isinstance(samples, tuple) and len(samples) == 2:
        samples = samples[0]
    if isinstance(samples, np.ndarray):
        samples = torch.from_numpy(samples)
    if not isinstance(samples, torch.Tensor):
        raise GeneratorError(f"{name} returned {type(samples).__name__}, expected a float tensor or array")
    if not samples.is_floating_point():
        raise GeneratorError(f"{name} returned dtype {samples.dtype}, expected floats"
                             + (" in [0, 1] (divide uint8 images by 255)" if value_range == (0.0, 1.0) else ""))
    if samples.ndim >= 1 and samples.shape[0] != n:
        raise GeneratorError(f"{name} returned {samples.shape[0]} samples, {n} were requested")
    if tuple(samples.shape[1:]) != tuple(shape):
        raise GeneratorError(f"{name} returned samples of shape {tuple(samples.shape[1:])}, expected {tuple(shape)}")
    samples = samples.detach().to("cpu", torch.float32)
    if not torch.isfinite(samples).all():
        raise GeneratorError(f"{name} returned NaN or infinite values")
    if value_range is not None:
        lo, hi = samples.min().item(), samples.max().item()
        if lo < value_range[0] or hi > value_range[1]:
            raise GeneratorError(f"{name} returned values in [{lo:.3g}, {hi:.3g}], "
                                 f"expected [{value_range[0]:g}, {value_range[1]:g}]")
    return samples.contiguous()


def check_labels(labels: Any, n: int, num_classes: int, name: str = "generator") -> torch.Tensor:
    """A generator's own labels as int64 class indices, or raise naming what is wrong with them."""
    if isinstance(labels, np.ndarray):
        labels = torch.from_numpy(labels)
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point() or labels.is_complex() \
            or labels.dtype == torch.bool or tuple(labels.shape) != (n,):
        shape = tuple(labels.shape) if hasattr(labels, "shape") else type(labels).__name__
        raise GeneratorError(f"{name} returned labels {shape}, expected {n} integer class indices")
    labels = labels.detach().to("cpu", torch.int64)
    if n and (labels.min().item() < 0 or labels.max().item() >= num_classes):
        raise GeneratorError(f"{name} returned labels outside [0, {num_classes})")
    return labels
