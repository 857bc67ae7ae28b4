"""Where a seed's samples come from: one abstraction for every input csbench scores.

- `SandboxedFile`: a generator file, described and drawn in the sandbox (its code never runs in the harness);
- `InMemory`: a sampling function in this process (csbench.api, `--in-process`): trusted code, no sandbox;
- `Samples`: samples someone already has (a folder of images, an `.npy`/`.npz`, arrays in memory), read by the
  harness; seed s reads slice s mod K of the K = count // n disjoint, interleaved slices of n samples (`seed_rows`).

A source names itself (`name`), says which suites it declares (`supports`), and draws one seed's checked samples
(`draw`). `open_source` turns a path (a generator file, a samples folder or file, or a samples declaration) into
its source: the one place that tells the kinds apart.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .generators import SampleContext, check_labels, check_samples, load_generator_file
from .sample_files import SamplesError, SamplesFile, inspect, is_samples_path, layout_of, read_slice, to_images
from .sandbox import Limits, SandboxedGenerator, describe
from .timing import Timings


@dataclass(frozen=True)
class Generated:
    """One seed's checked samples, the generator's own labels (or None), and where they came from."""

    samples: torch.Tensor
    labels: torch.Tensor | None
    generator: dict  # the record's name for the input: name, file and sha256, plus `samples` for samples
    sandbox: dict
    sampling_s: float


@dataclass(frozen=True)
class SandboxedFile:
    """A generator file run in the sandbox. It is described again where it is drawn (in a backend's worker, the
    worker's own protections go into the record); `protected`: folders it must not read, beyond the cache and
    data the sandbox adds."""

    path: Path
    protected: tuple[Path, ...] = ()
    limits: Limits = Limits()

    @property
    def described(self) -> SandboxedGenerator:
        return describe(self.path, self.limits, self.protected)

    @property
    def name(self) -> str:
        return self.described.name

    def supports(self, suite: str) -> bool:
        return self.described.supports(suite)

    def identity(self, n: int) -> dict:
        from .results import generator_provenance

        return generator_provenance(self.described)

    def draw(self, suite, n: int, seed: int, options, train) -> Generated:
        from .results import generator_provenance
        from .sandbox import context, describe_for, sample_labelled

        protected = [*self.protected, *([options.data_root] if options.data_root else [])]
        gen = describe_for(self.path, suite.name, options.limits, protected)
        ctx = context(gen, suite.name, suite.image_shape, suite.num_classes, train, options.device)
        timed = Timings()
        with timed.measure("sampling"):
            samples, labels = sample_labelled(gen, ctx, n, seed, options.limits, protected)
        return Generated(samples, labels, generator_provenance(gen), gen.sandbox, timed["sampling"])


@dataclass(frozen=True)
class InMemory:
    """A sampling function `sample(n, seed, ctx)` in this process, with the checks the sandboxed path makes."""

    sample: Callable[[int, int, SampleContext], Any]
    generator: dict  # name, file, sha256 (file and sha256 None for a function with no file)
    directory: Path | None = None
    weights: dict[str, Path] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.generator["name"]

    def supports(self, suite: str) -> bool:
        return True

    def identity(self, n: int) -> dict:
        return self.generator

    def draw(self, suite, n: int, seed: int, options, train) -> Generated:
        from .errors import GeneratorError

        ctx = SampleContext(suite=suite.name, shape=suite.image_shape, num_classes=suite.num_classes,
                            directory=self.directory or Path.cwd(), device=options.device, train=train,
                            weights=self.weights)
        timed = Timings()
        try:
            with timed.measure("sampling"):
                out = self.sample(n, seed, ctx)
        except GeneratorError:
            raise
        except Exception as exc:
            raise GeneratorError(f"generator {self.name} raised while sampling: {type(exc).__name__}: {exc}") from None
        images, labels = out if isinstance(out, tuple) and len(out) == 2 else (out, None)
        what = f"generator {self.name}"
        images = check_samples(images, n, suite.image_shape, name=what)
        labels = None if labels is None else check_labels(labels, n, suite.num_classes, what)
        return Generated(images, labels, self.generator, {"in_process": True}, timed["sampling"])


@dataclass(frozen=True)
class ArraySamples:
    """Samples held in memory (csbench.api): the layouts and checks of a samples file, named by the sha256 of the
    arrays' bytes."""

    images: np.ndarray
    labels: np.ndarray | None
    layout: str
    sha256: str

    format = "array"

    @property
    def count(self) -> int:
        return len(self.images)

    def describe(self) -> dict:
        return {"format": self.format, "count": self.count, "layout": self.layout, "dtype": self.images.dtype.name,
                "labelled": self.labels is not None}

    def read(self, rows: slice, memory_mib: int, shape) -> tuple[torch.Tensor, torch.Tensor | None]:
        images = to_images(np.ascontiguousarray(self.images[rows]), self.layout, shape, "the samples")
        labels = None if self.labels is None else torch.from_numpy(self.labels[rows].astype(np.int64))
        return images, labels


def array_samples(images, labels, shape: tuple[int, ...], num_classes: int) -> ArraySamples:
    """Arrays (numpy or torch) in the layouts a samples file may use, checked as one would be."""
    from .sample_files import _check_dtype, _check_label_values

    images = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    _check_dtype(images.dtype, "the samples")
    if images.ndim not in (3, 4):
        raise SamplesError(f"the samples are an array of rank {images.ndim}; expected (N, C, H, W), (N, H, W, C)"
                           + (" or (N, H, W)" if shape[0] == 1 else ""))
    layout = layout_of(tuple(images.shape[1:]), tuple(shape), "the samples")
    digest = hashlib.sha256(np.ascontiguousarray(images).data)
    if labels is not None:
        labels = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
        if labels.dtype.kind not in "iu" or labels.shape != (len(images),):
            raise SamplesError(f"the labels are {labels.shape} {labels.dtype}; expected {len(images):,} integer "
                               "class indices, one per image")
        _check_label_values(labels, num_classes, "the labels")
        digest.update(np.ascontiguousarray(labels).data)
    return ArraySamples(images, labels, layout, digest.hexdigest())


@dataclass(frozen=True)
class Samples:
    """Samples read by the harness: nothing runs. `declaration`: what the declaration the samples were published
    under fixes of the identity (its file name, the URL), where they were."""

    name: str
    data: SamplesFile | ArraySamples
    suites: tuple[str, ...] = ("*",)
    declaration: dict | None = None

    def supports(self, suite: str) -> bool:
        return "*" in self.suites or suite in self.suites

    def slices(self, n: int) -> int:
        """How many disjoint slices of `n` the samples hold: seed s reads slice s mod this."""
        if self.data.count < n:
            raise SamplesError(f"{self.what} holds {self.data.count:,} samples; the protocol needs {n:,} per seed "
                               f"(--samples {self.data.count} scores a smaller protocol, recorded as such)")
        return self.data.count // n

    @property
    def what(self) -> str:
        return f"samples {self.data.path.name}" if isinstance(self.data, SamplesFile) else "the samples"

    def identity(self, n: int) -> dict:
        """The record's name for the input: its bytes' sha256, format and how seeds slice it."""
        file = self.data.path.name if isinstance(self.data, SamplesFile) else None
        return {"name": self.name, "input": "samples", "file": file, "sha256": self.data.sha256,
                **(self.declaration or {}), "samples": {**self.data.describe(), "slices": self.slices(n)}}

    def draw(self, suite, n: int, seed: int, options, train) -> Generated:
        rows = seed_rows(self.slices(n), n, seed)
        timed = Timings()
        with timed.measure("sampling"):
            if isinstance(self.data, SamplesFile):
                images, labels = read_slice(self.data, rows, options.limits.memory_mib)
            else:
                images, labels = self.data.read(rows, options.limits.memory_mib, suite.image_shape)
        if labels is not None:
            labels = check_labels(labels, n, suite.num_classes, self.what)
        return Generated(images, labels, self.identity(n), {"read_by_harness": True}, timed["sampling"])


Source = SandboxedFile | InMemory | Samples


def seed_rows(slices: int, n: int, seed: int) -> slice:
    """Seed s's `n` rows of samples holding `slices` disjoint slices: every `slices`-th row from row s mod
    `slices`. Interleaved, not contiguous, so that a file written class by class gives every seed every class."""
    offset = seed % slices
    return slice(offset, offset + slices * n, slices)


def samples_name(path: Path) -> str:
    """A samples file's default name: its stem (a folder: its name), as a generator name may spell it."""
    import re

    stem = path.resolve().name if path.is_dir() else path.stem
    return re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9_.-]", "_", stem)).strip("-")[:100] or "samples"


