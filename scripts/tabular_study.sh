#!/usr/bin/env bash
# Reproduces the tabular leaderboards: every generator on each tabular suite, 5 seeds, 9x rows.
# MAGIC needs magic.npz in $CSBENCH_DATA (or --data-dir) or OpenML access.
set -euo pipefail
GENERATORS=(generators/tabular/real_rows.py generators/tabular/per_class_gaussian.py generators/tabular/munge.py
            generators/tabular/gaussian_copula.py generators/tabular/cgan.py generators/uniform_noise.py)
for suite in "${@:-wine breast-cancer digits magic}"; do
  for s in $suite; do
    csbench compress --suite "$s" --generator "${GENERATORS[@]}" --no-students
    csbench tabular-board --suite "$s"
  done
done
