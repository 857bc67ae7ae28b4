"""Command-line pieces for tabular suites: `compress`, `tabular-board`, and their lines in `csbench suites`."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..errors import CsbenchError
from ..progress import console
from .suites import TABULAR_SUITES, get_tabular_suite

stdout = Console()


def print_suites() -> None:
    table = Table(title="csbench tabular suites")
    for column in ("suite", "data", "features", "classes", "metric", "teacher", "students (trees)", "ratio", "seeds"):
        table.add_column(column)
    for s in TABULAR_SUITES.values():
        table.add_row(s.name, s.source, str(s.n_features or "one-hot"), str(s.num_classes), s.metric,
                      f"RandomForestClassifier {s.teacher.trees} trees, seed {s.teacher.seed}",
                      "RandomForestRegressor " + ", ".join(map(str, s.student_sizes)), f"{s.ratio:g}x",
                      str(len(s.seeds)))
    stdout.print(table)


def _cmd_compress(args: argparse.Namespace) -> None:
    from .compress import compress, prepare

    if args.suite not in TABULAR_SUITES:
        from ..suites import SUITES

        if args.suite in SUITES:
            raise CsbenchError(f"compress supports tabular suites ({', '.join(TABULAR_SUITES)}); for image suite "
                               f"{args.suite!r} it is not built yet")
    suite = get_tabular_suite(args.suite)
    seeds = list(range(args.seed, args.seed + args.seeds)) if args.seeds else [args.seed + s for s in suite.seeds]
    students = None if args.no_students else args.out / suite.name / "students"
    prep = prepare(suite, args.data_dir)
    console.print(f"teacher: {suite.teacher.trees} trees, test {suite.metric} {prep.teacher_score:.4f}", highlight=False)
    for generator_file in args.generator:
        record = compress(prep, generator_file, ratio=args.ratio, seeds=seeds, out_dir=args.out,
                          students_dir=students)
        _print_record(record)


def _print_record(record: dict) -> None:
    from .report import fmt, gains, verdict

    name, metric, seeds = record["generator"]["name"], record["metric"], record["seeds"]
    table = Table(title=f"{name} on {record['suite']}: test {metric}, mean ± 95 % t-interval over {len(seeds)} seeds")
    for column in ("trees", "real only", f"real + {record['ratio']:g}x {name}", "gain", "", f"{name} only", "CS"):
        table.add_column(column, justify="right")
    for k in record["student_sizes"]:
        s, cs = record["scores"], record["cs"][str(k)]
        table.add_row(str(k), fmt(s["teacher_real"][str(k)]), fmt(s["real_plus_generated"][str(k)]),
                      fmt(gains(record, k)), verdict(gains(record, k)), fmt(s["generated"][str(k)]),
                      f"{cs['cs']:.3f} ± {cs['stderr']:.3f}")
    stdout.print(table)
    saved = f"; students: {Path(record['students_saved'][0]).parent}" if record["students_saved"] else ""
    console.print(f"record: {record['suite']}/{name}.json{saved} ({record['timings_s']['total']:.0f} s)",
                  highlight=False, soft_wrap=True)


def _cmd_board(args: argparse.Namespace) -> None:
    from .report import write_board

    for name in args.suite:
        console.print(f"board: {write_board(name, args.results, args.out)}", highlight=False)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_commands(commands) -> None:
    comp = commands.add_parser("compress", help="GAN-MC: train students on real rows plus teacher-labelled "
                               "generated rows; real-only vs real + generated over seeds")
    comp.add_argument("--suite", required=True)
    comp.add_argument("--generator", type=Path, required=True, nargs="+",
                      help="generator file(s); several share one teacher fit")
    comp.add_argument("--ratio", type=float, help="generated rows per real training row (default: the suite's, 9)")
    comp.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    comp.add_argument("--seeds", type=_positive_int, help="number of seeds (default: the suite's, 5)")
    comp.add_argument("--out", type=Path, default=Path("results"),
                      help="record to OUT/<suite>/<generator>.json, students under OUT/<suite>/students/")
    comp.add_argument("--no-students", action="store_true", help="do not save the students")
    comp.add_argument("--data-dir", type=Path, help="dataset folder (default $CSBENCH_DATA or the cache)")
    comp.set_defaults(run=_cmd_compress)

    board = commands.add_parser("tabular-board", help="render leaderboards/<suite>.md from compress records")
    board.add_argument("--suite", required=True, nargs="+")
    board.add_argument("--results", type=Path, default=Path("results"), help="records folder (default results/)")
    board.add_argument("--out", type=Path, default=Path("leaderboards"), help="boards folder (default leaderboards/)")
    board.set_defaults(run=_cmd_board)
