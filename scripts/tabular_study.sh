#!/usr/bin/env bash
# Reproduces the tabular leaderboards: every tabular generator on each suite, 5 seeds, 9x rows.
# Usage: scripts/tabular_study.sh [SUITE...]   (default: wine breast-cancer digits magic)
# MAGIC needs magic.npz in $CSBENCH_DATA (or --data-dir) or OpenML access.
set -euo pipefail
GENERATORS=(generators/tabular/cgan.py generators/tabular/munge.py generators/tabular/gaussian_copula.py
            generators/tabular/per_class_gaussian.py generators/tabular/real_rows.py generators/uniform_noise.py)
SUITES=("$@")
[ ${#SUITES[@]} -eq 0 ] && SUITES=(wine breast-cancer digits magic)
for suite in "${SUITES[@]}"; do
  csbench compress --suite "$suite" --generator "${GENERATORS[@]}" --no-students
  csbench leaderboard render --suite "$suite"
done
