#!/usr/bin/env bash
# Every shipped scenario and experiment file checked against the JSON Schemas `rentree schema` prints
# (docs/schema/, themselves checked current by the suite), with taplo, the TOML toolkit editors use: first
# each file against the schema of its kind (a scenario has [scenario], an experiment [experiment]; a
# calibration file has no schema and is checked by `rentree validate` in the suite), then the repository's
# .taplo.toml as an editor reads it. Installs @taplo/cli (pinned, into
# tests/schema/node_modules) if missing.
#
# Usage: bash scripts/schema-check.sh
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
taplo="$repo/tests/schema/node_modules/.bin/taplo"
if [[ ! -x "$taplo" ]]; then
    echo "schema-check: installing @taplo/cli"
    (cd "$repo/tests/schema" && npm install --no-audit --no-fund --silent)
fi
failed=0; checked=0
while IFS= read -r f; do
    if grep -q '^\[experiment\]' "$f"; then kind=experiment
    elif grep -q '^\[scenario\]' "$f"; then kind=scenario
    elif grep -q '^\[calibration\]' "$f"; then continue
    else echo "FAIL: $f is neither a scenario, an experiment nor a calibration file" >&2; failed=$((failed + 1)); continue
    fi
    if "$taplo" check --no-auto-config --schema "file://$repo/docs/schema/$kind.schema.json" "$f" >/tmp/schema-check.$$ 2>&1; then
        checked=$((checked + 1))
    else
        echo "FAIL: $f against the $kind schema:" >&2; grep -E '^error' /tmp/schema-check.$$ | sort -u >&2; failed=$((failed + 1))
    fi
done < <(git ls-files 'models/*.toml' 'experiments/*.toml' 'src/scenario/*.toml')
# The editors' view: taplo reading the repository's .taplo.toml, whose rules give each file its schema.
if ! "$taplo" check >/tmp/schema-check.$$ 2>&1; then
    echo "FAIL: taplo check with .taplo.toml:" >&2; grep -E '^error|path=' /tmp/schema-check.$$ | sort -u >&2; failed=$((failed + 1))
fi
rm -f /tmp/schema-check.$$
echo "schema-check: $checked files valid against their schema, $failed problem(s)"
[[ $failed -eq 0 ]]
