"""Result records: one JSON file per (suite, generator, protocol), written atomically, and what every record says
about where it came from.

Each kind of record names itself (`kind`) and its layout's version (`schema`); readers take records without
`kind` as Compression Score records of schema 1 or 2, as csbench 0.1 and 0.2 wrote them.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
from enum import Enum
from pathlib import Path

from . import __version__
from .cache import atomic_write_text


class RecordKind(str, Enum):
    CS = "image-cs"
    IMAGE_COMPRESS = "image-compress"
    TABULAR_COMPRESS = "tabular-compress"


SCHEMA = {RecordKind.CS: 2, RecordKind.IMAGE_COMPRESS: 1, RecordKind.TABULAR_COMPRESS: 1}
"""Layout versions: CS 2 added per-class accuracies, CAS and the copy measures."""


def kind_of(record: dict) -> RecordKind:
    return RecordKind(record.get("kind", RecordKind.CS.value))


def header(kind: RecordKind) -> dict:
    return {"kind": kind.value, "schema": SCHEMA[kind]}


def generator_provenance(gen) -> dict:
    """The generator file a record belongs to: a `SandboxedGenerator` or `Generator` with its `path`."""
    from .cache import sha256_file

    return {"name": gen.name, "file": gen.path.name, "sha256": sha256_file(gen.path)}


def provenance(device: str, threads: int | None = None, **versions: str) -> dict:
    """Which code, on which machine, when: `versions` adds the libraries the record's numbers depend on; `threads`
    the torch thread count, which changes the order of float sums."""
    cpu = platform.processor() or platform.machine()
    machine = device if device != "cpu" else f"cpu ({cpu}{f', {threads} threads' if threads else ''})"
    return {"csbench_version": __version__, **versions, "device": machine,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def record_path(out_dir: Path | str, suite: str, generator: str, protocol: str, default_protocol: str) -> Path:
    """`<out>/<suite>/<generator>.json` for the suite's default protocol, `<generator>--<protocol>.json` otherwise."""
    stem = generator if protocol == default_protocol else f"{generator}--{protocol}"
    return Path(out_dir) / suite / f"{stem}.json"


def seed_record_path(out_dir: Path | str, suite: str, generator: str, protocol: str, default_protocol: str,
                     seed: int) -> Path:
    """`<out>/<suite>/seeds/<record stem>--seed<k>.json`: one seed's unit, merged into the record beside it."""
    record = record_path(out_dir, suite, generator, protocol, default_protocol)
    return record.parent / "seeds" / f"{record.stem}--seed{seed}.json"


def as_stored(value) -> object:
    """`value` as a record file holds it (tuples as lists), so a fresh record compares equal to one read back."""
    return json.loads(json.dumps(value))


def write_record(path: Path | str, record: dict) -> None:
    atomic_write_text(path, json.dumps(record, indent=2, sort_keys=True) + "\n")


def read_record(path: Path | str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_records(out_dir: Path | str, suite: str) -> list[dict]:
    folder = Path(out_dir) / suite
    return [read_record(p) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
