import dataclasses
import hashlib
import os

import pytest

from csbench import __version__
from csbench.cli import main
from csbench.leaderboard import (
    FIDELITY_CHECKS,
    board_frame,
    disagreements,
    reference_lines,
    render,
    render_board,
    render_index,
)
from csbench.metrics.copying import COPY_RULE, TEST_COPY_RULE
from csbench.results import CsRecord, record_path, write_record
from csbench.suites import get_suite

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "fashion-mnist.md")
REFERENCE = [0.75, 0.74, 0.76]
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def record(name, raw, teacher_is, recall, protocol="paper", precision=0.5, class_shares=None, **extra):
    suite = get_suite("fashion-mnist")
    shares = {} if class_shares is None else {"class_shares": class_shares}
    return CsRecord.from_json({
        "generator": {"name": name, "file": f"{name}.py", "sha256": hashlib.sha256(name.encode()).hexdigest()},
        "sandbox": {}, "teacher": {}, "student": "lenet", "cs": 0.0, "cs_half_width": None, "timings_s": {},
        "peak_memory_mib": 0, "device": "cpu", "per_class": None, "cas": None, "copying": None,
        "suite": suite.name,
        "protocol": suite.protocol(protocol).to_dict(),
        "seeds": list(range(len(raw))),
        "raw_scores": raw,
        "reference_scores": REFERENCE[:len(raw)],
        "date": "2026-11-25T10:00:00Z",
        "csbench_version": __version__,
        "metrics": {"teacher": {"n": 10000, "is": teacher_is, "fid": 100 - 10 * teacher_is, "precision": precision,
                                "recall": recall, "density": 0.9, "coverage": 0.8, "class_entropy": 2.0,
                                "mean_confidence": 0.9, **shares},
                    "inception": {"unavailable": "weights missing"}},
        **extra,
    })


def per_class(raw_per_class):
    """Every seed the same per-class accuracies, against a reference student at 0.8 on every class."""
    return {"raw_scores": [raw_per_class] * 3, "reference_scores": [[0.8] * 10] * 3, "classes": CLASSES}


def copying(copy_rate, flagged):
    test = {"copy_rate": copy_rate, "heldout_copy_rate": 0.02, "threshold": 1.5, "ct": -4.0 if flagged else 0.3}
    return {"teacher": test, "pixel": {**test, "copy_rate": copy_rate / 2}, "flagged": flagged,
            "rule": "Flagged when the teacher-space copy rate exceeds five times the held-out rate."}


FIVE_CLASSES = [0.78] * 5 + [0.01] * 5
RECORDS = [
    record("real_data", [0.75, 0.74, 0.76], 7.5, 0.7, per_class=per_class([0.8] * 10),
           cas={"scores": [0.74, 0.75, 0.74], "label_agreement": [0.96, 0.96, 0.96]}, copying=copying(0.99, True)),
    record("few_per_class", [0.40, 0.42, 0.41], 9.0, 0.05, cas=None),  # confident prototypes, no diversity
    record("acgan", [0.60, 0.58, 0.61], 5.0, 0.4, precision=0.4, per_class=per_class([0.6] * 9 + [0.32]),
           class_shares=[0.4, 0.4] + [0.025] * 8,
           cas={"scores": [0.55, 0.56, 0.54], "label_agreement": [0.81, 0.80, 0.82]}, copying=copying(0.01, False)),
    record("real_five_classes", [0.38, 0.38, 0.39], 4.7, 0.6, per_class=per_class(FIVE_CLASSES),
           class_shares=[0.2] * 5 + [0.0] * 5),
    record("memoriser", [0.74, 0.73, 0.75], 7.4, 0.7, copying=copying(0.97, True)),
    record("two_seeds", [0.50, 0.52], 3.0, 0.2),
    record("uniform_noise", [0.10, 0.10, 0.11], 1.2, 0.0),
    record("real_data", [0.80, 0.81, 0.79], 7.5, 0.7, protocol="graded"),
]


@pytest.fixture
def results(tmp_path):
    suite = get_suite("fashion-mnist")
    for r in RECORDS:
        write_record(record_path(tmp_path / "results", suite.name, r.generator["name"], r.protocol["name"],
                                 suite.default_protocol), r)
    return tmp_path / "results"


