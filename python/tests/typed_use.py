"""A small typed script using the package; `mypy --strict` must accept it (test_procedures.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import polars as pl

import rentree


def served_by_nine(servers: List[int], scale: float = 0.01) -> Dict[int, float]:
    shares: Dict[int, float] = {}
    for n in servers:
        r: rentree.Run = rentree.run(scale=scale, set={"platforms.ent.pool.servers": n})
        summary: pl.DataFrame = r.summary
        shares[n] = float(summary["served_share_by_0900"][0])
    return shares


def problems_of(path: Path) -> List[str]:
    found: List[rentree.Problem] = rentree.validate(path)
    return [f"{p.field}: {p.found} (expected {p.expected})" for p in found]


def sweep_means(experiment: Path) -> pl.DataFrame:
    s: rentree.Sweep = rentree.sweep(experiment, jobs=2, out=Path("results/sweep"))
    return s.configs


def describe() -> List[str]:
    try:
        model = rentree.load("builtin:replay")
    except rentree.BadInput as e:
        return [e.field or "", e.found or ""]
    return [model.name, *model.variants, *rentree.builtin_models()]
