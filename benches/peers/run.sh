#!/usr/bin/env bash
# Peer comparison: the same M/M/c queue (c = 50, lambda = 45/s, mu = 1/s, FIFO,
# infinite queue) in rentree, SimPy and Ciw, then (without --quick) in rentree and
# the Rust peers side by side: simcore 0.1.0, nexosim 1.0.0 and a bare binary-heap
# loop (benches/peers/rust, a workspace of its own, built here), each the same
# 100,000 simulated seconds as models/textbook/mmc-bench.toml, timed as whole
# processes in alternation (--rounds rounds; medians). Prints Markdown tables with
# each engine's events/s, rentree's ratio to it, and each mean wait against Erlang C.
#
# Usage: bash benches/peers/run.sh [--quick] [--no-build] [--seed N]
#   --quick      short horizons for the Python peers (CI smoke run, a few seconds)
#   --no-build   do not run `cargo build --release`; use the binary as it is
#   --seed N     seed passed to the Python peers (default 1)
#   --strict     exit 1 when the rentree row is missing too (a failed peer always does)
#   --rounds N   alternations of the whole-process comparison with the Rust peers (default 5)
# Environment:
#   RENTREE_BIN       rentree binary to use (default: <repo>/target/release/rentree;
#                     when set, the cargo build is skipped)
#   RENTREE_SCENARIO  scenario file (default: models/textbook/mmc-bench.toml)
#   PYTHON            interpreter used to create the venv (default: python3)
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/../.." && pwd)"
invocation="bash benches/peers/run.sh${*:+ $*}"

quick=0
build=1
strict=0
seed=1
rounds=5
peer_failed=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) quick=1 ;;
        --no-build) build=0 ;;
        --strict) strict=1 ;;
        --seed) seed="${2:?--seed needs a value}"; shift ;;
        --seed=*) seed="${1#--seed=}" ;;
        --rounds) rounds="${2:?--rounds needs a value}"; shift ;;
        -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

# Horizons (simulated seconds) for the Python peers. Defaults take ~5-15 s each
# on a 2-core machine; --quick keeps the whole run to a few seconds.
if [[ $quick -eq 1 ]]; then
    simpy_horizon=3000; simpy_warmup=500
    ciw_horizon=1200; ciw_warmup=200
else
    simpy_horizon=20000; simpy_warmup=1000
    ciw_horizon=5000; ciw_warmup=1000
fi

log() { echo "run.sh: $*" >&2; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/rentree-peers.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# ---------------------------------------------------------------- venv
venv="$script_dir/.venv"
req="$script_dir/requirements.txt"
stamp="$venv/.requirements.sha256"
req_sum="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" ]]; then
    log "creating venv at benches/peers/.venv"
    "${PYTHON:-python3}" -m venv "$venv"
fi
if [[ ! -f "$stamp" ]] || [[ "$(cat "$stamp")" != "$req_sum" ]]; then
    log "installing benches/peers/requirements.txt into the venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "$req_sum" > "$stamp"
fi
py="$venv/bin/python"

# ---------------------------------------------------------------- rentree
rentree_status="ok"
rentree_cmd=""
rentree_json="$tmp/rentree.json"
scenario="${RENTREE_SCENARIO:-models/textbook/mmc-bench.toml}"
if [[ -n "${RENTREE_BIN:-}" ]]; then
    bin="$RENTREE_BIN"
else
    bin="$repo_root/target/release/rentree"
    if [[ $build -eq 1 ]]; then
        log "building rentree (cargo build --release --quiet)"
        if ! (cd "$repo_root" && cargo build --release --quiet); then
            rentree_status="cargo build --release failed"
        fi
    fi
fi

if [[ "$rentree_status" == "ok" ]]; then
    if [[ ! -x "$bin" ]]; then
        rentree_status="no rentree binary at $bin (build it, or set RENTREE_BIN)"
    elif [[ ! -f "$repo_root/$scenario" && ! -f "$scenario" ]]; then
        rentree_status="scenario $scenario not found"
    fi
fi

if [[ "$rentree_status" == "ok" ]]; then
    out="$tmp/rentree-out"
    mkdir -p "$out"
    rentree_cmd="$bin run $scenario --out $out --format csv"
    log "running: $rentree_cmd"
    if ! (cd "$repo_root" && "$bin" run "$scenario" --out "$out" --format csv) \
            >"$tmp/rentree.stdout" 2>"$tmp/rentree.stderr"; then
        rentree_status="rentree run failed: $(tail -n 3 "$tmp/rentree.stderr" | tr '\n' ' ')"
    elif ! python3 - "$out" "$rentree_json" 2>"$tmp/rentree-parse.err" <<'EOF'
import csv, json, sys
out, dest = sys.argv[1], sys.argv[2]
with open(f"{out}/manifest.json") as f:
    m = json.load(f)
events = int(m["events"])
wall = float(m["wall_s"])
with open(f"{out}/summary.csv", newline="") as f:
    rows = list(csv.DictReader(f))
if not rows:
    raise SystemExit("summary.csv has no data row")
