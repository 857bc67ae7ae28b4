"""Result records: typed, versioned, one JSON file per (suite, generator, protocol), written atomically.

Each record type names its kind (`kind`) and its layout's version (`schema`) in the file; `read_record` returns
the type the file names, upgrading older layouts. Records written before kinds existed (csbench 0.1 and early
0.2) are Compression Score records, a seed's unit where they hold one `seed`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from . import __version__
from .cache import atomic_write_text
from .errors import CsbenchError, clean
from .registry import Choice

R = TypeVar("R", bound="Record")


class RecordKind(Choice):
    CS = "image-cs"
    CS_SEED = "image-cs-seed"
    IMAGE_COMPRESS = "image-compress"
    BUDGET_SEED = "image-budget-seed"
    BUDGET = "image-budget"
    TABULAR_COMPRESS = "tabular-compress"


@dataclass(frozen=True)
class Provenance:
    """Which code, on which machine, when. `libraries`: the versions of the libraries a record's numbers depend
    on, stored as `<library>_version` keys beside `csbench_version`."""

    csbench_version: str
    device: str
    date: str
    libraries: dict[str, str] = field(default_factory=dict)

    KEYS: ClassVar[tuple[str, ...]] = ("csbench_version", "device", "date")

    @classmethod
    def here(cls, device: str, threads: int | None = None, students_batched: int = 1, **libraries: str) -> Provenance:
        """This run's provenance; `threads`, the torch thread count, and `students_batched`, how many students
        trained together (csbench.compression.train_students), change the order of float sums."""
        cpu = platform.processor() or platform.machine()
        machine = device if device != "cpu" else f"cpu ({cpu}{f', {threads} threads' if threads else ''})"
        if students_batched > 1:
            machine += f", {students_batched} students batched"
        return cls(__version__, machine, dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                   {f"{name}_version": version for name, version in libraries.items()})

    def to_json(self) -> dict:
        return {"csbench_version": self.csbench_version, **self.libraries, "device": self.device, "date": self.date}

    @classmethod
    def take(cls, data: dict) -> Provenance:
        """Remove the provenance keys from `data` and return them."""
        libraries = {k: data.pop(k) for k in [k for k in data if k.endswith("_version") and k not in cls.KEYS]}
        return cls(*(data.pop(k) for k in cls.KEYS), libraries)


@dataclass(frozen=True)
class Record:
    """Base of the record types: which generator file, on which suite, against which teacher, how long it took
    and where it ran. The JSON layout is the fields, `kind` and `schema`, with the provenance's keys at the top
    level."""

    kind: ClassVar[RecordKind]
    schema: ClassVar[int]

    generator: dict  # its identity, see generator_provenance (0.2 records: name, file and sha256 only)
    sandbox: dict | None  # the protections the generator's process had (None in tabular records before schema 2)
    suite: str
    teacher: dict
    timings_s: dict
    provenance: Provenance

    def __post_init__(self):
        """Every field as a record file holds it (tuples as lists), so a fresh record equals one read back."""
        for f in dataclasses.fields(self):
            if f.name != "provenance":
                object.__setattr__(self, f.name, as_stored(getattr(self, f.name)))

    def to_json(self) -> dict:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "provenance"}
        return as_stored({"kind": self.kind.value, "schema": self.schema, **fields, **self.provenance.to_json()})

    @classmethod
    def upgrade(cls, data: dict, schema: int) -> dict:
        """`data` of an older layout in this one; the base knows no older layouts."""
        return data

    @classmethod
    def from_json(cls: type[R], data: dict) -> R:
        data = dict(data)
        data.pop("kind", None)
        schema = data.pop("schema", 1)
        if schema > cls.schema:
            raise CsbenchError(f"a {cls.kind} record of schema {schema}: this csbench reads up to {cls.schema}; "
                               "upgrade csbench")
        if schema < cls.schema:
            data = cls.upgrade(data, schema)
        try:
            provenance = Provenance.take(data)
            return cls(**data, provenance=provenance)
        except (KeyError, TypeError) as exc:
            raise CsbenchError(f"not a valid {cls.kind} record of schema {cls.schema}: {exc}") from None


@dataclass(frozen=True)
class ImageRecord(Record):
    """A record of an image suite: its student, the protocol that trained it, and the data it was measured on
    (csbench.data.measured_on). `data` is None in records made before records named their data (csbench 0.2):
    those were all measured on the official release, the only data csbench 0.2 loaded."""

    student: str
    protocol: dict
    data: dict | None

    @classmethod
    def upgrade(cls, data: dict, schema: int) -> dict:
        return {"data": None, **data}

    @property
    def official_data(self) -> bool:
        return self.data is None or self.data["verified"]


@dataclass(frozen=True)
class CsFields(ImageRecord):
    """What a Compression Score seed unit and the record merged from such units both hold."""

    per_class: dict | None
    cas: dict | None
    metrics: dict | None  # the sample-quality metrics, of the first seed's samples
    copying: dict | None
    peak_memory_mib: int

    @classmethod
    def upgrade(cls, data: dict, schema: int) -> dict:
        """Schema 2 added per-class accuracies, CAS and the copy measures; schema 3 the data."""
        return {"per_class": None, "cas": None, "copying": None, **super().upgrade(data, schema)}


@dataclass(frozen=True)
class CsSeedRecord(CsFields):
    """One seed of a Compression Score evaluation: the unit a backend runs, merged into a `CsRecord`."""

    kind: ClassVar[RecordKind] = RecordKind.CS_SEED
    schema: ClassVar[int] = 3

    seed: int
    raw_score: float
    reference_score: float


@dataclass(frozen=True)
class CsRecord(CsFields):
    """A generator's Compression Score on a suite under one protocol, over its seeds."""

    kind: ClassVar[RecordKind] = RecordKind.CS
    schema: ClassVar[int] = 3

    seeds: list[int]
    raw_scores: list[float]
    reference_scores: list[float]
    cs: float
    cs_half_width: float | None  # None for one seed

    @classmethod
    def upgrade(cls, data: dict, schema: int) -> dict:
        """Schema 1's standard error is no interval of this policy's (such records are stale anyway); schema 2
        has the t-interval's half width."""
        data = {"cs_half_width": None, **super().upgrade(data, schema)}
        data.pop("cs_stderr", None)
        return data


