#!/usr/bin/env bash
# The briefing in a real browser: installs Debian's chromium and playwright-core (no browser download) if
# missing, makes a small run and a small sweep, writes their briefings (French and English) and PNG/SVG
# images, and checks every page in headless Chromium with networking off.
#
# Usage: bash scripts/browser-test.sh      (RENTREE_BIN overrides target/release/rentree)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${RENTREE_BIN:-$repo/target/release/rentree}"
[[ -x "$bin" ]] || { echo "browser-test: $bin not built (cargo build --release)" >&2; exit 1; }
if ! command -v chromium >/dev/null 2>&1; then
    echo "browser-test: installing Debian's chromium"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
fi
if [[ ! -d "$repo/tests/browser/node_modules/playwright-core" ]]; then
    echo "browser-test: installing playwright-core (driver only, it downloads no browser)"
    (cd "$repo/tests/browser" && npm install --no-audit --no-fund --silent)
fi
tmp="$(mktemp -d "${TMPDIR:-/tmp}/rentree-browser.XXXXXX")"
keep() { echo "browser-test: files kept in $tmp" >&2; }
passed=0; failed=0
check() {  # check NAME PAGE SCREENSHOT SENTENCE...
    local name="$1"; shift
    if node "$repo/tests/browser/check-briefing.mjs" "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $name" >&2; fi
}
"$bin" run --scale 0.005 --out "$tmp/run" >/dev/null 2>&1
cat > "$tmp/experiment.toml" <<'TOML'
[experiment]
name = "browser test"
scenario = "builtin:replay"
scale = 0.003
replications = 3
seed = 1
design = "strategies"
[[strategy]]
name = "as on the day"
set = {}
[[strategy]]
name = "no quota"
set = { "platforms.ent.admission" = [] }
TOML
"$bin" sweep "$tmp/experiment.toml" --out "$tmp/sweep" --jobs 2 >/dev/null 2>&1
for lang in fr en; do
    "$bin" report "$tmp/run" --out "$tmp/brief-run" --lang "$lang" --png --svg >/dev/null 2>"$tmp/run-$lang.txt"
    "$bin" report "$tmp/sweep" --out "$tmp/brief-sweep" --lang "$lang" >/dev/null 2>"$tmp/sweep-$lang.txt"
done
check "run, French" "$tmp/brief-run/briefing-fr.html" "$tmp/run-fr.png" "À 9 h," "des utilisateurs s'étaient connectés" \
    "Classes virtuelles :" "bloquées par la protection" "attendaient de réessayer ou de revenir"
check "run, English" "$tmp/brief-run/briefing-en.html" "$tmp/run-en.png" "By 9:00," "of users had logged in" \
    "Virtual classes:" "blocked by the protection" "were waiting to retry or to come back"
check "sweep, French" "$tmp/brief-sweep/briefing-fr.html" "$tmp/sweep-fr.png" "Meilleure stratégie à 9 h"
check "sweep, English" "$tmp/brief-sweep/briefing-en.html" "$tmp/sweep-en.png" "Best strategy by 9:00"
# Images for slides: every chart as a real PNG and SVG.
for f in "$tmp"/brief-run/*.png; do
    if head -c 8 "$f" | od -An -tx1 | grep -q "89 50 4e 47"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $f is not a PNG" >&2; fi
done
for f in "$tmp"/brief-run/*.svg; do
    if grep -q "<svg" "$f"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $f is not an SVG" >&2; fi
done
echo "browser-test: pages and screenshots in $tmp"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]] || { keep; exit 1; }
