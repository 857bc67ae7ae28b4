#!/usr/bin/env bash
# Reproduce the README's fashion-mnist table: every baseline generator under both protocols.
# Records land in ${OUT:-results}/fashion-mnist/.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results}
for protocol in paper graded; do
  for gen in real_data uniform_noise real_five_classes real_ten_per_class; do
    csbench evaluate "generators/$gen.py" --suite fashion-mnist --protocol "$protocol" --out "$OUT"
  done
done
