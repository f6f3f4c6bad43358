#!/usr/bin/env bash
# The Python package's tests, from a clean checkout: a fresh venv, the package installed into it with the
# README's command (`pip install ./python`: maturin builds the wheel from python/, in the shared target
# directory), then `python -c "import rentree; ..."` as the README shows it, and pytest on python/tests
# (results equal to the binary's files, bad input, the GIL, Ctrl-C, the console command, mypy --strict).
#
#   bash scripts/python-test.sh
#
# Environment:
#   RENTREE_BIN   the binary the package's results are compared with (default: target/release/rentree)
#   PYTHON        the interpreter that makes the venv (default: python3; 3.9 or later)
# Needs PyPI (maturin, polars, pytest, mypy); installs nothing outside target/python-venv.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$REPO/target/python-venv"
bin="${RENTREE_BIN:-$REPO/target/release/rentree}"
py="${PYTHON:-python3}"
log() { echo "python-test.sh: $*" >&2; }

[[ -x "$bin" ]] || { log "no rentree binary at $bin: build it (cargo build --release) or set RENTREE_BIN"; exit 1; }

# A fresh venv every time: the install must work from nothing but PyPI and the checkout.
rm -rf "$venv"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
t0=$(date +%s)
log "pip install ./python (builds the wheel with maturin)"
(cd "$REPO" && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --prefer-binary ./python)
log "installed in $(( $(date +%s) - t0 )) s"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --prefer-binary -r "$REPO/python/tests/requirements.txt"

# The README's first lines of use, as written there.
(cd "$(mktemp -d)" && "$venv/bin/python" -c "import rentree; print(rentree.run(scale=0.01).summary)" >/dev/null)
"$venv/bin/rentree" --version

cd "$REPO/python/tests"
RENTREE_BIN="$bin" PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest -q -p no:cacheprovider -s -W error::pytest.PytestUnraisableExceptionWarning .
