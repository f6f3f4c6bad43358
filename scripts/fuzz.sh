#!/usr/bin/env bash
# Coverage-guided fuzzing of scenario parsing, validation and a bounded short run (fuzz/fuzz_targets/scenario.rs).
#
#   bash scripts/fuzz.sh                    # 90 s of fuzzing
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh   # longer
#
# Installs cargo-fuzz (pinned) if it is missing, builds the target, then fuzzes for FUZZ_SECONDS starting
# from a scratch copy of the committed corpus, each of whose inputs is run first (fuzz/corpus is never written: new inputs and artifacts
# stay in the scratch folder), after replaying the fixed findings of fuzz/regressions. Fails on any crash, abort, timeout (FUZZ_TIMEOUT_S per input) or memory
# above FUZZ_RSS_LIMIT_MB, printing the input; FUZZ_KEEP=1 keeps the scratch folder.
#
# Build flags, measured on this 2-core machine:
# - `-O --debug-assertions`: optimized, with overflow checks and debug assertions on, so that an integer
#   overflow in validation or in the run is a finding rather than a silently wrong number.
# - `--sanitizer none`: the library's only unsafe code is two hints (a prefetch and madvise) that touch
#   no memory contents, so AddressSanitizer has little to find here, while it made the target's build more
#   than twice as long and its executions fourteen times slower (README.md, "Fuzzing"). Without it,
#   libFuzzer still reports panics, aborts, timeouts and memory above the RSS limit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CARGO_FUZZ_VERSION=0.13.2
FUZZ_SECONDS=${FUZZ_SECONDS:-90}
FUZZ_TIMEOUT_S=${FUZZ_TIMEOUT_S:-20}
FUZZ_RSS_LIMIT_MB=${FUZZ_RSS_LIMIT_MB:-2048}
TARGET=scenario
FLAGS=(-O --debug-assertions --sanitizer none)

# cargo-fuzz passes nightly-only flags (-Z…) to rustc; the stable toolchain accepts them with this.
export RUSTC_BOOTSTRAP=1

# libfuzzer-sys compiles libFuzzer's C++ sources.
if ! command -v c++ >/dev/null; then
  apt-get update -qq && apt-get install -y -qq g++
fi
if ! cargo fuzz --version 2>/dev/null | grep -qF " $CARGO_FUZZ_VERSION"; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

# The fuzz crate has its own workspace and Cargo.lock: refuse to run if the lock would change.
cargo fetch --locked --manifest-path fuzz/Cargo.toml >/dev/null

cd fuzz
cargo fuzz build "${FLAGS[@]}" "$TARGET"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/rentree-fuzz.XXXXXX")
if [ "${FUZZ_KEEP:-0}" = 1 ]; then
  echo "scratch folder kept: $scratch"
else
  trap 'rm -rf "$scratch"' EXIT
fi
mkdir -p "$scratch/corpus" "$scratch/artifacts"
cp corpus/"$TARGET"/* "$scratch/corpus/"
# Today's models and experiments too, those that differ from every committed input (new or changed since).
committed=$(sha256sum corpus/"$TARGET"/* | cut -d' ' -f1)
for f in $(find ../models -type f -name '*.toml') ../experiments/*/experiment.toml; do
  if ! grep -qx "$(sha256sum "$f" | cut -d' ' -f1)" <<<"$committed"; then
    cp "$f" "$scratch/corpus/today-$(echo "${f#../}" | tr '/' '-')"
  fi
done

binary="target/$(rustc -vV | sed -n 's/^host: //p')/release/$TARGET"
limits=(-timeout="$FUZZ_TIMEOUT_S" -rss_limit_mb="$FUZZ_RSS_LIMIT_MB")

# Fixed findings stay fixed: each file of regressions/ runs once. Findings not fixed yet wait in
# regressions/open/; FUZZ_OPEN=1 replays them too and says which pass (move those up a folder).
shopt -s nullglob
fixed=(regressions/*.toml)
open=(regressions/open/*.toml)
if [ ${#fixed[@]} -gt 0 ]; then
  echo "==> replaying ${#fixed[@]} fixed findings (fuzz/regressions)"
  for f in "${fixed[@]}"; do
    if ! "$binary" "${limits[@]}" "$f" >"$scratch/log" 2>&1; then
      tail -n 30 "$scratch/log" >&2
      echo "fuzzing failed: fuzz/$f crashes again ($(sed -n 's/^# //p' "$f" | head -n 1))" >&2
      exit 1
    fi
  done
fi
if [ ${#open[@]} -gt 0 ]; then
  echo "==> ${#open[@]} open findings in fuzz/regressions/open (see its README.md)"
  if [ "${FUZZ_OPEN:-0}" = 1 ]; then
    for f in "${open[@]}"; do
      if "$binary" "${limits[@]}" "$f" >"$scratch/log" 2>&1; then echo "passes now: fuzz/$f"; else echo "still fails: fuzz/$f"; fi
    done
  fi
fi

libfuzzer_args=(
  -dict=scenario.dict
  "${limits[@]}"
  -artifact_prefix="$scratch/artifacts/"
  -print_final_stats=1
)

report_failure() {
  echo "fuzzing failed: $1" >&2
  # What libFuzzer says about the input (cargo-fuzz's own error follows it in the log).
  grep -E -m 20 -A 2 "panicked at|memory allocation|ERROR: libFuzzer|ALARM|out-of-memory|SUMMARY" "$scratch/log" >&2 || tail -n 40 "$scratch/log" >&2
  for a in "$scratch"/artifacts/*; do
    [ -e "$a" ] || continue
    echo "--- input $(basename "$a") ($(wc -c <"$a") bytes; replay: fuzz/$binary FILE, with RENTREE_FUZZ_DEBUG=1 for details):" >&2
    head -c 4000 "$a" | tr -d '\000-\010\013\014\016-\037\177' >&2
    echo >&2
  done
  exit 1
}

echo "==> fuzzing $TARGET for ${FUZZ_SECONDS} s (timeout ${FUZZ_TIMEOUT_S} s per input, RSS limit ${FUZZ_RSS_LIMIT_MB} MB)"
if ! cargo fuzz run "${FLAGS[@]}" "$TARGET" "$scratch/corpus" -- \
  "${libfuzzer_args[@]}" -max_total_time="$FUZZ_SECONDS" >"$scratch/log" 2>&1; then
  report_failure "a crash, abort, timeout or out-of-memory"
fi
grep -E '^(stat::|Done )' "$scratch/log" || tail -n 5 "$scratch/log"
echo "corpus: $(ls "$scratch/corpus" | wc -l) inputs ($(ls corpus/"$TARGET" | wc -l) committed)"
