"""`csbench` command line: a thin layer over the library; every user error is one line, exit 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from . import __version__
from .cache import home
from .errors import CsbenchError, clean, one_line
from .features import DEFAULT_PREPROCESSING, PREPROCESSING
from .options import add_data_options, add_sandbox_options, limits, positive_int, run_options
from .progress import console
from .suites import BUDGETS, get_suite
from .tasks import TASKS, all_suites, task_of
from .teacher import default_device

stdout = Console()
LONG = 2000  # the most of one line of outside text (a path, a check's detail, an error) that is printed


def _cmd_suites(args: argparse.Namespace) -> None:
    for task in TASKS.values():
        task.cli().print_suites()


def _cmd_compress(args: argparse.Namespace) -> None:
    task_of(args.suite).cli().compress(args)


def _cmd_validate(args: argparse.Namespace) -> int:
    from .validate import first_problem, validate

    checks = validate(args.file, args.suite, n=args.samples, seed=args.seed, limits=limits(args),
                      data_root=args.data_dir, unverified_data=args.unverified_data)
    file = clean(args.file, LONG)
    table = Table(title=f"csbench validate {file} --suite {clean(args.suite)}")
    for column in ("check", "result", "detail"):
        table.add_column(column)
    for check in checks:
        table.add_row(clean(check.name), "[green]pass[/]" if check.passed else "[red]FAIL[/]",
                      clean(check.detail, LONG))
    stdout.print(table)
    problem = first_problem(checks)
    if problem:
        console.print(f"[red]FAIL[/red] {clean(problem.name)}: {clean(problem.detail, LONG)}", highlight=False,
                      soft_wrap=True)
        return 1
    console.print(f"[green]PASS[/green] {file} meets the contract on {clean(args.suite)}", highlight=False)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from .evaluate import cs_summary, evaluate
    from .results import record_path

    count = args.seeds or (1 if args.preview else len(get_suite(args.suite).protocol(args.protocol).seeds))
    seeds = list(range(args.seed, args.seed + count))
    out = args.out or home() / "results"
    record = evaluate(args.file, args.suite, protocol_name=args.protocol, seeds=seeds, samples=args.samples,
                      out_dir=out, options=run_options(args),
                      replace=args.replace, in_process=args.in_process, preview=args.preview, name=args.name,
                      announce=lambda line: console.print(line, highlight=False, soft_wrap=True))
    table = Table(title=f"{record.generator['name']} on {record.suite} ({record.protocol['name']} protocol)")
    for column in ("seed", "student accuracy on samples", "on real data (reference)"):
        table.add_column(column, justify="right")
    for seed, raw, ref in zip(record.seeds, record.raw_scores, record.reference_scores):
        table.add_row(str(seed), f"{raw:.4f}", f"{ref:.4f}")
    stdout.print(table)
    _print_metrics(record.metrics)
    suite = get_suite(record.suite)
    path = record_path(out, record.suite, record.generator["name"], record.protocol["name"],
                       suite.default_protocol)
    console.print(f"[bold]{cs_summary(record)}[/bold] in {record.timings_s['total']:.0f} s; record: {path}",
                  highlight=False)


METRIC_ROWS = (("IS", "is"), ("FID", "fid"), ("KID", "kid"), ("precision", "precision"), ("recall", "recall"),
               ("density", "density"), ("coverage", "coverage"), ("class entropy", "class_entropy"),
               ("confidence", "mean_confidence"))


def _print_metrics(metrics: dict) -> None:
    """One row per metric, one column per feature space (teacher-FID and Inception FID are different numbers):
    readable at 80 columns."""
    spaces = {family: values for family, values in metrics.items() if "unavailable" not in values}
    table = Table(title="sample quality of the first seed's samples")
    table.add_column("metric")
    for family, values in spaces.items():
        table.add_column(f"{family} (N {values['n']:,}; {values['n_pairwise']:,})", justify="right")
    for label, key in METRIC_ROWS:
        table.add_row(label, *(f"{values[key]:.4g}" for values in spaces.values()))
    if spaces:
        stdout.print(table)
    for family, values in metrics.items():
        if "unavailable" in values:
            console.print(f"{family} metrics unavailable: {escape(values['unavailable'])}", highlight=False,
                          soft_wrap=True)


def _backend(args: argparse.Namespace):
    """None for `local`; else the backend the options describe (csbench.backends)."""
    from .backends import RayBackend, Resources, SlurmBackend, require

    if args.backend != "local":
        require(*{"ray": ("ray", "ray"), "slurm": ("submitit", "slurm")}[args.backend])
    if args.address and args.backend != "ray":
        raise CsbenchError("--address is the Ray cluster's: use it with --backend ray")
    if args.partition and args.backend != "slurm":
        raise CsbenchError("--partition is a Slurm partition: use it with --backend slurm")
    gpus = args.gpus_per_task if args.gpus_per_task is not None else (1 if args.device == "cuda" else 0)
    resources = Resources(cpus=args.cpus_per_task, gpus=gpus, memory_gib=args.memory_gib)
    if args.backend == "ray":
        return RayBackend(address=args.address, resources=resources, max_retries=args.max_retries)
    if args.backend == "slurm":
        return SlurmBackend(folder=args.slurm_folder or home() / "submitit", resources=resources,
                            partition=args.partition, time_limit_min=args.time_limit, max_retries=args.max_retries)
    return None


def _cmd_evaluate_all(args: argparse.Namespace) -> int:
    from .budget import Mix
    from .sweep import Status, evaluate_all

    count = args.seeds or len(get_suite(args.suite).protocol(args.protocol).seeds)
    colour = {Status.EVALUATED: "green", Status.CURRENT: "cyan", Status.UNSUPPORTED: "dim", Status.FAILED: "red"}
    mixes = [Mix.GENERATED] * args.budget + [Mix.REAL_PLUS_GENERATED] * args.gan_mc
    outcomes = evaluate_all(
        args.suite, args.generators, out_dir=args.out, protocol_name=args.protocol, only=args.only,
        seeds=list(range(args.seed, args.seed + count)), samples=args.samples, options=run_options(args),
        backend=_backend(args), mixes=mixes, budgets=args.budgets,
        on_outcome=lambda o: console.print(f"[{colour[o.status]}]{o.status:>11}[/] {clean(o.file, LONG)}"
                                           f"{'' if o.kind == 'cs' else f' ({o.kind})'} {clean(o.detail, LONG)}",
                                           highlight=False, soft_wrap=True),
    )
    failed = sum(o.status is Status.FAILED for o in outcomes)
    for kind in dict.fromkeys(o.kind for o in outcomes):
        mine = [o for o in outcomes if o.kind == kind]
        what = "generator files" if kind == "cs" else f"{kind} records"
        console.print(f"{len(mine)} {what}: " + ", ".join(f"{sum(o.status == s for o in mine)} {s}" for s in colour))
    return 1 if failed else 0


def _cmd_teacher_train(args: argparse.Namespace) -> None:
    from .teacher import train_teacher

    suite = get_suite(args.suite)
    out = args.out or home() / "teachers" / suite.teacher.checkpoint
    digest, acc = train_teacher(suite, Path(out), device=args.device, epochs=args.epochs, data_root=args.data_dir)
    console.print(f"teacher written to {out}\n  test accuracy {acc:.4f}\n  sha256 {digest}\n"
                  f"To make it the suite's teacher, copy it to {suite.teacher.path} and pin this sha256 and "
                  "accuracy in csbench/suites.py.")


def _cmd_leaderboard_render(args: argparse.Namespace) -> None:
    """Each suite's board by its task kind; one index for all."""
    from .leaderboard import render_index

    for name in [args.suite] if args.suite else all_suites():
        path = task_of(name).render_board(name, args.results, args.out, args.suite is not None)
        if path:
            console.print(f"{name}: {path}", highlight=False)
    render_index(args.out)


