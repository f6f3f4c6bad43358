#!/usr/bin/env bash
# Speed regression guard: the previous commit's binary (or REV's) against the current one, as whole
# processes in alternation (A B A B ...), so that a busy moment of this shared machine falls on both, on the
# M/M/c case (models/textbook/mmc-bench.toml: c = 50, lambda = 45/s, mu = 1/s, 10 million customers) and on
# the replay at scale 0.1. Prints each side's median wall time and the ratio new / old; a ratio above 1 is
# the new binary being slower. Not a test: timings belong in benchmarks, and the README's speed section
# quotes this table.
#
#   bash benches/guard.sh [--base REV | --old BIN] [--pairs N] [--new BIN]
#
#   --base REV   the revision to compare with (default HEAD~1); built once into target/guard/SHA/rentree
#                (its own target directory, target/guard/build: a first build takes as long as a clean one)
#   --old BIN    a binary to compare with instead of building one (e.g. a release's)
#   --pairs N    alternations per case (default 5)
#   --new BIN    the binary to compare (default target/release/rentree, built with cargo build --release)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

base=HEAD~1
pairs=5
new=""
old=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --base) base="${2:?--base needs a revision}"; shift ;;
        --pairs) pairs="${2:?--pairs needs a number}"; shift ;;
        --new) new="${2:?--new needs a binary}"; shift ;;
        --old) old="${2:?--old needs a binary}"; shift ;;
        -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "guard.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
[[ "$pairs" =~ ^[1-9][0-9]*$ ]] || { echo "guard.sh: --pairs $pairs: expected a whole number >= 1" >&2; exit 2; }

if [[ -n "$old" ]]; then
    [[ -x "$old" ]] || { echo "guard.sh: --old $old: not an executable" >&2; exit 2; }
    label="$old"
else
    sha="$(git rev-parse --verify --quiet "$base^{commit}")" || { echo "guard.sh: --base $base: not a revision of this repository" >&2; exit 2; }
    old="$repo/target/guard/$sha/rentree"
    label="$base ($(git log -1 --format='%h %s' "$sha" | cut -c1-60))"
fi
if [[ ! -x "$old" ]]; then
    echo "guard.sh: building $base ($sha) into target/guard/$sha" >&2
    tree="$(mktemp -d "${TMPDIR:-/tmp}/rentree-guard.XXXXXX")"
    git worktree add --quiet --detach "$tree" "$sha"
    trap 'git worktree remove --force "$tree" >/dev/null 2>&1 || true' EXIT
    (cd "$tree" && CARGO_TARGET_DIR="$repo/target/guard/build" cargo build --release --locked --quiet --bin rentree)
    mkdir -p "$(dirname "$old")"
    cp "$repo/target/guard/build/release/rentree" "$old.tmp" && mv "$old.tmp" "$old"
    git worktree remove --force "$tree"
    trap - EXIT
fi
if [[ -z "$new" ]]; then
    cargo build --release --locked --quiet --bin rentree
    new="$repo/target/release/rentree"
fi
[[ -x "$new" ]] || { echo "guard.sh: --new $new: not an executable" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/rentree-guard-runs.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Wall seconds of one whole process.
timed() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
    t1=$(date +%s%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

cases=("mmc|run models/textbook/mmc-bench.toml" "replay 0.1|run --scale 0.1")
echo "old: $label; new: $new; $pairs pairs per case, alternated"
echo
echo "| case | old median s | new median s | new / old | old range s | new range s |"
echo "| --- | ---: | ---: | ---: | --- | --- |"
for c in "${cases[@]}"; do
    name="${c%%|*}"
    read -r -a args <<<"${c#*|}"
    # One of each first, untimed: the page cache and the first read of the model.
    timed "$old" "${args[@]}" --out "$work/old" >/dev/null
    timed "$new" "${args[@]}" --out "$work/new" >/dev/null
    : >"$work/a"; : >"$work/b"
    for ((i = 0; i < pairs; i++)); do
        timed "$old" "${args[@]}" --out "$work/old" >>"$work/a"
        timed "$new" "${args[@]}" --out "$work/new" >>"$work/b"
    done
    ma=$(median <"$work/a"); mb=$(median <"$work/b")
    ra="$(sort -g "$work/a" | head -1)..$(sort -g "$work/a" | tail -1)"
    rb="$(sort -g "$work/b" | head -1)..$(sort -g "$work/b" | tail -1)"
    printf '| %s | %.2f | %.2f | %.3f | %s | %s |\n' "$name" "$ma" "$mb" "$(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.3f", b / a }')" "$ra" "$rb"
done
