#!/usr/bin/env bash
# Speed of the national replay: runs the built-in 6 April 2021 scenario at several scales and prints wall
# time, events, events per second and peak memory (from each run's manifest.json), so that the cost can be
# seen to grow linearly with the population.
#
# Usage: bash benches/replay.sh [SCALE...]      (default: 0.01 0.1 0.3 1.0)
# Environment: RENTREE_BIN (default target/release/rentree, built if missing).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${RENTREE_BIN:-$repo/target/release/rentree}"
if [[ -z "${RENTREE_BIN:-}" ]]; then
    (cd "$repo" && cargo build --release --quiet)
fi
scales=("$@")
[[ ${#scales[@]} -gt 0 ]] || scales=(0.01 0.1 0.3 1.0)
tmp="$(mktemp -d "${TMPDIR:-/tmp}/rentree-replay.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "| scale | people | events | wall s | events/s | peak RSS MiB | events per person |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for s in "${scales[@]}"; do
    out="$tmp/scale-$s"
    "$bin" run --scale "$s" --out "$out" >/dev/null 2>"$tmp/stderr-$s" || { cat "$tmp/stderr-$s" >&2; exit 1; }
    python3 - "$out/manifest.json" "$s" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
scale = float(sys.argv[2])
people = round(13_200_000 * scale)
rss = m.get("peak_rss_mib")
print(f"| {scale:g} | {people:,} | {m['events']:,} | {m['wall_s']:.2f} | {m['events_per_s']:,.0f} | "
      f"{rss:,.0f} | {m['events'] / people:.1f} |" if rss is not None else
      f"| {scale:g} | {people:,} | {m['events']:,} | {m['wall_s']:.2f} | {m['events_per_s']:,.0f} | ? | {m['events'] / people:.1f} |")
PY
done
echo
echo "command: bash benches/replay.sh ${scales[*]}   ($(uname -m), $(nproc) cores, rentree $("$bin" --version | cut -d' ' -f2))"
