"""Command-line pieces for tabular suites: `compress` and its lines in `csbench suites`."""

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


def _cmd_compress(args: argparse.Namespace) -> None:
    from .compress import compress, prepare

    from ..cli import _limits
    from ..suites import SUITES

    if args.suite in SUITES:
        return _compress_images(args)
    suite = get_tabular_suite(args.suite)
    if args.protocol or args.samples or args.teacher or args.device != "cpu":
        raise CsbenchError("--protocol, --samples, --teacher and --device apply to image suites only")
    seeds = list(range(args.seed, args.seed + args.seeds)) if args.seeds else [args.seed + s for s in suite.seeds]
    students = None if args.no_students else args.out / suite.name / "students"
    prep = prepare(suite, args.data_dir)
    console.print(f"teacher: {suite.teacher.trees} trees, test {suite.metric} {prep.teacher_score:.4f}", highlight=False)
    for generator_file in args.generator:
        record = compress(prep, generator_file, ratio=args.ratio, seeds=seeds, out_dir=args.out,
                          students_dir=students, limits=_limits(args))
        _print_record(record)


def _compress_images(args: argparse.Namespace) -> None:
    from ..cli import _limits
    from ..gan_mc import IMAGE_RATIO, compress_images
    from ..suites import SUITES
    from .report import fmt, verdict

    suite = SUITES[args.suite]
    count = args.seeds or len(suite.protocol(args.protocol).seeds)
    for generator_file in args.generator:
        record = compress_images(generator_file, args.suite, protocol_name=args.protocol,
                                 ratio=args.ratio or IMAGE_RATIO, seeds=list(range(args.seed, args.seed + count)),
                                 samples=args.samples, device=args.device, out_dir=args.out,
                                 teacher_path=args.teacher, data_root=args.data_dir,
                                 save_students=not args.no_students, limits=_limits(args))
        real, mixed = record["scores"]["real_only"], record["scores"]["real_plus_generated"]
        gain = [m - r for m, r in zip(mixed, real)]
        name = record["generator"]["name"]
        table = Table(title=f"{name} on {args.suite} ({record['protocol']['name']} protocol): student test accuracy")
        for column in ("seed", "real only", f"real + {record['ratio']:g}x {name}", "gain"):
            table.add_column(column, justify="right")
        for seed, r, m in zip(record["seeds"], real, mixed):
            table.add_row(str(seed), f"{r:.4f}", f"{m:.4f}", f"{m - r:+.4f}")
        table.add_row("mean ± 95 % t", fmt(real), fmt(mixed), f"{fmt(gain)} {verdict(gain)}")
        stdout.print(table)
        saved = f"; student: {record['student_saved']}" if record["student_saved"] else ""
        console.print(f"record: {args.out / args.suite / 'compress' / (name + '.json')}{saved} "
                      f"({record['timings_s']['total']:.0f} s)", highlight=False, soft_wrap=True)


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
                      f"{cs['cs']:.3f} ± {cs['half_width']:.3f}")
    stdout.print(table)
    saved = f"; students: {Path(record['students_saved'][0]).parent}" if record["students_saved"] else ""
    console.print(f"record: {record['suite']}/{name}.json{saved} ({record['timings_s']['total']:.0f} s)",
                  highlight=False, soft_wrap=True)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_commands(commands) -> None:
    from ..cli import _add_sandbox_options

    comp = commands.add_parser("compress", help="GAN-MC: train students on real data plus teacher-labelled "
                               "generated data; real-only vs real + generated over seeds (tabular and image suites)")
    comp.add_argument("--suite", required=True)
    comp.add_argument("--generator", type=Path, required=True, nargs="+",
                      help="generator file(s); several share one teacher fit")
    comp.add_argument("--ratio", type=float, help="generated rows per real training row (default: the tabular "
                      "suite's, 9; image suites 4, so that 80 %% of a batch is generated)")
    comp.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    comp.add_argument("--seeds", type=_positive_int, help="number of seeds (default: the suite's or protocol's)")
    comp.add_argument("--out", type=Path, default=Path("results"),
                      help="record to OUT/<suite>/<generator>.json, students under OUT/<suite>/students/")
    comp.add_argument("--no-students", action="store_true", help="do not save the students")
    comp.add_argument("--data-dir", type=Path, help="dataset folder (default $CSBENCH_DATA or the cache)")
    _add_sandbox_options(comp)
    images = comp.add_argument_group("image suites only")
    images.add_argument("--protocol", help="named protocol of the suite (default: the suite's default)")
    images.add_argument("--samples", type=int, help="real images in the compression set (changes the protocol)")
    images.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    images.add_argument("--teacher", type=Path, help="teacher checkpoint to use instead of the committed one")
    comp.set_defaults(run=_cmd_compress)
