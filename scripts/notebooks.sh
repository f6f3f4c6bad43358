#!/usr/bin/env bash
# Notebook check: executes notebooks/01-one-run.ipynb, 02-compare-strategies.ipynb and 03-custom-search.ipynb
# headless at small scales, through the Python package installed into their venv, and checks that the
# committed notebooks carry no outputs.
#
#   bash scripts/notebooks.sh
#
# 1. notebooks/.venv: created if missing; notebooks/requirements.txt installed only when it changed (a hash
#    stamp in the venv); the venv's own ipykernel registered inside the venv only (nothing global).
# 2. The package installed into the venv from python/ (`pip install ./python`), and a small experiment (3
#    strategies x 3 replications at scale 0.003) written to a temporary folder.
# 3. Each notebook executed with papermill on the venv's kernel, small scales injected (the sweep's folder in
#    the temporary folder), the executed copy written there too (never into notebooks/); a cell error fails
#    it. Then the committed notebook must have no outputs and no execution counts.
# 4. One line per notebook, then "N passed, M failed"; exits 1 if any failed.
#
# Environment:
#   PYTHON           interpreter that creates the venv (default: python3; 3.11 or later)
#   NOTEBOOKS_KEEP   1 keeps the temporary folder (the data and the executed notebooks) after a pass;
#                    it is always kept after a failure
# Needs network access to PyPI (the requirements the first time and when requirements.txt changes; maturin, the
# package's build backend, at every install), nothing else.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
nbdir="$REPO/notebooks"
venv="$nbdir/.venv"
req="$nbdir/requirements.txt"
stamp="$venv/.requirements.sha256"
kernel_json="$venv/share/jupyter/kernels/python3/kernel.json"
notebooks=(01-one-run.ipynb 02-compare-strategies.ipynb 03-custom-search.ipynb)

log() { echo "notebooks.sh: $*" >&2; }
die() { log "$*"; exit 1; }
now_ms() { date +%s%3N; }
secs_since() { local ms=$(( $(now_ms) - $1 )); printf '%d.%01d s' $((ms / 1000)) $(((ms % 1000) / 100)); }

for nb in "${notebooks[@]}"; do [[ -f "$nbdir/$nb" ]] || die "missing notebooks/$nb"; done

# ------------------------------------------------------------------ venv
t0=$(now_ms)
if [[ ! -x "$venv/bin/python" ]]; then
    py="${PYTHON:-python3}"
    "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$py is Python $("$py" -c 'import platform; print(platform.python_version())'); polars needs 3.11 or later (set PYTHON)"
    log "creating venv at notebooks/.venv"
    "$py" -m venv "$venv"
fi
# The repository's .gitignore does not list notebooks/.venv: the venv ignores itself.
[[ -f "$venv/.gitignore" ]] || printf '# created by scripts/notebooks.sh\n*\n' > "$venv/.gitignore"
req_sum="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ ! -f "$stamp" ]] || [[ "$(cat "$stamp")" != "$req_sum" ]] || [[ ! -f "$kernel_json" ]]; then
    log "installing notebooks/requirements.txt into the venv"
    rm -f "$stamp"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --prefer-binary -r "$req"
    # The kernel papermill starts (-k python3) is this venv's interpreter, registered inside the venv only.
    "$venv/bin/python" -m ipykernel install --prefix "$venv" --name python3 \
        --display-name "Python 3 (rentree notebooks)" >/dev/null 2>&1
    echo "$req_sum" > "$stamp"
    log "venv ready in $(secs_since "$t0")"
fi

# ------------------------------------------------------------------ temporary folder and Jupyter isolation
tmp="$(mktemp -d "${TMPDIR:-/tmp}/rentree-notebooks.XXXXXX")"
status=1
cleanup() {
    if [[ $status -eq 0 && "${NOTEBOOKS_KEEP:-0}" != 1 ]]; then rm -rf "$tmp"; else log "kept $tmp"; fi
}
trap cleanup EXIT

# Kernels are looked up in the venv first and user-level Jupyter/IPython state goes to the temporary
# folder, so nothing under ~ is read or written.
export JUPYTER_PATH="$venv/share/jupyter" JUPYTER_PREFER_ENV_PATH=1 JUPYTER_PLATFORM_DIRS=1
export JUPYTER_DATA_DIR="$tmp/jupyter/data" JUPYTER_CONFIG_DIR="$tmp/jupyter/config"
export JUPYTER_RUNTIME_DIR="$tmp/jupyter/runtime" IPYTHONDIR="$tmp/ipython"
export PYDEVD_DISABLE_FILE_VALIDATION=1

kernel_python="$("$venv/bin/python" -c 'from jupyter_client.kernelspec import KernelSpecManager as M; print(M().get_kernel_spec("python3").argv[0])')"
[[ "$kernel_python" == "$venv/"* ]] || die "kernel python3 resolves to $kernel_python, not the venv's interpreter"

