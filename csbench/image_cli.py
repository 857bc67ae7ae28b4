"""Command-line pieces for image suites: their table in `csbench suites` and `csbench compress` (GAN-MC)."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from .options import run_options
from .progress import console
from .suites import SUITES

stdout = Console()


def protocol_line(p) -> str:
    loss = f"{p.loss} T={p.temperature:g}" if p.loss == "kd" else p.loss
    return (f"{p.samples:,} samples, {loss}, {p.optimizer} lr {p.lr:g} {p.lr_schedule}, batch {p.batch_size}, "
            f"{p.epochs} pass(es){'' if p.shuffle else ' in drawn order'}"
            f"{', last partial batch dropped' * p.drop_last}{', teacher dropout on' * p.teacher_dropout}, "
            f"seeds {list(p.seeds)}")


def print_suites() -> None:
    """One small two-column table per suite: it reads at 80 columns."""
    for suite in SUITES.values():
        t = suite.teacher
        accuracy = f"{t.test_accuracy:.2%} test" if t.test_accuracy is not None else "accuracy not measured here"
        table = Table(title=f"suite {suite.name}", show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column()
        table.add_row("data", f"{suite.dataset}, {'x'.join(map(str, suite.image_shape))}, {suite.num_classes} classes")
        table.add_row("teacher", f"{t.architecture} ({accuracy}), {t.pin.kind} {t.identity[:12]}" if t.pinned
                      else f"{t.architecture}, not trained yet")
        table.add_row("student", f"{suite.student}: {suite.student_note}")
        for p in [suite.protocol(), *(p for n, p in suite.protocols.items() if n != suite.default_protocol)]:
            table.add_row(f"{p.name}{' (default)' * (p.name == suite.default_protocol)}", protocol_line(p))
        stdout.print(table)


def compress(args: argparse.Namespace) -> None:
    from .evaluate import data_summary
    from .gan_mc import IMAGE_RATIO, compress_images
    from .tabular.report import fmt, verdict

    suite = SUITES[args.suite]
    count = args.seeds or len(suite.protocol(args.protocol).seeds)
    for generator_file in args.generator:
        record = compress_images(generator_file, args.suite, protocol_name=args.protocol,
                                 ratio=args.ratio or IMAGE_RATIO, seeds=list(range(args.seed, args.seed + count)),
                                 samples=args.samples, out_dir=args.out, options=run_options(args),
                                 save_students=not args.no_students)
        real, mixed = record.scores["real_only"], record.scores["real_plus_generated"]
        gain = [m - r for m, r in zip(mixed, real)]
        name = record.generator["name"]
        table = Table(title=f"{name} on {args.suite} ({record.protocol['name']} protocol): student test accuracy")
        for column in ("seed", "real only", f"real + {record.ratio:g}x {name}", "gain"):
            table.add_column(column, justify="right")
        for seed, r, m in zip(record.seeds, real, mixed):
            table.add_row(str(seed), f"{r:.4f}", f"{m:.4f}", f"{m - r:+.4f}")
        table.add_row("mean ± 95 % t", fmt(real), fmt(mixed), f"{fmt(gain)} {verdict(gain)}")
        stdout.print(table)
        if data_summary(record.data):
            console.print(f"[bold]measured {data_summary(record.data)}[/bold]", highlight=False, soft_wrap=True)
        saved = f"; student: {record.student_saved}" if record.student_saved else ""
        console.print(f"record: {args.out / args.suite / 'compress' / (name + '.json')}{saved} "
                      f"({record.timings_s['total']:.0f} s)", highlight=False, soft_wrap=True)
