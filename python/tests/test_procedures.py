"""rentree.sweep and the procedures: the command's folders, read back; an interrupted sweep resumes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import List

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import rentree
from conftest import run_cli

EXPERIMENT = """
[experiment]
name = "python test"
scenario = "builtin:replay"
scale = {scale}
replications = {replications}
seed = 1
design = "strategies"

[[strategy]]
name = "as on the day"
set = {{}}

[[strategy]]
name = "no quota"
set = {{ "platforms.ent.admission" = [] }}
"""


def test_sweep_equals_the_command(cli: List[str], tmp_path: Path) -> None:
    exp = tmp_path / "experiment.toml"
    exp.write_text(EXPERIMENT.format(scale=0.003, replications=3))
    with pytest.warns(rentree.ScaleWarning, match="scale 0.003 is below 0.1"):
        s = rentree.sweep(exp, out=tmp_path / "py", jobs=2)
    assert isinstance(s, rentree.Sweep)
    assert s.runs.height == 6 and s.configs.height == 2
    done = run_cli(cli, "sweep", str(exp), "--out", str(tmp_path / "cli"), "--jobs", "1")
    assert done.returncode == 0, done.stderr
    for table in ("runs", "configs", "timeseries"):
        assert_frame_equal(s[table], pl.read_parquet(tmp_path / "cli" / f"{table}.parquet"))
    assert s.manifest["run_id"]


def test_an_interrupted_sweep_looks_unfinished_and_resumes_losing_nothing(tmp_path: Path) -> None:
    exp = tmp_path / "experiment.toml"
    exp.write_text(EXPERIMENT.format(scale=0.02, replications=8))
    out = tmp_path / "sweep"
    timer = threading.Timer(2.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        rentree.sweep(exp, out=out, jobs=2)
    assert not (out / "manifest.json").exists(), "an interrupted sweep left a folder that looks complete"
    with pytest.raises(rentree.BadInput):
        rentree.Sweep(out)
    # Each finished run is a file of its own (runs/cNNNN-rNNNN.json), written atomically.
    parts = {p.name: p.read_bytes() for p in (out / "runs").glob("*.json")}
    assert 0 < len(parts) < 16, f"{len(parts)} runs finished before the interrupt: it came too late or too early to test"
    with pytest.warns(rentree.ScaleWarning):
        resumed = rentree.sweep(exp, out=out, jobs=2, resume=True)
    assert resumed.runs.height == 16
    with pytest.warns(rentree.ScaleWarning):
        whole = rentree.sweep(exp, out=tmp_path / "whole", jobs=2)
    assert_frame_equal(resumed.runs, whole.runs)
    # What was finished before the interrupt was kept as it was.
    for name, data in parts.items():
        assert (out / "runs" / name).read_bytes() == data


def test_select_reads_its_selection(repo: Path, tmp_path: Path) -> None:
    exp = tmp_path / "experiment.toml"
    exp.write_text(EXPERIMENT.format(scale=0.003, replications=3))
    with pytest.warns(rentree.ScaleWarning):
        r = rentree.select(exp, metric="served_share_by_0900", maximize=True, delta=0.01, first_stage=5, max_replications=20, out=tmp_path / "sel")
    assert "selection" in r.tables
    assert r.tables["selection"].height == 2


def test_the_console_command_is_the_library(tmp_path: Path) -> None:
    """`rentree` on the venv's PATH is the package's entry point, not a copy of the binary."""
    exe = Path(sys.executable).parent / "rentree"
    assert exe.exists(), f"no console command beside {sys.executable}"
    assert "rentree._cli" in exe.read_text()
    done = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"rentree {rentree.__version__}"
    bad = subprocess.run([str(exe), "validate", str(tmp_path / "none.toml")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "cannot read" in bad.stderr
    usage = subprocess.run([str(exe), "run", "--scale"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "--scale" in usage.stderr


def test_typed_use_passes_mypy_strict() -> None:
    if shutil.which("mypy") is None and not _has_module("mypy"):
        pytest.fail("mypy is not installed in the test venv")
    script = Path(__file__).with_name("typed_use.py")
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