@dataclass(frozen=True)
class ImageCompressRecord(ImageRecord):
    """GAN-assisted compression on an image suite: the student on real images alone and with generated ones."""

    kind: ClassVar[RecordKind] = RecordKind.IMAGE_COMPRESS
    schema: ClassVar[int] = 2
    """Schema 2 added the data."""

    ratio: float
    real_rows: int
    generated_rows: int
    seeds: list[int]
    scores: dict  # condition -> one test accuracy per seed
    student_saved: str | None


@dataclass(frozen=True)
class BudgetFields(ImageRecord):
    """What a budget unit (csbench.budget) and the record merged from such units both hold: students trained at
    several sample budgets, each against the same protocol on a random real subset of that size.

    `mix`: "generated" (N generated samples: CS by budget) or "real+generated" (the N real images plus
    `generated` generated ones: GAN-assisted compression); `steps`: the optimisation steps of each budget's
    student."""

    mix: str
    budgets: list[int]
    generated: int | None  # generated samples per student in "real+generated"; None where it is the budget
    steps: list[int]


@dataclass(frozen=True)
class BudgetSeedRecord(BudgetFields):
    """One seed of a budget evaluation: one score and one reference score per budget."""

    kind: ClassVar[RecordKind] = RecordKind.BUDGET_SEED
    schema: ClassVar[int] = 2
    """Schema 2 added the data."""

    seed: int
    scores: list[float]
    reference_scores: list[float]


@dataclass(frozen=True)
class BudgetRecord(BudgetFields):
    """A generator's students by budget over its seeds: `scores[i][j]` is budget i, seed j."""

    kind: ClassVar[RecordKind] = RecordKind.BUDGET
    schema: ClassVar[int] = 2
    """Schema 2 added the data."""

    seeds: list[int]
    scores: list[list[float]]
    reference_scores: list[list[float]]


@dataclass(frozen=True)
class TabularCompressRecord(Record):
    """GAN-assisted compression on a tabular suite: forests of each size under each training condition."""

    kind: ClassVar[RecordKind] = RecordKind.TABULAR_COMPRESS
    schema: ClassVar[int] = 2
    """Schema 2 renamed `cs` (a dict here, a float in CS records) to `cs_by_size`, each entry with its t-interval's
    half width, and added `sandbox`."""

    metric: str
    student_sizes: list[int]
    ratio: float
    train_rows: int
    generated_rows: int
    seeds: list[int]
    scores: dict  # condition -> str(trees) -> one score per seed
    cs_by_size: dict  # str(trees) -> {"cs", "half_width"}
    students_saved: list[str]

    @classmethod
    def upgrade(cls, data: dict, schema: int) -> dict:
        """Schema 1's `cs` held a standard error under 0.1.0: the entries are recomputed from the record's own
        scores by the interval policy, as the board computes them."""
        from .stats import ratio_interval

        data = {"sandbox": None, **data}
        data.pop("cs")
        data["cs_by_size"] = {}
        for size, raw in data["scores"]["generated"].items():
            cs, half_width = ratio_interval(raw, data["scores"]["teacher_real"][size])
            data["cs_by_size"][size] = {"cs": cs, "half_width": half_width}
        return data


RECORD_TYPES: dict[RecordKind, type[Record]] = {
    t.kind: t for t in (CsSeedRecord, CsRecord, ImageCompressRecord, BudgetSeedRecord, BudgetRecord,
                        TabularCompressRecord)}


