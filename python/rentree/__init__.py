"""rentree: see a national school platform's first morning before it happens.

A discrete-event capacity simulator (pupils and staff, server pools, quotas and admission policies,
provisioning and attack traffic) driven from Python. The package is a thin binding over the Rust library the
``rentree`` command uses: the same runs, the same files, the same messages.

>>> import rentree
>>> r = rentree.run(scale=0.01)                  # the built-in 6 April 2021 replay, at a hundredth
>>> r.summary.select("users", "accessed")        # polars DataFrames: summary, timeseries, access
>>> r.write("results/run")                       # exactly the files `rentree run` writes

Every table is a ``polars.DataFrame`` with the columns and values of the file the command writes for the
same arguments. Runs release the GIL (two threads run two scenarios on two cores), and Ctrl-C stops a run
within a fraction of a second with ``KeyboardInterrupt``, leaving no half-written file. Bad input raises
:class:`BadInput` (a ``ValueError``) with the file, the field, what was found and what was expected.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import polars as pl

from . import _native
from ._native import BadInput, Problem

__version__: str = _native.__version__

__all__ = [
    "BadInput",
    "Model",
    "Problem",
    "Results",
    "Run",
    "ScaleWarning",
    "Sweep",
    "builtin_models",
    "calibrate",
    "load",
    "optimize",
    "run",
    "select",
    "sensitivity",
    "stability",
    "sweep",
    "validate",
]

#: A scenario: a path, a TOML text (anything with a newline or a ``[table]``), ``"builtin:NAME"``, or None
#: for the built-in 6 April 2021 replay.
ScenarioLike = Union[str, "os.PathLike[str]", None]
#: A file argument: a path.
PathLike = Union[str, "os.PathLike[str]"]


def _scenario(scenario: ScenarioLike) -> tuple[Optional[str], bool]:
    """(text or path, whether it is TOML text) of a scenario argument."""
    if scenario is None:
        return None, False
    if isinstance(scenario, os.PathLike):
        return os.fspath(scenario), False
    if not isinstance(scenario, str):
        raise TypeError(f"scenario: expected a path, a TOML text or None, found {type(scenario).__name__}")
    text = scenario.lstrip()
    is_text = "\n" in scenario or text.startswith("[")
    return scenario, is_text


def _assignments(set: Optional[Mapping[str, Any]]) -> List[str]:
    """``--set`` assignments (``path=value``, the value in TOML) of a dict of dotted paths to values."""
    if not set:
        return []
    return [f"{path}={_toml_value(value)}" for path, value in set.items()]


def _toml_value(value: Any) -> str:
    """A Python value written as a TOML value (what ``--set`` reads)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and value != value:
            return "nan"
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"set: cannot write {type(value).__name__} {value!r} as a TOML value")


class ScaleWarning(UserWarning):
    """A run or a procedure at a scale that was not measured to agree with full scale: its figures are for
    exploration, not for conclusions (the manifest's ``scale_warning`` says why)."""


def _warn_scale(manifest: Mapping[str, Any], stacklevel: int = 3) -> None:
    note = manifest.get("scale_warning")
    if note:
        where = manifest.get("scenario_source") or manifest.get("experiment") or "results"
        warnings.warn(f"{where}: {note}", ScaleWarning, stacklevel=stacklevel)


def _frame(data: bytes) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(data))


class Run:
    """One run's results, in memory: what ``rentree run`` writes, as DataFrames.

    ``summary`` (one row per cohort and platform, the first the whole run), ``timeseries`` (a row per pool and
    minute), ``access`` (the time-to-first-access curves; None for a scenario without sessions) and
    ``manifest`` (the run's manifest as a dict: scenario, seed, scale, events, ``run_id``...).
    """

    def __init__(self, native: _native.NativeRun) -> None:
        self._native = native
        self._tables: Optional[Dict[str, pl.DataFrame]] = None
        self.manifest: Dict[str, Any] = json.loads(native.manifest_json())

    def _table(self, name: str) -> Optional[pl.DataFrame]:
        # Built on first use: a run only written to disk never pays for the frames.
        if self._tables is None:
            self._tables = {stem: _frame(data) for stem, data in self._native.tables()}
        return self._tables.get(name)

    @property
    def summary(self) -> pl.DataFrame:
        """The whole system, then a row per platform and per cohort (``summary.parquet``)."""
        table = self._table("summary")
        assert table is not None
        return table

    @property
    def timeseries(self) -> pl.DataFrame:
        """A row per simulated minute and pool (``timeseries.parquet``)."""
        table = self._table("timeseries")
        assert table is not None
        return table

    @property
    def access(self) -> Optional[pl.DataFrame]:
        """Time-to-first-access curves per cohort (``access.parquet``); None for a scenario without sessions."""
        return self._table("access")

    def write(self, dir: PathLike, format: str = "parquet") -> List[Path]:
        """Writes the run's folder exactly as ``rentree run --out DIR --format FORMAT`` does (``"parquet"``,
        ``"csv"`` or ``"both"``), atomically; returns the paths written, the manifest last."""
        return [Path(p) for p in self._native.write(os.fspath(dir), format)]

    def __repr__(self) -> str:
        m = self.manifest
        return f"<rentree.Run {m['scenario']!r} seed={m['seed']} scale={m['scale']} events={m['events']}>"


