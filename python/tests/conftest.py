"""Shared fixtures: the repository, and the rentree command the package's results are compared with."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def cli() -> List[str]:
    """The rentree command to compare with: RENTREE_BIN (the cargo-built binary), else the package's own
    console command on PATH."""
    binary = os.environ.get("RENTREE_BIN") or shutil.which("rentree")
    assert binary, "no rentree command: set RENTREE_BIN or install the package"
    return [binary]


def run_cli(cli: List[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli, *args], capture_output=True, text=True, timeout=600)
