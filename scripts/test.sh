#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need (idempotently), then runs them.
#
#   bash scripts/test.sh            # everything
#   QUICK=1 bash scripts/test.sh    # skip the peer-simulator smoke run
#
# Tests run in the release profile: the statistical checks simulate tens of millions of events, and one
# profile means polars is built once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
cargo --version

step "build (release)"
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

if [ "${QUICK:-0}" != 1 ]; then
  step "peer simulators smoke run (SimPy, Ciw in a venv)"
  RENTREE_BIN="$PWD/target/release/rentree" bash benches/peers/run.sh --quick --no-build --strict
fi

step "all tests passed"