def run(
    scenario: ScenarioLike = None,
    *,
    seed: int = 1,
    scale: float = 1.0,
    variant: Optional[str] = None,
    set: Optional[Mapping[str, Any]] = None,
) -> Run:
    """Simulates a scenario once, as ``rentree run`` does, and returns its tables in memory.

    ``scenario`` is a path, a TOML text, ``"builtin:NAME"`` or None (the built-in 6 April 2021 replay);
    ``variant`` starts from one of its ``[variants.NAME]``; ``set`` maps dotted paths to values (``--set``),
    e.g. ``{"platforms.ent.pool.servers": 400}``; ``scale`` multiplies population and capacity (a reduced
    scale is for exploration: the manifest's ``scale_warning`` says when it was not measured faithful, and is
    also issued as a :class:`ScaleWarning`). Raises :class:`BadInput` on bad input.
    """
    text, is_text = _scenario(scenario)
    result = Run(_native.run(text, is_text, seed, float(scale), variant, _assignments(set)))
    _warn_scale(result.manifest)
    return result


def validate(scenario: Union[str, "os.PathLike[str]"]) -> List[Problem]:
    """Every problem of a scenario (a path or a TOML text) and of each of its variants, each with the file,
    the field, what was found and what was expected; an empty list if it is valid. A file that cannot be
    read raises :class:`BadInput`."""
    text, is_text = _scenario(scenario)
    assert text is not None
    return _native.validate(text, is_text)


@dataclass(frozen=True)
class Model:
    """A scenario's text and what it offers: its name, where it comes from, and its variants."""

    name: str
    source: str
    text: str
    variants: List[str] = field(default_factory=list)


def load(path: ScenarioLike) -> Model:
    """The scenario at ``path`` (or a TOML text, ``"builtin:NAME"``, None for the replay), validated: its
    name, source, text and variants. Raises :class:`BadInput` if it is not a valid scenario."""
    text, is_text = _scenario(path)
    name, source, body, variants = _native.describe(text, is_text)
    return Model(name=name, source=source, text=body, variants=variants)


def builtin_models() -> Dict[str, Model]:
    """The built-in models, by the name ``"builtin:NAME"`` takes (``replay``: the 6 April 2021 morning;
    ``evening``: the evening before)."""
    return {name: load(f"builtin:{name}") for name, _path, _text in _native.builtin_models()}


class Results:
    """A results folder written by a procedure (``sweep``, ``select``, ``optimize``...): its manifest and
    every table the manifest lists, checked to be complete and from one run."""

    def __init__(self, dir: PathLike) -> None:
        self.dir: Path = Path(dir)
        files = _native.check_results(self.dir)
        self.manifest: Dict[str, Any] = json.loads((self.dir / "manifest.json").read_text())
        self.tables: Dict[str, pl.DataFrame] = {
            Path(f).stem: pl.read_parquet(self.dir / f) for f in files if f.endswith(".parquet")
        }

    def __getitem__(self, table: str) -> pl.DataFrame:
        return self.tables[table]

    def __repr__(self) -> str:
        return f"<rentree.{type(self).__name__} {str(self.dir)!r}: {', '.join(sorted(self.tables))}>"


class Sweep(Results):
    """A sweep's folder: ``runs`` (a row per configuration and replication), ``configs`` (a row per
    configuration, with confidence intervals) and ``timeseries`` (per configuration, pool and minute)."""

    @property
    def runs(self) -> pl.DataFrame:
        return self.tables["runs"]

    @property
    def configs(self) -> pl.DataFrame:
        return self.tables["configs"]

    @property
    def timeseries(self) -> pl.DataFrame:
        return self.tables["timeseries"]


def _flags(options: Mapping[str, Any]) -> List[str]:
    """Command-line flags of keyword options: ``first_stage=10`` is ``--first-stage 10``, True a bare flag,
    False and None nothing, a list a repeated flag."""
    args: List[str] = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            args.append(flag)
        elif isinstance(value, (list, tuple)):
            for v in value:
                args += [flag, str(v)]
        else:
            args += [flag, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]
    return args


