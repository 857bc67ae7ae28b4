"""Command-line options shared by the commands of every task kind."""

from __future__ import annotations

import argparse
from pathlib import Path

from .sandbox import Limits


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_sandbox_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=Limits.timeout_s, metavar="SECONDS",
                        help=f"wall-clock limit per generator process (default {Limits.timeout_s:g})")
    parser.add_argument("--memory-mib", type=positive_int, default=Limits.memory_mib, metavar="MIB",
                        help=f"data memory limit per generator process (default {Limits.memory_mib})")
    default_import = Limits().import_timeout_s
    parser.add_argument("--import-timeout", type=float, default=default_import, metavar="SECONDS",
                        help=f"limit for importing and describing a generator file (default {default_import:g}, or "
                        "$CSBENCH_IMPORT_TIMEOUT)")


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="dataset folder (default $CSBENCH_DATA or the cache)")
    parser.add_argument("--unverified-data", action="store_true",
                        help="run on a copy of the dataset that fails the official release's checksums (a rebuilt "
                        "or development copy); records, summaries and boards name it as unverified data")


def limits(args: argparse.Namespace) -> Limits:
    return Limits(timeout_s=args.timeout, memory_mib=args.memory_mib, import_timeout_s=args.import_timeout)


def run_options(args: argparse.Namespace):
    """The image commands' `RunOptions`; options a command does not take keep their defaults."""
    from .evaluate import RunOptions
    from .teacher import default_device

    defaults = RunOptions()
    return RunOptions(device=args.device or default_device(), teacher_path=args.teacher, data_root=args.data_dir,
                      unverified_data=args.unverified_data, limits=limits(args),
                      inception=getattr(args, "inception", defaults.inception),
                      inception_weights=getattr(args, "inception_weights", defaults.inception_weights),
                      inception_preprocessing=getattr(args, "inception_preprocessing",
                                                      defaults.inception_preprocessing),
                      students_per_batch=getattr(args, "students_per_batch", defaults.students_per_batch),
                      batch_memory_gib=getattr(args, "batch_memory_gib", None) or defaults.batch_memory_gib)
