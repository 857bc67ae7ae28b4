"""Command-line pieces for tabular suites: their table in `csbench suites` and `csbench compress`."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..errors import CsbenchError
from ..options import limits
from ..progress import console
from ..results import TabularCompressRecord
from .suites import TABULAR_SUITES, get_tabular_suite

stdout = Console()


def print_suites() -> None:
    table = Table(title="csbench tabular suites (teacher: RandomForestClassifier; students: RandomForestRegressor)")
    for column in ("suite", "features", "classes", "metric", "teacher trees", "student trees", "rows", "seeds"):
        table.add_column(column)
    for s in TABULAR_SUITES.values():
        table.add_row(s.name, str(s.n_features or "one-hot"), str(s.num_classes), s.metric,
                      f"{s.teacher.trees} (seed {s.teacher.seed})", ", ".join(map(str, s.student_sizes)),
                      f"real + {s.ratio:g}x", str(len(s.seeds)))
    stdout.print(table)
    for s in TABULAR_SUITES.values():
        stdout.print(f"{s.name}: {s.source}", highlight=False, soft_wrap=True)


def compress(args: argparse.Namespace) -> None:
    from .compress import compress as compress_with
    from .compress import prepare

    suite = get_tabular_suite(args.suite)
    if args.protocol or args.samples or args.teacher or args.device or args.unverified_data:
        raise CsbenchError("--protocol, --samples, --teacher, --device and --unverified-data apply to image suites "
                           "only")
    seeds = list(range(args.seed, args.seed + args.seeds)) if args.seeds else [args.seed + s for s in suite.seeds]
    students = None if args.no_students else args.out / suite.name / "students"
    prep = prepare(suite, args.data_dir)
    console.print(f"teacher: {suite.teacher.trees} trees, test {suite.metric} {prep.teacher_score:.4f}",
                  highlight=False)
    for generator_file in args.generator:
        record = compress_with(prep, generator_file, ratio=args.ratio, seeds=seeds, out_dir=args.out,
                               students_dir=students, limits=limits(args))
        _print_record(record)


def _print_record(record: TabularCompressRecord) -> None:
    from .report import fmt, gains, verdict

    name, metric, seeds = record.generator["name"], record.metric, record.seeds
    table = Table(title=f"{name} on {record.suite}: test {metric}, mean ± 95 % t-interval over {len(seeds)} seeds")
    for column in ("trees", "real only", f"real + {record.ratio:g}x {name}", "gain", "", f"{name} only", "CS"):
        table.add_column(column, justify="right")
    for k in record.student_sizes:
        s, cs = record.scores, record.cs_by_size[str(k)]
        table.add_row(str(k), fmt(s["teacher_real"][str(k)]), fmt(s["real_plus_generated"][str(k)]),
                      fmt(gains(record, k)), verdict(gains(record, k)), fmt(s["generated"][str(k)]),
                      f"{cs['cs']:.3f} ± {cs['half_width']:.3f}")
    stdout.print(table)
    saved = f"; students: {Path(record.students_saved[0]).parent}" if record.students_saved else ""
    console.print(f"record: {record.suite}/{name}.json{saved} ({record.timings_s['total']:.0f} s)",
                  highlight=False, soft_wrap=True)
