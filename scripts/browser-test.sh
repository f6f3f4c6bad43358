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
if ! command -v pdftoppm >/dev/null 2>&1 || ! command -v pdftotext >/dev/null 2>&1; then
    echo "browser-test: installing poppler-utils (pdftoppm, pdftotext, pdfinfo: the printed briefing read back)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils) >/dev/null
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
# The printed briefing: an A4 PDF of one or two pages whose text (read back by pdftotext) has the title, the
# scale, the headlines, the charts' titles, the assumptions and the footer, and whose pages convert to images.
pdf_check() {  # pdf_check NAME PDF FRAGMENT...
    local name="$1" pdf="$2"; shift 2
    local problems=""
    [[ -s "$pdf" ]] || problems+=" no file;"
    local pages; pages="$(pdfinfo "$pdf" 2>/dev/null | awk '/^Pages:/ {print $2}')"
    [[ "$pages" == 1 || "$pages" == 2 ]] || problems+=" $pages pages (expected 1 or 2);"
    pdfinfo "$pdf" 2>/dev/null | grep -q "(A4)" || problems+=" not A4;"
    local text; text="$(pdftotext -layout "$pdf" - 2>/dev/null | tr -s ' \n' '  ')"
    for f in "$@"; do [[ "$text" == *"$f"* ]] || problems+=" lacks \"$f\";"; done
    rm -f "$pdf.page"*.png
    pdftoppm -r 50 -png "$pdf" "$pdf.page" 2>/dev/null
    local images; images="$(ls "$pdf.page"*.png 2>/dev/null | wc -l)"
    [[ "$images" == "$pages" ]] || problems+=" $images page images for $pages pages;"
    if [[ -z "$problems" ]]; then passed=$((passed + 1)); echo "$pdf: $pages page(s), A4, text and images checked"
    else failed=$((failed + 1)); echo "FAIL: $name:$problems" >&2; fi
}
for lang in fr en; do
    "$bin" report "$tmp/run" --out "$tmp/brief-run" --lang "$lang" --pdf >/dev/null 2>/dev/null
    "$bin" report "$tmp/sweep" --out "$tmp/brief-sweep" --lang "$lang" --pdf >/dev/null 2>/dev/null
done
pdf_check "run PDF, French" "$tmp/brief-run/briefing-fr.pdf" "Matinée simulée" "personnes simulées à l'échelle 0,005" \
    "À 9 h," "Demande et capacité par minute" "Hypothèses" "capacité nominale" "rentree run --seed 1 --scale 0.005"
pdf_check "run PDF, English" "$tmp/brief-run/briefing-en.pdf" "Simulated morning" "people simulated at scale 0.005" \
    "By 9:00," "Demand against capacity per minute" "Assumptions" "nominal capacity" "rentree run --seed 1 --scale 0.005"
pdf_check "sweep PDF, English" "$tmp/brief-sweep/briefing-en.pdf" "Strategies compared" "Best strategy by 9:00" "Simulated at scale 0.003"
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