@pytest.fixture
def board(results, tmp_path):
    return render(get_suite("fashion-mnist"), results, tmp_path / "boards").read_text()


def section(board, title):
    """One `###` section of the paper protocol, where the test records are."""
    start = board.index(title, board.index("## Protocol `paper`"))
    return board[start:board.index("\n### ", start + 1)]


def test_frame_groups_ranks_by_cs_and_normalises_between_noise_and_real():
    frame = board_frame(RECORDS, "paper")
    assert list(zip(frame.generator, frame.group)) == [
        ("acgan", "ranked"), ("few_per_class", "ranked"), ("real_data", "reference"),
        ("real_five_classes", "reference"), ("uniform_noise", "reference"), ("two_seeds", "provisional"),
        ("memoriser", "copies")]
    real = frame.set_index("generator").loc["real_data"]
    assert real.cs == pytest.approx(1.0) and real.half == pytest.approx(0.0)
    floor = 0.31 / 3
    assert frame.set_index("generator").loc["few_per_class"].normalised_cs == pytest.approx(
        (0.41 - floor) / (0.75 - floor))


def test_provisional_rows_are_shown_below_the_ranking_without_an_interval(board):
    ranked = section(board, "### Ranked generators")
    assert "| 1 | `acgan` | 0.796 ± " in ranked and "two_seeds" not in ranked
    assert "| `two_seeds` | 0.685 | " in section(board, "### Provisional (fewer than 3 seeds)")
    assert "with Student's t at n − 1 degrees of freedom" in ranked


def test_disagreement_is_decided_by_the_paired_test():
    lines = disagreements(board_frame(RECORDS, "paper"))
    # IS prefers few_per_class to real_data and to acgan, and CS ranks it below both on every seed
    assert [line.split(";")[0] for line in lines] == [
        "- `few_per_class` over `acgan` by teacher-IS (9.00 against 5.00) and teacher-FID (10.0 against 50.0)",
        "- `few_per_class` over `real_data` by teacher-IS (9.00 against 7.50) and teacher-FID (10.0 against 25.0)"]
    assert "over 3 shared seeds" in lines[0]
    noisy = [record("few_per_class", [0.40, 0.70, 0.55], 9.0, 0.05), record("acgan", [0.60, 0.45, 0.61], 5.0, 0.4)]
    assert disagreements(board_frame(noisy, "paper")) == []  # CS differs on average, but not beyond seed noise
    short = [record("few_per_class", [0.40, 0.42], 9.0, 0.05), record("acgan", [0.60, 0.58], 5.0, 0.4)]
    assert disagreements(board_frame(short, "paper")) == []  # two shared seeds: not tested


def test_fidelity_disagreement_names_a_high_cs_with_low_precision():
    lines = disagreements(board_frame(RECORDS, "paper"), FIDELITY_CHECKS)
    assert lines[0].startswith("- `few_per_class` over `acgan` by precision (0.500 against 0.400); CS the other way")
    assert len(lines) == 3 and "`real_five_classes` over `acgan`" in lines[1]


