import json

import pytest

from csbench.errors import CsbenchError
from csbench.results import (
    CsRecord,
    CsSeedRecord,
    Provenance,
    RecordKind,
    TabularCompressRecord,
    parse_record,
    read_record,
    read_records,
    write_record,
)

SEED_FIELDS = {"generator": {"name": "g", "file": "g.py", "sha256": "ab"}, "sandbox": {}, "suite": "s",
               "teacher": {}, "student": "lenet", "protocol": {"name": "p"}, "seed": 0, "raw_score": 0.5,
               "reference_score": 0.8, "metrics": None, "timings_s": {"total": 1.0}, "peak_memory_mib": 10,
               "csbench_version": "0.1.0", "torch_version": "2", "device": "cpu", "date": "2026-01-01T00:00:00Z"}


def test_records_round_trip_with_kind_schema_and_flat_provenance(tmp_path):
    record = parse_record({**SEED_FIELDS, "kind": "image-cs-seed", "schema": 2, "per_class": None, "cas": None,
                           "copying": None})
    assert isinstance(record, CsSeedRecord)
    assert record.provenance == Provenance("0.1.0", "cpu", "2026-01-01T00:00:00Z", {"torch_version": "2"})
    write_record(tmp_path / "s" / "g.json", record)
    stored = json.loads((tmp_path / "s" / "g.json").read_text())
    assert stored["kind"] == "image-cs-seed" and stored["schema"] == 3 and stored["torch_version"] == "2"
    assert read_record(tmp_path / "s" / "g.json") == record
    assert record.data is None and record.official_data  # schema 2 named no data: csbench 0.2 loaded only the release
    assert read_records(tmp_path, "s", RecordKind.CS) == [] and read_records(tmp_path, "s", RecordKind.CS_SEED)


def test_layouts_without_a_kind_read_as_the_compression_score_records_they_were():
    seed = parse_record(SEED_FIELDS)  # csbench 0.1: no kind, no schema, no per-class scores
    assert isinstance(seed, CsSeedRecord) and seed.per_class is None and seed.copying is None
    merged = {k: v for k, v in SEED_FIELDS.items() if k not in ("seed", "raw_score", "reference_score")}
    old = parse_record({**merged, "seeds": [0], "raw_scores": [0.5], "reference_scores": [0.8], "cs": 0.625,
                        "cs_stderr": 0.01})
    assert isinstance(old, CsRecord) and old.cs == 0.625 and old.cs_half_width is None


def test_tabular_schema_one_renames_cs_to_cs_by_size():
    fields = {"suite": "magic", "generator": {"name": "g"}, "teacher": {}, "metric": "auc", "student_sizes": [1],
              "ratio": 1.0, "train_rows": 10, "generated_rows": 10, "seeds": [0, 1, 2],
              "scores": {"generated": {"1": [0.8, 0.9, 0.85]}, "teacher_real": {"1": [0.9, 0.9, 0.9]}},
              "students_saved": [], "timings_s": {}, "csbench_version": "0.1.0", "sklearn_version": "1",
              "device": "cpu", "date": "d"}
    record = parse_record({**fields, "kind": "tabular-compress", "cs": {"1": {"cs": 0.9, "stderr": 0.1}}})
    assert isinstance(record, TabularCompressRecord)
    # recomputed by the interval policy: CS 0.85 / 0.9, residuals -0.05, 0.05, 0 about it: sd 0.05,
    # SE 0.05 / (sqrt 3 * 0.9), t(0.975, 2) = 4.303
    assert record.cs_by_size["1"]["cs"] == pytest.approx(0.85 / 0.9)
    assert record.cs_by_size["1"]["half_width"] == pytest.approx(4.3027 * 0.05 / (3 ** 0.5 * 0.9), rel=1e-4)
    assert record.sandbox is None and "cs" not in record.to_json() and record.to_json()["schema"] == 2


def test_a_record_names_the_data_it_was_measured_on(tmp_path):
    data = {"train": "aa", "test": "bb", "verified": False, "teacher_accuracy": 0.832}
    record = parse_record({**SEED_FIELDS, "kind": "image-cs-seed", "schema": 3, "per_class": None, "cas": None,
                           "copying": None, "data": data})
    write_record(tmp_path / "s" / "g.json", record)
    assert json.loads((tmp_path / "s" / "g.json").read_text())["data"] == data
    assert read_record(tmp_path / "s" / "g.json").data == data and not record.official_data


@pytest.mark.parametrize("change, message", [
    ({"kind": "image-fid"}, "unknown record kind 'image-fid'"),
    ({"kind": "image-cs-seed", "schema": 9}, "schema 9: this csbench reads up to 3"),
    ({"kind": "image-cs-seed", "schema": 2, "stray": 1}, "not a valid image-cs-seed record"),
])
def test_a_bad_record_is_one_line_naming_its_file(tmp_path, change, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**SEED_FIELDS, "per_class": None, "cas": None, "copying": None, **change}))
    with pytest.raises(CsbenchError, match=message) as failure:
        read_record(path)
    assert str(path) in str(failure.value) and "\n" not in str(failure.value)
    path.write_text("{not json")
    with pytest.raises(CsbenchError, match="cannot read record"):
        read_record(path)