if "mean_wait_s" not in rows[0]:
    raise SystemExit("summary.csv has no mean_wait_s column")
wait = float(rows[0]["mean_wait_s"])
note = f"summary.csv has {len(rows)} rows; first used" if len(rows) > 1 else ""
json.dump({"engine": "rentree " + str(m.get("version", m.get("rentree_version", ""))).strip(),
           "events": events, "cpu_s": wall, "events_per_s": events / wall if wall > 0 else None,
           "mean_wait_s": wait, "note": note}, open(dest, "w"))
EOF
    then
        rentree_status="could not read rentree's output: $(tail -n 1 "$tmp/rentree-parse.err")"
    fi
fi
if [[ "$rentree_status" != "ok" ]]; then
    log "rentree: $rentree_status -- its row is left out, the peers still run"
fi

# ---------------------------------------------------------------- peers
simpy_cmd="benches/peers/.venv/bin/python benches/peers/mmc_simpy.py --horizon-s $simpy_horizon --warmup-s $simpy_warmup --seed $seed"
ciw_cmd="benches/peers/.venv/bin/python benches/peers/mmc_ciw.py --horizon-s $ciw_horizon --warmup-s $ciw_warmup --seed $seed"

log "running SimPy (horizon $simpy_horizon s)"
if ! "$py" "$script_dir/mmc_simpy.py" --horizon-s "$simpy_horizon" --warmup-s "$simpy_warmup" \
        --seed "$seed" >"$tmp/simpy.json" 2>"$tmp/simpy.err"; then
    log "SimPy run failed:"; cat "$tmp/simpy.err" >&2; : >"$tmp/simpy.json"; peer_failed=1
fi
log "running Ciw (horizon $ciw_horizon s)"
if ! "$py" "$script_dir/mmc_ciw.py" --horizon-s "$ciw_horizon" --warmup-s "$ciw_warmup" \
        --seed "$seed" >"$tmp/ciw.json" 2>"$tmp/ciw.err"; then
    log "Ciw run failed:"; cat "$tmp/ciw.err" >&2; : >"$tmp/ciw.json"; peer_failed=1
fi

# ---------------------------------------------------------------- table
python3 - "$tmp" "$rentree_status" <<'EOF' || peer_failed=1
import json, os, sys

tmp, rentree_status = sys.argv[1], sys.argv[2]
C, LAM, MU = 50, 45.0, 1.0

def erlang_c_wq(c, lam, mu):
    a = lam / mu
    rho = a / c
    # Erlang B by the stable recurrence, then C from B.
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    pw = b / (1 - rho * (1 - b))
    return pw / (c * mu - lam)

wq = erlang_c_wq(C, LAM, MU)

def load(name):
    p = os.path.join(tmp, name)
    try:
        with open(p) as f:
            txt = f.read().strip()
        return json.loads(txt.splitlines()[-1]) if txt else None
    except (OSError, ValueError, IndexError):
        return None

rentree = load("rentree.json") if rentree_status == "ok" else None
peers = [("simpy", load("simpy.json")), ("ciw", load("ciw.json"))]
r_eps = rentree["events_per_s"] if rentree else None

def fmt_int(x):
    return f"{x:,}" if isinstance(x, int) else "n/a"

def fmt_eps(x):
    return f"{x:,.0f}" if x else "n/a"

def fmt_wait(w):
    if w is None:
        return "n/a"
    return f"{w:.5f} ({(w - wq) / wq * 100:+.1f}%)"

print("| engine | events | CPU s | events/s | rentree ratio | mean wait s | Erlang C Wq s |")
print("|---|---:|---:|---:|---:|---:|---:|")
if rentree:
    name = rentree["engine"].strip() or "rentree"
    print(f"| {name} | {fmt_int(rentree['events'])} | {rentree['cpu_s']:.3f} (wall) | "
          f"{fmt_eps(r_eps)} | 1.00x | {fmt_wait(rentree['mean_wait_s'])} | {wq:.6f} |")
else:
    print(f"| rentree | n/a | n/a | n/a | n/a | n/a | {wq:.6f} |")
for label, r in peers:
    if not r:
        print(f"| {label} | failed | n/a | n/a | n/a | n/a | {wq:.6f} |")
        continue
    eps = r.get("events_per_s")
    ratio = f"{r_eps / eps:,.1f}x" if (r_eps and eps) else "n/a"
    print(f"| {r['engine']} | {fmt_int(r['events'])} | {r['cpu_s']:.3f} | {fmt_eps(eps)} | "
          f"{ratio} | {fmt_wait(r.get('mean_wait_s'))} | {wq:.6f} |")
print()
print(f"M/M/c with c = {C}, lambda = {LAM:g}/s, mu = {MU:g}/s (rho = {LAM / (C * MU):.2f}). "
      "Events = arrivals + service completions. Peers: CPU time (time.process_time) "
      "of the simulation loop; rentree: the simulation's wall time (manifest wall_s). "
      "Mean wait in brackets: deviation from Erlang C.")
if rentree_status != "ok":
    print()
    print(f"rentree row missing: {rentree_status}")
