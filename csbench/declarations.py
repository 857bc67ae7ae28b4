"""Samples submitted by pull request: a small declaration file under generators/, never the samples themselves.

    # generators/edm_samples.samples.toml
    name = "edm_samples"
    suites = ["cifar10"]
    description = "EDM, 50,000 class-conditional samples"
    licence = "CC-BY-4.0"
    url = "https://example.org/edm-cifar10-50k.npz"
    sha256 = "<64 hex digits of the file>"

The harness downloads the file (an `.npz` or `.npy`; a folder of images is published as an `.npz`) through the
same bounded, pinned download as generator weights (`cache.fetch_all`: a deadline, a size cap, one copy per pin),
checks the pin before anything reads it, and evaluates it like any generator.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, packaged
    import tomli as tomllib

from .cache import DownloadLimits, Pin, fetch_all
from .errors import GeneratorError
from .generators import check_generator_name
from .sample_files import ARRAY_SUFFIXES, inspect

DECLARATION_SUFFIX = ".samples.toml"
FIELDS = {"name": str, "suites": list, "description": str, "licence": str, "url": str, "sha256": str}
MAX_DECLARATION_BYTES = 1 << 16
SCHEMES = ("https", "http")


@dataclass(frozen=True)
class Declaration:
    """A samples declaration, checked: what the sweep needs to know before anything is downloaded."""

    path: Path
    name: str
    suites: tuple[str, ...]
    description: str
    licence: str
    url: str
    pin: Pin

    def supports(self, suite: str) -> bool:
        return "*" in self.suites or suite in self.suites

    def identity(self) -> dict:
        """The fields of the record's identity that the declaration fixes (csbench.sources.Samples.identity)."""
        return {"name": self.name, "input": "samples", "file": self.path.name, "sha256": self.pin.digest,
                "url": self.url}

    @property
    def suffix(self) -> str:
        return Path(urllib.parse.urlsplit(self.url).path).suffix.lower()


def read_declaration(path: Path | str) -> Declaration:
    """Parse and check a declaration file; every problem is one line naming the file."""
    path = Path(path)
    who = f"samples declaration {path.name}"
    if not path.is_file() or path.stat().st_size > MAX_DECLARATION_BYTES:
        raise GeneratorError(f"{who} is missing or larger than {MAX_DECLARATION_BYTES:,} bytes")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GeneratorError(f"{who} is not valid TOML: {' '.join(str(exc).split())[:120]}") from None
    missing = [k for k in FIELDS if k not in data]
    extra = sorted(set(data) - set(FIELDS))
    wrong = [k for k, kind in FIELDS.items() if k in data and not isinstance(data[k], kind)]
    if missing or extra or wrong:
        raise GeneratorError(f"{who}: " + "; ".join(
            ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unknown {', '.join(extra)}"] if extra else [])
            + ([f"wrong type of {', '.join(wrong)}"] if wrong else [])) + f" (it needs {', '.join(FIELDS)})")
    check_generator_name(data["name"], who)
    if not data["suites"] or not all(isinstance(s, str) for s in data["suites"]):
        raise GeneratorError(f"{who}: suites must be a list of suite names")
    if urllib.parse.urlsplit(data["url"]).scheme not in SCHEMES:
        raise GeneratorError(f"{who} has URL {data['url'][:120]!r}; an http(s) URL is needed")
    declaration = Declaration(path, data["name"], tuple(data["suites"]), data["description"], data["licence"],
                              data["url"], _pin(data["sha256"], who))
    if declaration.suffix not in ARRAY_SUFFIXES:
        raise GeneratorError(f"{who}: the URL must name an .npz or .npy file (a folder of images is published as "
                             "an .npz)")
    return declaration


def _pin(digest: str, who: str) -> Pin:
    try:
        return Pin.parse(f"sha256:{digest}")
    except Exception:
        raise GeneratorError(f"{who}: sha256 must be 64 lowercase hex digits") from None


def fetch_declared(path: Path | str, suite):
    """The declared samples as a `Samples` source for `suite`: downloaded where no verified copy is cached, the pin
    checked before any byte is parsed."""
    from .sources import Samples

    declaration = read_declaration(path)
    if not declaration.supports(suite.name):
        raise GeneratorError(f"{declaration.name} does not declare suite {suite.name!r} (it declares "
                             f"{', '.join(declaration.suites)})")
    [local] = fetch_all([(declaration.url, declaration.pin, f"samples of {declaration.path.name}")],
                        DownloadLimits(), "download it where you have internet access")
    return Samples(declaration.name, inspect(local, suite.image_shape, suite.num_classes, declaration.suffix),
                   declaration.suites,
                   declaration.identity())