def open_source(path: Path | str, suite, *, protected: Sequence[Path | str] = (), in_process: bool = False,
                name: str | None = None, limits=None) -> Source:
    """The source at `path` for `suite`: a samples folder or array file, a samples declaration
    (`*.samples.toml`, downloaded and pin-checked here), or a generator file (sandboxed, or imported here with
    `in_process`). A source that does not declare the suite is refused in one line."""
    from .declarations import DECLARATION_SUFFIX, fetch_declared
    from .errors import GeneratorError
    from .generators import check_generator_name, fetch_generator_weights
    from .results import generator_provenance
    from .sandbox import describe_for

    path = Path(path)
    if name is not None and not is_samples_path(path):
        raise GeneratorError("--name names a samples folder or file; a generator file names itself")
    if name is not None:
        check_generator_name(name, "--name")
    if path.name.endswith(DECLARATION_SUFFIX):
        source = fetch_declared(path, suite)
    elif is_samples_path(path):
        source = Samples(name or samples_name(path), inspect(path, suite.image_shape, suite.num_classes))
    elif in_process:
        gen = load_generator_file(path)
        source = InMemory(gen.sample, generator_provenance(gen), gen.path.parent, fetch_generator_weights(gen))
    else:
        protected = tuple(Path(p) for p in protected)
        describe_for(path, suite.name, limits or Limits(), protected)
        return SandboxedFile(path, protected, limits or Limits())
    if not source.supports(suite.name):
        raise GeneratorError(f"{source.name} does not declare suite {suite.name!r}")
    return source
