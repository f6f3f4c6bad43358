#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need (idempotently), then runs them.
#
#   bash scripts/test.sh            # everything
#   QUICK=1 bash scripts/test.sh    # skip the peer-simulator smoke run
#
# Installs on a fresh Debian machine, idempotently: slurm-wlm and munge (single-node cluster), chromium
# (briefing test and image export), playwright-core (npm, no browser download), and Python venvs for the
# Python package's tests (made afresh each time), the notebooks and the peer simulators; cargo-fuzz
# (scripts/fuzz.sh).
#
# Tests run in the release profile: the statistical checks simulate tens of millions of events, and one
# profile means polars is built once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Each step says when it starts (UTC), so that a slow run shows which step took the time.
step() { printf '\n==> %s  [%s]\n' "$*" "$(date -u +%H:%M:%S)"; }

step "toolchain"
cargo --version

step "format (rustfmt)"
cargo fmt --check

step "build (release), with clippy's lints as errors"
# Clippy's driver compiles the workspace's own crates (it is rustc with the lints added) while the
# dependencies are built once, for the build and the tests alike: `cargo clippy` would check every dependency
# a second time, minutes on a fresh machine. This is how `cargo clippy` itself calls the driver
# (RUSTC_WORKSPACE_WRAPPER, its arguments in CLIPPY_ARGS), with `cargo build` in place of `cargo check`;
# the tests below are built under the same wrapper, so nothing is compiled twice.
export RUSTC_WORKSPACE_WRAPPER="$(rustc --print sysroot)/bin/clippy-driver"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
cargo build --release --locked --all-targets

step "single-node Slurm cluster on localhost (for the distributed-sweep test)"
bash scripts/slurm-cluster.sh start
eval "$(bash scripts/slurm-cluster.sh env)"
export RENTREE_SLURM=1
trap 'bash scripts/slurm-cluster.sh stop >/dev/null 2>&1 || true' EXIT

step "unit, integration and doc tests"
cargo test --release --locked --all-targets
cargo test --release --locked --doc

step "rentree verify (simulator against queueing theory)"
./target/release/rentree verify

step "the Python package: pip install ./python into a fresh venv, its tests (pytest) and mypy --strict"
# Still under clippy's wrapper: the package's crate gets the same lints, and the library it binds is the one
# built above, not compiled a second time.
RENTREE_BIN="$PWD/target/release/rentree" bash scripts/python-test.sh

step "notebooks executed headless through the Python package (polars + plotly in a venv)"
bash scripts/notebooks.sh

step "briefing pages in headless Chromium, networking off; PNG/SVG export"
RENTREE_BIN="$PWD/target/release/rentree" bash scripts/browser-test.sh

step "shipped scenario and experiment files against their JSON Schema (taplo, as editors check them)"
bash scripts/schema-check.sh

if [ "${QUICK:-0}" != 1 ]; then
  step "peer simulators smoke run (SimPy, Ciw in a venv)"
  RENTREE_BIN="$PWD/target/release/rentree" bash benches/peers/run.sh --quick --no-build --strict
fi

# What follows builds another workspace (the fuzz target), with its own flags.
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS

step "fuzzing: scenario parsing, validation and a bounded run, for FUZZ_SECONDS (default 90)"
bash scripts/fuzz.sh

step "all tests passed"
