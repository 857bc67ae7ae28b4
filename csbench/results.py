"""Result records: one JSON file per (suite, generator, protocol), written atomically."""

from __future__ import annotations

import json
from pathlib import Path

from .cache import atomic_write_text


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
