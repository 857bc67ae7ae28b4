"""Records are identified by their generator file's identity (issue 28): hostile files from tests/hostile/ that
once replaced another generator's record are refused in one line with the record untouched, and a record is
current only while every input that can change the samples is unchanged."""

import json
import shutil
from pathlib import Path

import pytest
from conftest import GENERATORS, ROOT

import csbench
from csbench import __version__
from csbench.data import DataIdentity
from csbench.errors import CsbenchError, GeneratorError
from csbench.evaluate import evaluate
from csbench.gan_mc import compress_images
from csbench.generators import GENERATOR_NAME, declared_weights, load_generator_file, sibling_files
from csbench.generators import GENERATORS as REGISTERED
from csbench.results import as_stored, generator_provenance, parse_record, refuse_foreign_record, write_record
from csbench.sandbox import Limits, SandboxedGenerator, describe
from csbench.suites import get_suite
from csbench.sweep import Status, evaluate_all, is_current

HOSTILE = Path(__file__).parent / "hostile"
FAST = Limits(timeout_s=60, memory_mib=2048)
COMMITTED = ROOT / "results" / "fashion-mnist" / "uniform_noise.json"
RELEASE = (DataIdentity("0" * 64, True), DataIdentity("1" * 64, True))  # a run on the official release