elif rentree and rentree.get("note"):
    print()
    print(f"rentree: {rentree['note']}")
if any(r is None for _, r in peers):
    sys.exit(3)
EOF

# ---------------------------------------------------------------- Rust peers, whole processes
if [[ $quick -eq 0 && "$rentree_status" == "ok" ]]; then
    rust="$script_dir/rust"
    log "building the Rust peers (cargo build --release in benches/peers/rust)"
    if ! (cd "$rust" && cargo build --release --locked --quiet); then
        log "the Rust peers did not build"; peer_failed=1
    else
        horizon=100000; warmup=1000
        names=(rentree simcore nexosim heap)
        cmd_rentree=("$bin" run "$repo_root/$scenario" --out "$tmp/whole" --format csv)
        cmd_simcore=("$rust/target/release/mmc-simcore" --horizon-s $horizon --warmup-s $warmup --seed "$seed")
        cmd_nexosim=("$rust/target/release/mmc-nexosim" --horizon-s $horizon --warmup-s $warmup --seed "$seed")
        cmd_heap=("$rust/target/release/mmc-heap" --horizon-s $horizon --warmup-s $warmup --seed "$seed")
        # Wall seconds of one whole process; its standard output kept for the events and the wait.
        whole() {
            local name="$1"; shift
            local t0 t1
            t0=$(date +%s%N)
            "$@" >"$tmp/whole-$name.out" 2>"$tmp/whole-$name.err" || { log "$name failed: $(tail -n 2 "$tmp/whole-$name.err")"; return 1; }
            t1=$(date +%s%N)
            awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }' >>"$tmp/times-$name"
        }
        log "timing rentree and the Rust peers as whole processes, $rounds rounds alternated"
        for ((r = 0; r <= rounds; r++)); do
            for n in "${names[@]}"; do
                declare -n c="cmd_$n"
                whole "$n" "${c[@]}" || { peer_failed=1; break 2; }
                unset -n c
            done
            # The first round warms the page cache and the binaries, and is not counted.
            if [[ $r -eq 0 ]]; then for n in "${names[@]}"; do : >"$tmp/times-$n"; done; fi
        done
        if [[ $peer_failed -eq 0 ]]; then
            echo
            python3 - "$tmp" "$rounds" <<'EOF' || peer_failed=1
import csv, json, statistics, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
C, LAM, MU = 50, 45.0, 1.0
a = LAM / MU
b = 1.0
for k in range(1, C + 1):
    b = a * b / (k + a * b)
wq = b / (1 - a / C * (1 - b)) / (C * MU - LAM)
def times(n):
    return [float(x) for x in open(f"{tmp}/times-{n}").read().split()]
m = json.load(open(f"{tmp}/whole/manifest.json"))
wait = float(next(csv.DictReader(open(f"{tmp}/whole/summary.csv")))["mean_wait_s"])
rows = [(f"rentree {m['rentree_version']} (`rentree run`)", int(m["events"]), times("rentree"), wait)]
labels = {"simcore": "simcore 0.1.0", "nexosim": "nexosim 1.0.0", "heap": "bare binary-heap loop"}
for n in ("simcore", "nexosim", "heap"):
    out = json.loads(open(f"{tmp}/whole-{n}.out").read().strip().splitlines()[-1])
    rows.append((labels[n], int(out["events"]), times(n), float(out["mean_wait_s"])))
base = statistics.median(rows[0][2])
print("| engine | events | whole process s, median (range) | events/s | rentree's time / its time | mean wait s |")
print("|---|---:|---:|---:|---:|---:|")
for name, events, ts, w in rows:
    med = statistics.median(ts)
    print(f"| {name} | {events:,} | {med:.3f} ({min(ts):.3f}..{max(ts):.3f}) | {events / med:,.0f} | {base / med:.2f}x | "
          f"{w:.5f} ({(w - wq) / wq * 100:+.1f}%) |")
print()
print(f"The same M/M/{C} (lambda = {LAM:g}/s, mu = {MU:g}/s), 100,000 simulated seconds (warm-up 1,000) in each; "
      f"whole processes (start, simulation, and rentree's result files), {rounds} rounds alternated after one untimed; "
      f"Erlang C Wq = {wq:.6f} s. A ratio below 1 is rentree taking less time than the engine of the row.")
EOF
        fi
    fi
fi

echo
echo "Command line:"
echo
echo '```'
echo "$invocation"
if [[ -n "$rentree_cmd" ]]; then echo "# rentree: $rentree_cmd"; fi
echo "# simpy:   $simpy_cmd"
echo "# ciw:     $ciw_cmd"
if [[ $quick -eq 0 ]]; then
    echo "# Rust peers: benches/peers/rust/target/release/mmc-{simcore,nexosim,heap} --horizon-s 100000 --warmup-s 1000 --seed $seed"
fi
echo '```'

if [[ $peer_failed -eq 1 ]]; then
    exit 1
fi
if [[ $strict -eq 1 && "$rentree_status" != "ok" ]]; then
    exit 1
fi
