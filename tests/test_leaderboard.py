import hashlib
import os

import pytest

from csbench.cli import main
from csbench.leaderboard import board_frame, disagreements, reference_lines, render
from csbench.results import record_path, write_record
from csbench.suites import get_suite

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "fashion-mnist.md")
REFERENCE = [0.75, 0.74, 0.76]


def record(name, raw, teacher_is, recall, protocol="paper"):
    suite = get_suite("fashion-mnist")
    return {
        "generator": {"name": name, "file": f"{name}.py", "sha256": hashlib.sha256(name.encode()).hexdigest()},
        "suite": suite.name,
        "protocol": suite.protocol(protocol).to_dict(),
        "seeds": [0, 1, 2],
        "raw_scores": raw,
        "reference_scores": REFERENCE,
        "date": "2026-11-25T10:00:00Z",
        "csbench_version": "0.1.0",
        "metrics": {"teacher": {"n": 10000, "is": teacher_is, "fid": 100 - 10 * teacher_is, "precision": 0.5,
                                "recall": recall, "density": 0.9, "coverage": 0.8, "class_entropy": 2.0,
                                "mean_confidence": 0.9},
                    "inception": {"unavailable": "weights missing"}},
    }


RECORDS = [
    record("real_data", [0.75, 0.75, 0.75], 7.5, 0.7),
    record("few_per_class", [0.40, 0.42, 0.41], 9.0, 0.05),  # confident prototypes, no diversity
    record("uniform_noise", [0.10, 0.10, 0.11], 1.2, 0.0),
    record("real_data", [0.80, 0.81, 0.79], 7.5, 0.7, protocol="graded"),
]


@pytest.fixture
def results(tmp_path):
    suite = get_suite("fashion-mnist")
    for r in RECORDS:
        write_record(record_path(tmp_path / "results", suite.name, r["generator"]["name"], r["protocol"]["name"],
                                 suite.default_protocol), r)
    return tmp_path / "results"


def test_frame_ranks_by_cs_and_normalises_between_noise_and_real():
    frame = board_frame(RECORDS, "paper")
    assert list(frame.generator) == ["real_data", "few_per_class", "uniform_noise"]
    assert frame.cs.iloc[0] == pytest.approx(0.75 / 0.75)
    assert frame.normalised_cs.tolist() == pytest.approx([(0.75 - 0.1033333) / (0.75 - 0.1033333), (0.41 - 0.1033333) / (0.75 - 0.1033333), 0.0], abs=1e-6)


def test_disagreement_names_the_pair_where_is_prefers_the_worse_generator():
    lines = disagreements(board_frame(RECORDS, "paper"))
    assert len(lines) == 1
    assert "prefers `few_per_class` (9.00) to `real_data` (7.50)" in lines[0]
    assert disagreements(board_frame(RECORDS, "paper"), "teacher_recall", "recall") == []


def test_rendering_matches_the_golden_board_and_is_byte_stable(results, tmp_path):
    board = render(get_suite("fashion-mnist"), results, tmp_path / "boards")
    first = board.read_bytes()
    assert board.read_text() == open(GOLDEN, encoding="utf-8").read()
    png = tmp_path / "boards" / "fashion-mnist.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = png.read_bytes()
    render(get_suite("fashion-mnist"), results, tmp_path / "boards")
    assert board.read_bytes() == first and png.read_bytes() == image
    assert "- [fashion-mnist](fashion-mnist.md)" in (tmp_path / "boards" / "README.md").read_text()


def test_cli_without_records_says_how_to_get_them(tmp_path, capsys):
    assert main(["leaderboard", "render", "--suite", "fashion-mnist", "--results", str(tmp_path / "none"),
                 "--out", str(tmp_path / "boards")]) == 2
    assert "run `csbench evaluate FILE --suite fashion-mnist` first" in capsys.readouterr().err


def test_reference_line_takes_the_widest_record_and_names_references_that_differ():
    one_thread = {**record("mixup", [0.74], 7.0, 0.9), "seeds": [0], "reference_scores": [0.7512]}
    frame = board_frame([*RECORDS, one_thread], "paper")
    text = reference_lines(frame, [one_thread, *RECORDS], "paper")
    assert "reaches 0.7500 test accuracy (seeds: 0.7500, 0.7400, 0.7600)" in text
    assert "own reference for a seed (seed 0: 0.7500, 0.7512)" in text
    assert "own reference" not in reference_lines(board_frame(RECORDS, "paper"), RECORDS, "paper")
