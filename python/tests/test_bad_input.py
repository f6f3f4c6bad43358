"""Bad input raises rentree.BadInput with the command line's message and fields."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest

import rentree
from conftest import run_cli

BROKEN = """
[scenario]
name = "broken"
horizon_s = 100.0

[cohorts.customers]
platform = "desk"
arrivals = { process = "poisson", rate_per_s = -1.0 }

[platforms.desk.pool]
servers = 0
service = { dist = "exponential", mean_s = 1.0 }
"""

ONE_PROBLEM = BROKEN.replace("rate_per_s = -1.0", "rate_per_s = 1.0")


def cli_message(cli: List[str], *args: str) -> str:
    done = run_cli(cli, *args)
    assert done.returncode == 2, done
    assert done.stderr.startswith("error: ")
    return done.stderr[len("error: ") :].rstrip("\n")


def test_one_problem_names_file_field_found_expected(cli: List[str], tmp_path: Path) -> None:
    f = tmp_path / "one.toml"
    f.write_text(ONE_PROBLEM)
    with pytest.raises(rentree.BadInput) as e:
        rentree.run(f)
    assert isinstance(e.value, ValueError)
    assert e.value.file == str(f)
    assert e.value.field == "platforms.desk.pool.servers"
    assert e.value.found == "0"
    assert e.value.expected and "1" in e.value.expected
    assert str(e.value) == cli_message(cli, "run", str(f), "--out", str(tmp_path / "out"))
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_validate_lists_every_problem(cli: List[str], tmp_path: Path) -> None:
    f = tmp_path / "broken.toml"
    f.write_text(BROKEN)
    problems = rentree.validate(f)
    fields = [p.field for p in problems]
    assert "platforms.desk.pool.servers" in fields
    assert any(p and "rate_per_s" in p for p in fields)
    assert all(p.file == str(f) for p in problems)
    # The same problems the command reports, and the same as a run raises.
    message = cli_message(cli, "validate", str(f))
    for p in problems:
        assert f"{p.field} = {p.found}: expected {p.expected}" in message
    with pytest.raises(rentree.BadInput) as e:
        rentree.run(f)
    assert e.value.problems == problems
    assert rentree.validate(ONE_PROBLEM.replace("servers = 0", "servers = 2")) == []


def test_unknown_field_variant_and_override(tmp_path: Path) -> None:
    typo = ONE_PROBLEM.replace("servers = 0", "servers = 2\nservres = 3")
    (problem,) = rentree.validate(typo)
    assert problem.field is None and "servres" in problem.found and problem.file == "<string>"
    good = ONE_PROBLEM.replace("servers = 0", "servers = 2")
    with pytest.raises(rentree.BadInput) as e:
        rentree.run(good, variant="nope")
    assert "nope" in str(e.value)
    with pytest.raises(rentree.BadInput) as e:
        rentree.run(good, set={"platforms.desk.pool.servers": -3})
    assert e.value.field == "platforms.desk.pool.servers" and e.value.found == "-3"
    with pytest.raises(rentree.BadInput) as e:
        rentree.run(tmp_path / "missing.toml")
    assert e.value.file == str(tmp_path / "missing.toml") and "cannot read" in str(e.value)


def test_a_procedure_refuses_a_bad_flag_with_its_message(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(rentree.BadInput) as e:
        rentree.sweep(repo / "experiments/quota-strategies/experiment.toml", jobs=0, out=tmp_path / "s")
    assert "--jobs" in str(e.value)
    with pytest.raises(rentree.BadInput) as e:
        rentree.sweep(tmp_path / "none.toml", out=tmp_path / "s")
    assert e.value.file == str(tmp_path / "none.toml")