def _add_evaluation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", required=True)
    parser.add_argument("--protocol", help="named protocol of the suite (default: the suite's default)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--seeds", type=positive_int, help="number of seeds (default: the protocol's, 3)")
    parser.add_argument("--samples", type=int, help="override the protocol's sample count (changes the protocol)")
    parser.add_argument("--device", default=default_device(), choices=["cpu", "cuda"],
                        help="default: cuda where PyTorch sees a GPU, else cpu")
    parser.add_argument("--teacher", type=Path, help="teacher checkpoint to use instead of the committed one")
    add_data_options(parser)
    parser.add_argument("--students-per-batch", type=positive_int, metavar="N",
                        help="train at most N students together as one batched model (default: one at a time on "
                        "the CPU, where batching is slower; as many as fit --batch-memory-gib on a GPU)")
    parser.add_argument("--batch-memory-gib", type=float, metavar="GIB",
                        help="memory budget of one group of students trained together (default 4)")
    add_sandbox_options(parser)
    parser.add_argument("--inception-weights", type=Path, metavar="PATH", help="pytorch-fid's Inception weights "
                        "(default: torch hub's cache, downloaded there when missing)")
    parser.add_argument("--inception-preprocessing", choices=sorted(PREPROCESSING), default=DEFAULT_PREPROCESSING,
                        help="how images reach Inception: torch-fidelity's (8-bit rounding, TF 1 resize, as the "
                        "TF-era IS/FID papers) or pytorch-fid's (default %(default)s); named in the record")
    parser.add_argument("--inception", action=argparse.BooleanOptionalAction, default=None,
                        help="compute the Inception-space metrics (default: on a GPU or with --inception-weights; "
                        "the teacher-space ones are always computed)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csbench", description=__doc__.split(":")[0] + ": score synthetic "
                                     "data by how well a student trained on it compresses a fixed teacher.")
    parser.add_argument("--version", action="version", version=f"csbench {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("suites", help="list suites: dataset, teacher, student, protocols").set_defaults(
        run=_cmd_suites)

    ev = commands.add_parser("evaluate", help="compute the Compression Score of a generator file on a suite")
    ev.add_argument("file", type=Path, help="generator file (registers itself with @csbench.generator), a folder "
                    "of PNG/JPEG images, an .npz/.npy of samples, or a samples declaration (*.samples.toml)")
    _add_evaluation_options(ev)
    ev.add_argument("--out", type=Path, help="results folder (default: $CSBENCH_HOME/results, outside the "
                    "repository; maintainers write board records with --out results)")
    ev.add_argument("--replace", action="store_true", help="overwrite a record that another generator file wrote "
                    "under the same name")
    ev.add_argument("--in-process", action="store_true", help="import the file in this process, without the "
                    "sandbox: for your own code only, never for files from others")
    ev.add_argument("--name", help="a samples folder's or file's name in the record (default: its file name's "
                    "stem)")
    ev.add_argument("--preview", action="store_true", help="10,000 samples and one seed, recorded under "
                    "'<protocol>-preview': a cheap progress signal, not comparable with board numbers")
    ev.set_defaults(run=_cmd_evaluate)

    sweep = commands.add_parser("evaluate-all", help="evaluate every generator file that declares the suite, "
                                "skipping those whose record is current")
    sweep.add_argument("--generators", type=Path, default=Path("generators"), help="folder of generator files")
    sweep.add_argument("--only", nargs="+", default=(), metavar="NAME", help="only these generators, in this order")
    _add_evaluation_options(sweep)
    sweep.add_argument("--out", type=Path, default=Path("results"), help="results folder (default results/, the "
                       "board's records)")
    sweep.add_argument("--budget", action=argparse.BooleanOptionalAction, default=True,
                       help="also the CS at each budget below the protocol's sample count, against real subsets of "
                       "the same size, into <out>/<suite>/budget/ (default: on)")
    sweep.add_argument("--gan-mc", action="store_true", help="also GAN-assisted compression: students on each "
                       "budget of real images alone and with the protocol's sample count of generated ones, into "
                       "<out>/<suite>/gan-mc/ (pick generators with --only)")
    sweep.add_argument("--budgets", type=positive_int, nargs="+", default=list(BUDGETS), metavar="N",
                       help="sample budgets (default %(default)s)")
    scale = sweep.add_argument_group("backends", "run each (generator, seed) as its own unit on Ray or Slurm; "
                                     "unit records go to <out>/<suite>/seeds/")
    scale.add_argument("--backend", choices=["local", "ray", "slurm"], default="local",
                       help="local: in this process (default); ray: Ray tasks (pip install 'csbench[ray]'); "
                       "slurm: a Slurm job array through submitit (pip install 'csbench[slurm]')")
    scale.add_argument("--address", help="Ray cluster address, e.g. auto or ray://head:10001 (default: a local "
                       "cluster on this machine)")
    scale.add_argument("--cpus-per-task", type=positive_int, default=1, help="CPUs (torch threads) per unit")
    scale.add_argument("--gpus-per-task", type=float, metavar="N", help="GPUs per unit (default 1 with "
                       "--device cuda, else 0)")
    scale.add_argument("--memory-gib", type=float, help="memory per unit, in GiB (default: the engine's)")
    scale.add_argument("--partition", help="Slurm partition")
    scale.add_argument("--time-limit", type=positive_int, default=240, metavar="MINUTES",
                       help="Slurm time limit per unit (default 240)")
    scale.add_argument("--max-retries", type=int, default=3, help="reruns of a unit whose worker died (default 3)")
    scale.add_argument("--slurm-folder", type=Path, help="submitit's job folder, on a file system the nodes share "
                       "(default: the cache's submitit/)")
    sweep.set_defaults(run=_cmd_evaluate_all)

    va = commands.add_parser("validate", help="check a generator file against the contract, in the sandbox")
    va.add_argument("file", type=Path, help="generator file, samples folder or file, or samples declaration")
    va.add_argument("--suite", required=True)
    va.add_argument("--samples", type=positive_int, default=64, help="batch size drawn twice (default 64)")
    va.add_argument("--seed", type=int, default=0)
    add_data_options(va)
    add_sandbox_options(va)
    va.set_defaults(run=_cmd_validate)

    teacher = commands.add_parser("teacher", help="teacher recipes").add_subparsers(dest="action", required=True)
    train = teacher.add_parser("train", help="train a suite's teacher by its committed recipe")
    train.add_argument("--suite", required=True)
    train.add_argument("--out", type=Path, help="checkpoint path (default: the cache's teachers/ folder)")
    train.add_argument("--epochs", type=int, help="override the recipe's epochs")
    train.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    train.add_argument("--data-dir", type=Path)
    train.set_defaults(run=_cmd_teacher_train)

    board = commands.add_parser("leaderboard", help="leaderboards").add_subparsers(dest="action", required=True)
    render = board.add_parser("render", help="write leaderboards/<suite>.md (and its plot) from the result records")
    render.add_argument("--suite", help="one suite (default: every suite with records)")
    render.add_argument("--results", type=Path, default=Path("results"), help="results folder (default results/)")
    render.add_argument("--out", type=Path, default=Path("leaderboards"), help="boards folder (default leaderboards/)")
    render.set_defaults(run=_cmd_leaderboard_render)
    comp = commands.add_parser("compress", help="GAN-MC: train students on real data plus teacher-labelled "
                               "generated data; real-only vs real + generated over seeds (tabular and image suites)")
    comp.add_argument("--suite", required=True)
    comp.add_argument("--generator", type=Path, required=True, nargs="+",
                      help="generator file(s); several share one teacher fit (image suites: also samples folders, "
                      "files or declarations)")
    comp.add_argument("--ratio", type=float, help="generated rows per real training row (default: the tabular "
                      "suite's, 9; image suites 4, so that 80 %% of a batch is generated)")
    comp.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    comp.add_argument("--seeds", type=positive_int, help="number of seeds (default: the suite's or protocol's)")
    comp.add_argument("--out", type=Path, default=Path("results"),
                      help="record to OUT/<suite>/<generator>.json, students under OUT/<suite>/students/")
    comp.add_argument("--no-students", action="store_true", help="do not save the students")
    add_data_options(comp)
    add_sandbox_options(comp)
    images = comp.add_argument_group("image suites only")
    images.add_argument("--protocol", help="named protocol of the suite (default: the suite's default)")
    images.add_argument("--samples", type=int, help="real images in the compression set (changes the protocol)")
    images.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda where PyTorch sees a GPU, else cpu")
    images.add_argument("--teacher", type=Path, help="teacher checkpoint to use instead of the committed one")
    comp.set_defaults(run=_cmd_compress)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = args.run(args)
    except CsbenchError as exc:
        console.print(Text("error: ", style="red") + Text(one_line(exc, LONG)), highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