def parse_record(data: dict) -> Record:
    if "kind" in data:
        try:
            kind = RecordKind(data["kind"])
        except ValueError:
            raise CsbenchError(f"unknown record kind {data['kind']!r}") from None
    else:
        kind = RecordKind.CS_SEED if "seed" in data else RecordKind.CS
    return RECORD_TYPES[kind].from_json(data)


def generator_provenance(gen) -> dict:
    """The identity of the generator file a record belongs to (a `SandboxedGenerator` or `Generator` with its
    `path`): its name, base name, path within its repository (`generators.repository_path`), content sha256, the
    pins of its declared weight files and one digest of its siblings (`generators.siblings_sha256`). A record is
    current only while all of them are unchanged; records written before csbench 0.3 hold only name, file and
    sha256, so their identity is unknown and they are never current."""
    from .cache import sha256_file
    from .generators import repository_path, siblings_sha256

    return {"name": gen.name, "file": gen.path.name, "path": repository_path(gen.path),
            "sha256": sha256_file(gen.path), "weights": {w.name: str(w.pin) for w in gen.weights},
            "siblings_sha256": siblings_sha256(gen.path)}


def owner_problem(existing: Record | None, identity: dict) -> str | None:
    """Why the record `existing` belongs to another generator file than `identity` names, or None: the same path
    within the repository (an edited file is the same generator); for a record from before csbench 0.3, which names
    no path, the same base name and content."""
    if existing is None or existing.generator.get("file") is None:
        return None
    theirs = existing.generator
    if "samples" in (theirs.get("input"), identity.get("input")):  # samples are theirs while their bytes are
        if theirs.get("input") == identity.get("input") and theirs.get("sha256") == identity["sha256"]:
            return None
        return (f"holds the record of {input_words(theirs)}, and {input_words(identity)} has the same name "
                f"{identity['name']!r}")
    if "path" in theirs:
        if theirs["path"] == identity["path"]:
            return None
        owner = f"generator file {clean(theirs['path'], 200)}"
    else:
        if theirs["file"] == identity["file"] and theirs.get("sha256") == identity["sha256"]:
            return None
        owner = (f"generator file {clean(theirs['file'], 100)} (sha256 {clean(theirs.get('sha256'), 64)[:12]}..., "
                 "from before records named a file's path)")
    return (f"holds the record of {owner}, and {clean(identity['path'], 200)} registers the same name "
            f"{identity['name']!r}")


def input_words(generator: dict) -> str:
    """A record's input in words: samples named by their file and sha256, or a generator file by its path."""
    if generator.get("input") == "samples":
        return f"samples {clean(generator.get('file'), 100)} (sha256 {clean(generator.get('sha256'), 64)[:12]}...)"
    return f"generator file {clean(generator.get('path') or generator.get('file'), 200)}"


def refuse_foreign_record(path: Path, identity: dict, remedy: str = "") -> None:
    """A record names its generator, so a file registering another file's name would silently replace its record:
    raise one line naming both files unless the record at `path` is this generator's (`owner_problem`)."""
    problem = owner_problem(readable_record(path), identity)
    if problem:
        raise CsbenchError(f"{clean(path, 300)} {problem}: rename the generator{remedy}")


def record_path(out_dir: Path | str, suite: str, generator: str, protocol: str, default_protocol: str) -> Path:
    """`<out>/<suite>/<generator>.json` for the suite's default protocol, `<generator>--<protocol>.json` otherwise."""
    stem = generator if protocol == default_protocol else f"{generator}--{protocol}"
    return Path(out_dir) / suite / f"{stem}.json"


def seed_record_path(out_dir: Path | str, suite: str, generator: str, protocol: str, default_protocol: str,
                     seed: int) -> Path:
    """`<out>/<suite>/seeds/<record stem>--seed<k>.json`: one seed's unit, merged into the record beside it."""
    record = record_path(out_dir, suite, generator, protocol, default_protocol)
    return record.parent / "seeds" / f"{record.stem}--seed{seed}.json"


def as_stored(value) -> Any:
    """`value` as a record file holds it (tuples as lists), so a fresh record compares equal to one read back."""
    return json.loads(json.dumps(value))


def write_record(path: Path | str, record: Record) -> None:
    atomic_write_text(path, json.dumps(record.to_json(), indent=2, sort_keys=True) + "\n")


def read_record(path: Path | str) -> Record:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CsbenchError(f"cannot read record {path}: {exc}") from None
    try:
        return parse_record(data)
    except CsbenchError as exc:
        raise CsbenchError(f"{path}: {exc}") from None


def readable_record(path: Path) -> Record | None:
    """The record at `path` where there is a readable one. An unreadable file is no current record and names no
    generator: a run may replace it, once the run succeeds."""
    try:
        return read_record(path) if path.is_file() else None
    except CsbenchError:
        return None


def read_records(out_dir: Path | str, suite: str, kind: RecordKind) -> list[Record]:
    """The records of one kind in `<out>/<suite>/`."""
    folder = Path(out_dir) / suite
    records = [read_record(p) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    return [r for r in records if r.kind is kind]