# ------------------------------------------------------------------ the package, and a small experiment
# The notebooks drive rentree through its Python package: installed into the venv from python/ (maturin
# builds it in the shared target directory; an unchanged build is a few seconds).
t0=$(now_ms)
(cd "$REPO" && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall ./python) \
    || die "pip install ./python failed"
log "rentree package installed in $(secs_since "$t0")"
cat > "$tmp/experiment.toml" <<'EOF2'
[experiment]
name = "notebook test"
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

[[strategy]]
name = "waiting room"
set = { "platforms.ent.admission" = [{ policy = "waiting_room", admit_per_min = 1500.0 }] }
EOF2

# ------------------------------------------------------------------ checks on one notebook (python)
cat > "$tmp/check.py" <<'EOF'
"""check.py COMMITTED EXECUTED: the committed notebook is clean, the executed one drew figures."""
import sys
import nbformat

committed, executed = sys.argv[1], sys.argv[2]
problems = []

nb = nbformat.read(committed, as_version=4)
try:
    nbformat.validate(nb)
except nbformat.ValidationError as e:
    problems.append(f"committed notebook is not valid nbformat: {e.message}")
if nb.metadata.get("kernelspec", {}).get("name") != "python3":
    problems.append("committed notebook's kernelspec is not python3")
code = [c for c in nb.cells if c.cell_type == "code"]
dirty = [c.get("id", str(i)) for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
if dirty:
    problems.append(f"committed notebook has outputs or execution counts in cell(s) {', '.join(dirty)} (clear them before committing)")
if not any("parameters" in c.metadata.get("tags", []) for c in code):
    problems.append("committed notebook has no cell tagged 'parameters'")

ex = nbformat.read(executed, as_version=4)
outputs = [o for c in ex.cells if c.cell_type == "code" for o in c.get("outputs", [])]
errors = [o for o in outputs if o.output_type == "error"]
figures = sum("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outputs)
if errors:
    problems.append(f"executed notebook has {len(errors)} error output(s): {errors[0].ename}: {errors[0].evalue}")
if figures == 0:
    problems.append("executed notebook drew no figure")
stderr = [o.text.strip().splitlines()[0] for o in outputs if o.output_type == "stream" and o.name == "stderr" and o.text.strip()]
if stderr:
    problems.append(f"executed notebook wrote to stderr ({len(stderr)} output(s), first: {stderr[0]})")
# Outputs must not load anything (a CDN's plotly.js, a script, an image): no URL at all in them.
urls = [o for o in outputs if "http://" in str(o) or "https://" in str(o)]
if urls:
    problems.append(f"{len(urls)} output(s) of the executed notebook hold a URL (a CDN or other network fetch?)")

if problems:
    print("; ".join(problems))
    sys.exit(1)
print(f"{figures} figures, {len(code)} code cells; committed copy has no outputs")
EOF

# ------------------------------------------------------------------ execute
mkdir -p "$tmp/executed"
passed=0
failed=0
for nb in "${notebooks[@]}"; do
    case "$nb" in
        01-*) params=(-p scale 0.005) ;;
        02-*) params=(-r experiment "$tmp/experiment.toml" -r sweep_dir "$tmp/sweep") ;;
        03-*) params=(-y $'scale: 0.003\nseeds: [1, 2]\ngrid: [100, 400, 1600]') ;;
        *) die "no parameters known for $nb" ;;
    esac
    out="$tmp/executed/$nb"
    t0=$(now_ms)
    if "$venv/bin/papermill" "$nbdir/$nb" "$out" -k python3 --cwd "$nbdir" "${params[@]}" \
        --no-progress-bar --log-level WARNING --execution-timeout 300 >"$tmp/${nb%.ipynb}.log" 2>&1; then
        took="$(secs_since "$t0")"
        if detail="$("$venv/bin/python" "$tmp/check.py" "$nbdir/$nb" "$out" 2>&1)"; then
            echo "PASS $nb: executed in $took, $detail"
            passed=$((passed + 1))
        else
            echo "FAIL $nb: executed in $took, but $detail"
            failed=$((failed + 1))
        fi
    else
        took="$(secs_since "$t0")"
        reason="$(grep -E '^[A-Za-z_.]*(Error|Exception)' "$tmp/${nb%.ipynb}.log" | tail -n 1 || true)"
        echo "FAIL $nb: execution failed after $took${reason:+: $reason} (log: $tmp/${nb%.ipynb}.log, executed copy: $out)"
        tail -n 25 "$tmp/${nb%.ipynb}.log" >&2
        # Still report a dirty committed copy, so that one run tells everything.
        "$venv/bin/python" - "$nbdir/$nb" <<'EOF' >&2 || true
import sys, nbformat
nb = nbformat.read(sys.argv[1], as_version=4)
dirty = [c.get("id", str(i)) for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
if dirty:
    print(f"also: the committed notebook has outputs or execution counts in cell(s) {', '.join(dirty)}")
EOF
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
if [[ $failed -eq 0 ]]; then status=0; fi
exit "$status"
