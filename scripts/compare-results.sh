#!/usr/bin/env bash
# Compares the result tables of two rentree binaries, byte for byte, on the textbook models, the replay
# (and its variants) and the sweeps of experiments/ (at 2 replications) at the given scales: what a change
# that must not move any result is checked with.
#
#   bash scripts/compare-results.sh [--new-columns] OLD_BIN NEW_BIN [SCALE...]      # default scales: 0.01
#
# --new-columns is for a change that adds output columns: a table then counts as the same when every column
# the old binary wrote holds the same values, row for row, in the new one (CSV tables; of a sweep, its
# configs.csv, which carries every summary column's mean, standard deviation and half-width per configuration).
#
# The tables are compared as CSV (`--format csv`), which renders every value and carries no file metadata,
# so a change of the Parquet footer alone does not count as a change of results. A sweep's tables are
# compared as written: their Parquet footers carry the sweep's run id, a hash of its plan.json, so a change of
# the plan alone (a new field) shows as DIFFERENT; compare their contents then. Prints one line per run and exits 1
# if any table differs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

new_columns=""
if [ "${1:-}" = "--new-columns" ]; then
  new_columns=1
  shift
fi
old=${1:?usage: compare-results.sh [--new-columns] OLD_BIN NEW_BIN [SCALE...]}
new=${2:?usage: compare-results.sh OLD_BIN NEW_BIN [SCALE...]}
shift 2
scales=("${@:-0.01}")
[ ${#scales[@]} -gt 0 ] || scales=(0.01)
work=$(mktemp -d)
trap 'rm -rf "$work" experiments/*/.compare-$$-*' EXIT
status=0

# Runs `old` then `new` with the same arguments (their output folder appended), and compares the named files
# of the two folders (a file missing from one is a difference); LABEL names the case in the report.
#   check LABEL "FILE..." COMMAND ARG...
check() {
  local label=$1 files=$2
  shift 2
  # A file that gained a field since the old binary was built is refused by it: say so, do not stop.
  if ! "$old" "$@" --out "$work/old" >/dev/null 2>&1; then
    echo "skipped   $label: the old binary refuses it (a field newer than the old binary?)"
    rm -rf "$work/old"
    return
  fi
  "$new" "$@" --out "$work/new" >/dev/null 2>&1
  local differs="" name
  for name in $files; do
    # A table neither writes (a run without sessions has no access curve) is no difference.
    [ -e "$work/old/$name" ] || [ -e "$work/new/$name" ] || continue
    if [ -n "$new_columns" ]; then
      case $name in
        *.csv) same_old_columns "$work/old/$name" "$work/new/$name" || differs="$differs $name" ;;
        *) ;; # a Parquet table: its CSV twin is compared
      esac
    elif ! cmp -s "$work/old/$name" "$work/new/$name"; then
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

# Whether every column of CSV table OLD is in NEW with the same values, row for row.
same_old_columns() {
  python3 - "$1" "$2" <<'PY'
import csv, sys
def read(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        return None
    return rows[0], rows[1:]
old, new = read(sys.argv[1]), read(sys.argv[2])
if old is None or new is None:
    sys.exit(0 if old is None and new is None else 1)
(oh, orows), (nh, nrows) = old, new
if len(orows) != len(nrows) or any(c not in nh for c in oh):
    sys.exit(1)
pick = [nh.index(c) for c in oh]
sys.exit(0 if all(o == [n[i] for i in pick] for o, n in zip(orows, nrows)) else 1)
PY
}

# A run's three tables, as CSV.
compare() {
  local label=$1
  shift
  check "$label" "summary.csv timeseries.csv access.csv" run "$@" --format csv
}

# An experiment at another scale and 2 replications: a copy beside the original, whose relative paths it keeps.
compare_sweep() {
  local experiment=$1 scale=$2
  local copy
  copy="$(dirname "$experiment")/.compare-$$-$(basename "$experiment")"
  sed -e "s/^scale = .*/scale = $scale/" -e "s/^replications = .*/replications = 2/" "$experiment" >"$copy"
  check "sweep $experiment at scale $scale" "runs.parquet configs.parquet configs.csv timeseries.parquet" sweep "$copy" --jobs 2
  rm -f "$copy"
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
