#!/usr/bin/env bash
# Compares the result tables of two rentree binaries, byte for byte, on the textbook models, the replay
# (and its variants) and the sweeps of experiments/ (at 2 replications) at the given scales: what a change
# that must not move any result is checked with.
#
#   bash scripts/compare-results.sh OLD_BIN NEW_BIN [SCALE...]      # default scales: 0.01
#
# The tables are compared as CSV (`--format csv`), which renders every value and carries no file metadata,
# so a change of the Parquet footer alone does not count as a change of results. A sweep's tables are
# compared as written (its Parquet files carry no run-dependent metadata). Prints one line per run and exits 1
# if any table differs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

old=${1:?usage: compare-results.sh OLD_BIN NEW_BIN [SCALE...]}
new=${2:?usage: compare-results.sh OLD_BIN NEW_BIN [SCALE...]}
shift 2
scales=("${@:-0.01}")
[ ${#scales[@]} -gt 0 ] || scales=(0.01)
work=$(mktemp -d)
trap 'rm -rf "$work" experiments/*/.compare-$$-*' EXIT
status=0

compare() {
  local label=$1
  shift
  # A file that gained a field since the old binary was built is refused by it: say so, do not stop.
  if ! "$old" run "$@" --format csv --out "$work/old" >/dev/null 2>&1; then
    echo "skipped   $label: the old binary refuses it (a field newer than the old binary?)"
    rm -rf "$work/old"
    return
  fi
  "$new" run "$@" --format csv --out "$work/new" >/dev/null 2>&1
  local differs=""
  for f in "$work"/old/*.csv; do
    local name
    name=$(basename "$f")
    if ! cmp -s "$f" "$work/new/$name"; then
      differs="$differs $name"
    fi
  done
  if [ -z "$differs" ]; then
    echo "same      $label"
  else
    echo "DIFFERENT $label:$differs"
    status=1
  fi
  rm -rf "$work/old" "$work/new"
}

# An experiment at another scale and 2 replications: a copy beside the original, whose relative paths it keeps.
compare_sweep() {
  local experiment=$1 scale=$2
  local copy
  copy="$(dirname "$experiment")/.compare-$$-$(basename "$experiment")"
  sed -e "s/^scale = .*/scale = $scale/" -e "s/^replications = .*/replications = 2/" "$experiment" >"$copy"
  local label="sweep $experiment at scale $scale"
  if ! "$old" sweep "$copy" --jobs 2 --out "$work/old" >/dev/null 2>&1; then
    echo "skipped   $label: the old binary refuses it (a field newer than the old binary?)"
    rm -rf "$work/old" "$copy"
    return
  fi
  "$new" sweep "$copy" --jobs 2 --out "$work/new" >/dev/null 2>&1
  rm -f "$copy"
  local differs=""
  for name in runs.parquet configs.parquet configs.csv timeseries.parquet; do
    if ! cmp -s "$work/old/$name" "$work/new/$name"; then
      differs="$differs $name"
    fi
  done
  if [ -z "$differs" ]; then
    echo "same      $label"
  else
    echo "DIFFERENT $label:$differs"
    status=1
  fi
  rm -rf "$work/old" "$work/new"
}

for model in models/textbook/*.toml; do
  compare "$model" "$model"
done
for scale in "${scales[@]}"; do
  compare "replay at scale $scale" --scale "$scale"
  for variant in pre-warming autoscaling no-attack mitigated-in-5-min hosting-loss; do
    compare "replay variant $variant at scale $scale" --scale "$scale" --variant "$variant"
  done
  compare "evening at scale $scale" models/france-2021-04-05-evening.toml --scale "$scale"
  for experiment in experiments/*/experiment.toml; do
    compare_sweep "$experiment" "$scale"
  done
done
exit $status