def _procedure(command: str, file: PathLike, out: Optional[PathLike], default_out: str, **options: Any) -> Path:
    """Runs ``rentree COMMAND FILE --out OUT [flags]`` in this process (silenced: its findings are read back
    from the folder) and returns the folder, after warning of a scale not measured faithful."""
    folder = Path(out) if out is not None else Path(default_out)
    _native.command([command, os.fspath(file), "--out", os.fspath(folder), *_flags(options)])
    manifest = json.loads((folder / "manifest.json").read_text()) if (folder / "manifest.json").is_file() else {}
    _warn_scale(manifest, stacklevel=4)
    return folder


def sweep(experiment: PathLike, *, jobs: Optional[int] = None, out: Optional[PathLike] = None, resume: bool = False) -> Sweep:
    """Runs every configuration and replication of an experiment file, as ``rentree sweep`` does (into
    ``out``, default ``results/sweep``), and returns its tables. ``resume`` skips the runs already written."""
    return Sweep(_procedure("sweep", experiment, out, "results/sweep", jobs=jobs, resume=resume))


def select(
    experiment: PathLike,
    *,
    metric: str,
    maximize: bool = False,
    minimize: bool = False,
    delta: float,
    confidence: float = 0.95,
    first_stage: int = 10,
    max_replications: int = 1000,
    constraint: Sequence[str] = (),
    out: Optional[PathLike] = None,
    jobs: Optional[int] = None,
    resume: bool = False,
) -> Results:
    """The best configuration of an experiment on ``metric``, with probability at least ``confidence`` when
    it leads by ``delta`` (``rentree select``: Kim and Nelson's fully sequential procedure); ``constraint``
    as ``"timeouts<=1000+-50"``. Returns the folder (``selection`` table)."""
    return Results(
        _procedure(
            "select", experiment, out, "results/select", metric=metric, maximize=maximize, minimize=minimize,
            delta=delta, confidence=confidence, first_stage=first_stage, max_replications=max_replications,
            constraint=list(constraint), jobs=jobs, resume=resume,
        )
    )


def optimize(
    experiment: PathLike,
    *,
    confidence: float = 0.95,
    first_stage: int = 5,
    max_runs: int = 1000,
    max_replications: int = 1000,
    out: Optional[PathLike] = None,
    jobs: Optional[int] = None,
    resume: bool = False,
) -> Results:
    """The cheapest configuration of an experiment's ``[optimize]`` knobs that meets its constraints with
    ``confidence`` (``rentree optimize``), and the frontier of cost against service."""
    return Results(
        _procedure(
            "optimize", experiment, out, "results/optimize", confidence=confidence, first_stage=first_stage,
            max_runs=max_runs, max_replications=max_replications, jobs=jobs, resume=resume,
        )
    )


def sensitivity(
    experiment: PathLike,
    *,
    metric: str,
    method: str,
    trajectories: int = 10,
    levels: int = 4,
    samples: int = 64,
    bootstrap: int = 1000,
    out: Optional[PathLike] = None,
    jobs: Optional[int] = None,
    resume: bool = False,
) -> Results:
    """Which uncertain inputs (an experiment's ``[lhs]`` ranges) drive ``metric``: ``method="morris"`` or
    ``"sobol"`` (``rentree sensitivity``). Returns the folder (``sensitivity`` table)."""
    return Results(
        _procedure(
            "sensitivity", experiment, out, "results/sensitivity", metric=metric, method=method,
            trajectories=trajectories, levels=levels, samples=samples, bootstrap=bootstrap, jobs=jobs, resume=resume,
        )
    )


def calibrate(
    calibration: PathLike, *, out: Optional[PathLike] = None, jobs: Optional[int] = None, resume: bool = False
) -> Results:
    """Learns a scenario's unknown parameters from observations by ABC-SMC (``rentree calibrate``): the
    posterior, the calibrated scenario and the posterior-predictive bands."""
    return Results(_procedure("calibrate", calibration, out, "results/calibration", jobs=jobs, resume=resume))


def stability(
    experiment: PathLike, *, out: Optional[PathLike] = None, jobs: Optional[int] = None, resume: bool = False
) -> Results:
    """Whether each configuration comes back by itself after a trigger (an experiment's ``[stability]``,
    ``rentree stability``): recovery times and a class per configuration."""
    return Results(_procedure("stability", experiment, out, "results/stability", jobs=jobs, resume=resume))