def repository(tmp_path: Path) -> Path:
    """A checkout holding the floor generator at generators/uniform_noise.py and the hostile file of the same base
    name at generators/sub/uniform_noise.py."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "generators" / "sub").mkdir(parents=True)
    shutil.copy(GENERATORS / "uniform_noise.py", repo / "generators")
    shutil.copy(HOSTILE / "same_base_name" / "uniform_noise.py", repo / "generators" / "sub")
    return repo


def sandboxed(path: Path, name: str = "uniform_noise") -> SandboxedGenerator:
    """What `describe` returns for `path`, without its child process."""
    return SandboxedGenerator(name, ("*",), False, "", path, {}, weights=declared_weights(path))


def floor_record(owner: dict | None) -> dict:
    """The committed floor record as JSON, owned by `owner` (None: as committed, from before paths in records)."""
    data = json.loads(COMMITTED.read_text())
    return data if owner is None else {**data, "generator": owner}


def write_json(path: Path, data: dict) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path.read_bytes()


def test_a_name_holding_a_record_separator_is_refused(tmp_path):
    shutil.copy(HOSTILE / "aliases_a_record.py", tmp_path)
    refusal = (r"^generator file aliases_a_record.py registers the name 'real_data--paper'; a name .* joined by "
               r"single hyphens \('--' separates")
    with pytest.raises(GeneratorError, match=refusal) as err:
        describe(tmp_path / "aliases_a_record.py", FAST)
    assert "\n" not in str(err.value)
    with pytest.raises(GeneratorError, match=refusal):  # in-process too, leaving nothing registered
        load_generator_file(tmp_path / "aliases_a_record.py")
    assert "real_data--paper" not in REGISTERED
    assert all(GENERATOR_NAME.fullmatch(name) for name in ("real_data", "authors-acgan", "acgan_epoch0.25"))
    assert not any(GENERATOR_NAME.fullmatch(name) for name in ("a-", "-a", "a---b", "../a", "a/b", "a" * 101))


def test_a_sweep_cannot_reach_another_generators_record_through_a_name(tmp_path):
    folder = tmp_path / "gens"
    folder.mkdir()
    shutil.copy(HOSTILE / "aliases_a_record.py", folder)
    out = tmp_path / "results"
    before = write_json(out / "fashion-mnist" / "real_data--paper.json", floor_record(None))
    with pytest.raises(CsbenchError, match="no generator file under .* registers real_data--paper"):
        evaluate_all("fashion-mnist", folder, out_dir=out, only=["real_data--paper"])
    assert (out / "fashion-mnist" / "real_data--paper.json").read_bytes() == before


@pytest.mark.parametrize("owner", ["path", "before 0.3"])
def test_a_file_of_the_same_base_name_in_a_sub_folder_cannot_replace_a_record(tmp_path, owner):
    repo = repository(tmp_path)
    out = tmp_path / "results"
    identity = generator_provenance(sandboxed(repo / "generators" / "uniform_noise.py"))
    assert identity["path"] == "generators/uniform_noise.py"
    record = out / "fashion-mnist" / "uniform_noise.json"
    before = write_json(record, floor_record(identity if owner == "path" else None))
    with pytest.raises(CsbenchError, match=r"uniform_noise.json holds the record of generator file "
                                           r"(generators/uniform_noise.py|uniform_noise.py \(sha256 01a57458cb8e.*\)), "
                                           r"and generators/sub/uniform_noise.py registers the same name "
                                           r"'uniform_noise': rename the generator, or pass --replace") as err:
        evaluate(repo / "generators" / "sub" / "uniform_noise.py", "fashion-mnist", out_dir=out,
                 options=csbench.evaluate.RunOptions(limits=FAST))
    assert "\n" not in str(err.value) and record.read_bytes() == before
    refuse_foreign_record(record, identity)  # its own file may replace it


def test_compress_cannot_replace_another_generators_record(tmp_path):
    repo = repository(tmp_path)
    out = tmp_path / "results"
    identity = generator_provenance(sandboxed(repo / "generators" / "uniform_noise.py"))
    record = out / "fashion-mnist" / "compress" / "uniform_noise.json"
    data = {"kind": "image-compress", "schema": 1, **{k: v for k, v in floor_record(identity).items() if k in (
        "generator", "sandbox", "suite", "teacher", "student", "protocol", "timings_s", "csbench_version", "device",
        "date")}, "ratio": 4.0, "real_rows": 10, "generated_rows": 40, "seeds": [0], "student_saved": None,
            "scores": {"real_only": [0.5], "real_plus_generated": [0.6]}}
    parse_record(data)  # a valid record
    before = write_json(record, data)
    with pytest.raises(CsbenchError, match=r"holds the record of generator file generators/uniform_noise.py, and "
                                           r"generators/sub/uniform_noise.py registers the same name"):
        compress_images(repo / "generators" / "sub" / "uniform_noise.py", "fashion-mnist", out_dir=out,
                        options=csbench.evaluate.RunOptions(limits=FAST))
    assert record.read_bytes() == before and sorted(p.name for p in record.parent.iterdir()) == ["uniform_noise.json"]


def test_evaluate_all_refuses_a_file_whose_name_holds_another_files_record(tmp_path, tiny_data):
    repo = repository(tmp_path)
    (repo / "generators" / "uniform_noise.py").unlink()  # the owner gone: the name alone must not be enough
    out = tmp_path / "results"
    identity = generator_provenance(sandboxed(repo / "generators" / "sub" / "uniform_noise.py"))
    identity = {**identity, "path": "generators/uniform_noise.py"}
    record = out / "fashion-mnist" / "uniform_noise.json"
    before = write_json(record, floor_record(identity))
    [outcome] = evaluate_all("fashion-mnist", repo / "generators", out_dir=out,  # the sweep checks the data first
                             options=csbench.evaluate.RunOptions(limits=FAST, data_root=tiny_data))
    assert outcome.status is Status.FAILED and record.read_bytes() == before
    assert "holds the record of generator file generators/uniform_noise.py, and generators/sub/uniform_noise.py " \
           "registers the same name 'uniform_noise': rename the generator, or move that record away" in outcome.detail


def current_record(gen: SandboxedGenerator) -> dict:
    suite = get_suite("fashion-mnist")
    data = floor_record(generator_provenance(gen))
    return {**data, "csbench_version": __version__, "teacher": {**data["teacher"], "pin": str(suite.teacher.pin)},
            "protocol": as_stored(suite.protocol().to_dict())}


def test_current_means_every_input_that_can_change_the_samples_is_unchanged(tmp_path):
    suite = get_suite("fashion-mnist")
    folder = tmp_path / "gen"
    (folder / "_lib").mkdir(parents=True)
    shutil.copy(GENERATORS / "uniform_noise.py", folder)
    for path, text in (("_helper.py", "X = 1\n"), ("_lib/util.py", "Y = 2\n"), ("w.pt", "weights"),
                       ("other.py", "# another generator\n")):
        (folder / path).write_text(text)
    (folder / "sub").mkdir()
    path = folder / "uniform_noise.py"
    record = parse_record(current_record(sandboxed(path)))
    write_record(tmp_path / "r.json", record)

    def current() -> bool:
        return is_current(record, generator_provenance(sandboxed(path)), suite, suite.protocol(), [0, 1, 2],
                          RELEASE)

    assert current()
    assert [p.relative_to(folder).as_posix() for p in sibling_files(path)] == ["_helper.py", "_lib/util.py", "w.pt"]
    (folder / "other.py").write_text("# edited\n")  # another generator's file
    (folder / "sub" / "x.py").write_text("# a sub-folder: other generators\n")
    (folder / "_lib" / "__pycache__").mkdir()
    (folder / "_lib" / "__pycache__" / "util.pyc").write_bytes(b"compiled")
    assert current()
    for change in ("_helper.py", "_lib/util.py", "w.pt"):
        original = (folder / change).read_text()
        (folder / change).write_text(original + "changed\n")
        assert not current(), f"{change} changed, the record is still current"
        (folder / change).write_text(original)
        assert current()
    path.write_text(path.read_text().replace('suites=["*"]', 'suites=["*"], weights={"w.bin": '
                                             '("https://example.org/w", "sha256:' + "0" * 64 + '")}'))
    assert not current(), "declared weights changed, the record is still current"


def test_a_record_from_before_identities_is_never_current():
    suite = get_suite("fashion-mnist")
    gen = sandboxed(GENERATORS / "uniform_noise.py")
    legacy = parse_record({**current_record(gen), "generator": floor_record(None)["generator"]})
    assert not is_current(legacy, generator_provenance(gen), suite, suite.protocol(), [0, 1, 2], RELEASE)
    assert is_current(parse_record(current_record(gen)), generator_provenance(gen), suite, suite.protocol(), [0, 1, 2],
                      RELEASE)


def test_evaluate_all_prints_a_folder_name_with_markup_and_escapes_cleaned(tmp_path, capsys, tiny_data, monkeypatch):
    from csbench.cli import main

    monkeypatch.setenv("CSBENCH_DATA", str(tiny_data))  # the sweep checks the data first
    folder = tmp_path / "gens[" / "][bold]\x1b[31m"  # the path reads gens[/][bold]...
    folder.mkdir(parents=True)
    shutil.copy(HOSTILE / "aliases_a_record.py", folder)
    assert main(["evaluate-all", "--suite", "fashion-mnist", "--generators", str(folder), "--out",
                 str(tmp_path / "results"), "--timeout", "60"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "failed" in err and "gens(/)(bold) [31m/aliases_a_record.py generator file aliases_a_record.py" in err
    assert "\x1b" not in err and "Traceback" not in err and "1 generator files: 0 evaluated" in err