def test_worst_class_and_heatmap_show_the_missing_classes(board, tmp_path):
    frame = board_frame(RECORDS, "paper").set_index("generator")
    five = frame.loc["real_five_classes"]
    assert sum(v < 0.05 for v in five.class_cs) == 5 and five.worst_class == "Sandal"
    assert frame.loc["acgan"].worst_class == "Ankle boot"
    assert not isinstance(frame.loc["few_per_class"].worst_class, str)
    assert "| `real_five_classes` | 0.511 ± " in board and "| Sandal (0.01) |" in board
    assert "| Ankle boot (0.40) |" in board
    assert "![Per-class CS](fashion-mnist-classes.png)" in board
    assert (tmp_path / "boards" / "fashion-mnist-classes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cas_column_and_dash_without_labels(board):
    ranked = section(board, "### Ranked generators")
    assert "| 0.550 (0.81) |" in ranked
    assert "| `few_per_class` | 0.547 ± 0.045 | – | 0.474 | 3 | – | – | – |" in ranked
    assert "| 0.743 (0.96) |" in section(board, "### References")


def test_class_balance_sits_beside_cs_and_shows_the_imbalance_that_cs_hides(board):
    """acgan: 80 % of its samples in two classes; real_five_classes: no sample in five; no shares: a dash."""
    frame = board_frame(RECORDS, "paper").set_index("generator")
    assert frame.loc["acgan"].balance == pytest.approx(0.639, abs=1e-3) and frame.loc["acgan"].rarest == 0.025
    assert frame.loc["real_five_classes"].balance == pytest.approx(0.699, abs=1e-3)
    assert "| 1 | `acgan` | 0.796 ± 0.025 | 0.64 (0.025) | " in section(board, "### Ranked generators")
    assert "| `real_five_classes` | 0.511 ± 0.010 | 0.70 (0.000) | " in section(board, "### References")
    assert "| `uniform_noise` | 0.138 ± 0.015 | – | " in section(board, "### References")


def test_flagged_copies_are_listed_apart_and_references_stay_references(board):
    assert "memoriser" not in section(board, "### Ranked generators")
    copies = section(board, "### Copies the training data")
    assert f"Rule: {COPY_RULE}. These rows are not ranked:" in copies
    assert ("| `memoriser` | 0.987 | 3 | 0.970 | 0.020 | 1.500 | -4.000 | – | – | 0.485 | 0.020 | 1.500 | -4.000 "
            "| – | – |" in copies)
    assert "| 0.990 / 0.020 (flagged) |" in section(board, "### References")  # real_data is the training split


def copies_of_the_test_split(flagged):
    measures = {"copy_rate": 1.0 if flagged else 0.01, "exact_copy_rate": 1.0 if flagged else 0.0,
                "heldout_copy_rate": 0.01, "threshold": 2.0, "ct": -30.0 if flagged else 0.1}
    return {"teacher": measures, "pixel": measures, "flagged": flagged, "rule": "flagged when samples copy test images"}


def test_copies_of_the_test_split_are_never_ranked_and_records_without_the_test_are_named(tmp_path):
    records = [record("real_data", [0.75, 0.74, 0.76], 7.5, 0.7, copying=copying(0.99, True)),  # made before the test
               record("acgan", [0.60, 0.58, 0.61], 5.0, 0.4, copying={**copying(0.01, False),
                                                                     "test_split": copies_of_the_test_split(False)}),
               record("peeker", [0.77, 0.78, 0.76], 7.6, 0.7, copying={**copying(0.01, False),
                                                                      "test_split": copies_of_the_test_split(True)}),
               record("real_test", [0.80, 0.81, 0.79], 7.6, 0.7, copying={**copying(0.01, False),
                                                                         "test_split": copies_of_the_test_split(True)})]
    frame = board_frame(records, "paper")
    assert dict(zip(frame.generator, frame.group)) == {"acgan": "ranked", "real_data": "reference",
                                                       "peeker": "test copies", "real_test": "test copies"}
    board = render_board(get_suite("fashion-mnist"), records, tmp_path).read_text()
    assert "peeker" not in section(board, "### Ranked generators") and "real_test" not in section(board, "### Refer")
    test = section(board, "### Copies the test split")
    assert (f"Rule: {TEST_COPY_RULE}. Not measured for `real_data`: records made before this test, "
            "whose ranks stand unchecked. These rows are not ranked: their samples copy the images CS is measured "
            "on.") in test
    assert "| `peeker` | 1.027 | 3 | 1.000 | 1.000 | 0.010 | -30.000 | 1.000 | 1.000 | 0.010 | -30.000 |" in test
    assert "`real_test`" in test and "peeker" not in section(board, "### Where the metrics disagree")


def smooth(stored_flag):
    """A conditional VAE's seed-0 pixel measures: C_T below the limit against the training split, yet the samples
    lie nearer the test split they never saw (lower ratio there); `stored_flag` as an earlier rule wrote it."""
    far = {"copy_rate": 0.0, "heldout_copy_rate": 0.01, "threshold": 0.6, "ct": 9.0, "median_distance_ratio": 1.41}
    pixel = {"copy_rate": 0.001, "heldout_copy_rate": 0.009, "threshold": 1.5, "ct": -6.0,
             "median_distance_ratio": 0.852}
    return {"teacher": far, "pixel": pixel, "flagged": stored_flag, "rule": "an earlier rule",
            "test_split": {"teacher": far, "pixel": {**pixel, "ct": -11.0, "median_distance_ratio": 0.833},
                           "flagged": False, "rule": "an earlier rule"}}


def test_the_board_judges_copying_by_the_current_rule_not_the_stored_flag(tmp_path):
    blurred = smooth(False)
    blurred["pixel"] = {**blurred["pixel"], "ct": -4.6, "median_distance_ratio": 0.896}
    blurred["test_split"]["pixel"]["median_distance_ratio"] = 0.933
    records = [record("real_data", [0.75, 0.74, 0.76], 7.5, 0.7, copying=copying(0.99, True)),
               record("cvae", [0.62, 0.60, 0.61], 5.0, 0.4, copying=smooth(True)),
               record("blurred_copies", [0.50, 0.52, 0.51], 3.0, 0.3, copying=blurred)]
    frame = board_frame(records, "paper")
    assert dict(zip(frame.generator, frame.group)) == {"cvae": "ranked", "real_data": "reference",
                                                       "blurred_copies": "copies"}
    board = render_board(get_suite("fashion-mnist"), records, tmp_path).read_text()
    copies = section(board, "### Copies the training data")
    assert f"Rule: {COPY_RULE}. These rows are not ranked:" in copies and "an earlier rule" not in board
    assert "| `blurred_copies` | 0.680 | 3 | " in copies and "| -4.600 | 0.896 | 0.933 |" in copies
    assert "cvae" not in copies and "`cvae`" in section(board, "### Ranked generators")


def test_old_records_without_new_keys_render_dashes():
    old = [record("real_data", [0.75, 0.74, 0.76], 7.5, 0.7), record("uniform_noise", [0.1, 0.1, 0.11], 1.2, 0.0)]
    frame = board_frame(old, "paper")
    assert frame.worst_class.isna().all() and frame.cas.isna().all() and frame.copy_rate.isna().all()
    assert not frame.flagged.any() and set(frame.group) == {"reference"}


def test_rendering_matches_the_golden_board_and_is_byte_stable(results, tmp_path):
    board = render(get_suite("fashion-mnist"), results, tmp_path / "boards")
    first = board.read_bytes()
    assert board.read_text() == open(GOLDEN, encoding="utf-8").read()
    images = {p: p.read_bytes() for p in (tmp_path / "boards").glob("*.png")}
    assert sorted(p.name for p in images) == ["fashion-mnist-classes.png", "fashion-mnist.png"]
    render(get_suite("fashion-mnist"), results, tmp_path / "boards")
    assert board.read_bytes() == first and all(p.read_bytes() == b for p, b in images.items())
    assert "- [fashion-mnist](fashion-mnist.md)" in (tmp_path / "boards" / "README.md").read_text()


def test_cli_without_records_says_how_to_get_them(tmp_path, capsys):
    assert main(["leaderboard", "render", "--suite", "fashion-mnist", "--results", str(tmp_path / "none"),
                 "--out", str(tmp_path / "boards")]) == 2
    assert "run `csbench evaluate FILE --suite fashion-mnist --out " in capsys.readouterr().err


def test_reference_line_takes_the_widest_record_and_names_references_that_differ():
    one_thread = dataclasses.replace(record("mixup", [0.74], 7.0, 0.9), reference_scores=[0.7512])
    frame = board_frame([*RECORDS, one_thread], "paper")
    text = reference_lines(frame, [one_thread, *RECORDS], "paper")
    assert "reaches 0.7500 test accuracy (seeds: 0.7500, 0.7400, 0.7600)" in text
    assert "own reference for a seed (seed 0: 0.7500, 0.7512)" in text
    assert "own reference" not in reference_lines(board_frame(RECORDS, "paper"), RECORDS, "paper")


def test_precision_resting_on_few_real_balls_is_marked():
    collapsed = record("gaussian_noise", [0.1, 0.1, 0.11], 1.2, 0.0)
    collapsed.metrics["teacher"].update(precision=0.773, coverage=0.0011)
    spread = record("acgan", [0.6, 0.61, 0.62], 3.0, 0.3)
    spread.metrics["teacher"].update(precision=0.704, coverage=0.05)
    frame = board_frame([collapsed, spread], "paper").set_index("generator", drop=False)
    from csbench.leaderboard import generator_cells

    assert "0.773 (few balls)" in generator_cells(next(frame.loc[["gaussian_noise"]].itertuples()))
    assert "0.704" in generator_cells(next(frame.loc[["acgan"]].itertuples()))
    assert "0.704 (few balls)" not in generator_cells(next(frame.loc[["acgan"]].itertuples()))


def test_records_of_another_version_are_named_stale_and_not_ranked(tmp_path):
    old = record("dcgan", [0.6, 0.61, 0.62], 3.0, 0.3, csbench_version="0.1.0")
    current = record("acgan", [0.6, 0.61, 0.62], 3.0, 0.3)
    board = render_board(get_suite("fashion-mnist"), [old, current], tmp_path).read_text()
    assert "Not shown: 1 record(s) made by another csbench version" in board and "`dcgan` (`paper`) 0.1.0" in board
    assert "| `acgan` |" in board and "| `dcgan` |" not in board


def test_a_board_of_older_records_only_stays_and_says_which_version_made_it(tmp_path):
    older = [record("dcgan", [0.6, 0.61, 0.62], 3.0, 0.3, csbench_version="0.1.0"),
             record("acgan", [0.7, 0.71, 0.72], 3.0, 0.3, csbench_version="0.0.9")]
    board = render_board(get_suite("fashion-mnist"), older, tmp_path).read_text()
    assert f"**Made by csbench 0.1.0; this is csbench {__version__}**" in board
    assert "| `dcgan` |" in board and "| `acgan` |" not in board
    assert "`acgan` (`paper`) 0.0.9" in board


def test_records_on_unverified_data_render_apart_under_their_digest(tmp_path):
    copy = {"train": "a" * 64, "test": "b" * 64, "verified": False, "teacher_accuracy": 0.832}
    official = record("acgan", [0.6, 0.61, 0.62], 3.0, 0.3)
    on_copy = [record("dcgan", [0.5, 0.52, 0.51], 3.0, 0.3, data=copy),
               record("uniform_noise", [0.1, 0.11, 0.1], 1.2, 0.0, data=copy)]
    board = render_board(get_suite("fashion-mnist"), [*on_copy, official], tmp_path).read_text()
    top, apart = board.split("## Unverified data `aaaaaaaaaaaa`")
    assert board.index("Records measured on data that is not the official `fashion-mnist` release") < board.index(
        "## Suite")
    assert "| 1 | `acgan` |" in top and "`dcgan`" not in top and "`uniform_noise` |" not in top
    assert "| 1 | `dcgan` |" in apart and "`acgan`" not in apart
    assert f"train arrays sha256 `{'a' * 64}`, test arrays sha256 `{'b' * 64}`" in apart
    assert "classifies 83.20% of this copy's test images correctly, against 93.80% on the official" in apart
    assert "## Protocol `paper`, unverified data `aaaaaaaaaaaa`" in apart
    column = next(line for line in board.splitlines() if line.startswith("| rank |")).split(" | ").index(
        "normalised CS")
    dcgan = next(line for line in apart.splitlines() if line.startswith("| 1 | `dcgan` |"))
    acgan = next(line for line in top.splitlines() if line.startswith("| 1 | `acgan` |"))
    assert dcgan.split(" | ")[column] == "0.629" and acgan.split(" | ")[column] == "–"  # each copy's own floor
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["fashion-mnist-dataaaaaaaaaaaaa.png",
                                                              "fashion-mnist.png"]
    index = render_index(tmp_path).read_text()
    assert "- [fashion-mnist](fashion-mnist.md): records on a copy of the data that is not the official" in index


def test_a_suite_without_records_says_how_a_maintainer_makes_them(tmp_path):
    board = render(get_suite("cifar10"), tmp_path / "results", tmp_path / "boards").read_text()
    assert board.splitlines()[2].startswith("No records yet. A maintainer with the teacher file (`teacher.npy`")
    assert "`csbench evaluate-all --suite cifar10 --out results`" in board
    assert "- [cifar10](cifar10.md): no records yet\n" in (tmp_path / "boards" / "README.md").read_text()
