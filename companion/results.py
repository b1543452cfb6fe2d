r"""Committed summaries of the simulation chapters at paper scale.

A summary is a small JSON document, one per chapter, in ``results/<scale>/<chapter>.json`` at the
root of the source tree (or ``$COMPANION_RESULTS_DIR``): the verdicts (value, tolerance, result),
the tables and the data behind each figure, plus ``meta`` (scale, configuration, package version,
date, run time) and ``spot`` entries: a few seeded chunks of replications, with the statistics of
their estimates, that a test recomputes from scratch (:func:`recompute_spot`).

A chapter's experiment module provides ``run(scale)`` and ``summarize(result) -> dict``; its command
line ``python -m companion.experiments.<chapter> --scale full`` (see :func:`main`) runs it and
writes the file.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["results_dir", "to_jsonable", "save_summary", "load_summary", "spot", "recompute_spot", "main"]

SCHEMA = "companion-results-1"


def results_dir(scale: str = "full") -> Path:
    """``$COMPANION_RESULTS_DIR/<scale>`` if set, else ``results/<scale>`` next to the package."""
    env = os.environ.get("COMPANION_RESULTS_DIR")
    base = Path(env) if env else Path(__file__).resolve().parents[1] / "results"
    return base / scale


def to_jsonable(obj: Any, digits: int = 10) -> Any:
    """Numpy arrays and scalars as lists and floats rounded to ``digits`` significant digits (the
    stored file is a summary, not a bit-exact record); dataclass-like verdicts through their fields."""
    if hasattr(obj, "__dataclass_fields__"):
        return {k: to_jsonable(getattr(obj, k), digits) for k in obj.__dataclass_fields__}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v, digits) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist(), digits)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        if not np.isfinite(x):
            return None if np.isnan(x) else ("inf" if x > 0 else "-inf")
        return float(f"{x:.{digits}g}")
    if obj is None or isinstance(obj, str):
        return obj
    raise TypeError(f"cannot store an object of type {type(obj).__name__} in a results file")


def save_summary(chapter: str, summary: Mapping, *, scale: str, config: Mapping | None = None,
                 seconds: float | None = None, directory: Path | None = None) -> Path:
    """Write ``summary`` (JSON-able after :func:`to_jsonable`) with its metadata; returns the path."""
    from . import __version__

    directory = Path(directory) if directory is not None else results_dir(scale)
    directory.mkdir(parents=True, exist_ok=True)
    doc = {
        "schema": SCHEMA,
        "chapter": chapter,
        "meta": {
            "scale": scale,
            "config": to_jsonable(dict(config or {})),
            "package_version": __version__,
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
            "seconds": None if seconds is None else round(float(seconds), 1),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
        **to_jsonable(dict(summary)),
    }
    path = directory / f"{chapter}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    os.replace(tmp, path)
    return path


def load_summary(chapter: str, scale: str = "full", directory: Path | None = None) -> dict:
    """The stored summary of ``chapter``; a clear error naming the command when it is missing."""
    directory = Path(directory) if directory is not None else results_dir(scale)
    path = directory / f"{chapter}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no {scale}-scale summary for {chapter!r} at {path}; create it with "
                                f"`python -m companion.experiments.{chapter} --scale {scale}`")
    doc = json.loads(path.read_text())
    if doc.get("schema") != SCHEMA:
        raise ValueError(f"{path} has schema {doc.get('schema')!r}, expected {SCHEMA!r}")
    return doc


# --------------------------------------------------------------------------- spot checks
def spot(mc, setting: str, n_index: int = 0, start: int = 0, stop: int = 20) -> dict:
    """Statistics of replications ``start:stop`` of ``setting`` at ``mc.ns[n_index]`` in the
    :class:`~companion.montecarlo.MCResult` ``mc``: enough to recompute them from the seed."""
    est = np.asarray(mc.estimates[setting][n_index, start:stop], float)
    return {"setting": setting, "n": int(mc.ns[n_index]), "start": int(start), "stop": int(stop),
            "seed": int(mc.seed), "mean": np.nanmean(est, axis=0), "sd": np.nanstd(est, axis=0),
            "first": est[0]}


def recompute_spot(entry: Mapping, setting_obj, atol: float = 1e-6) -> dict:
    """Refit the replications of a :func:`spot` entry from scratch with ``setting_obj`` (a
    :class:`~companion.montecarlo.Setting`) and compare: returns the largest absolute differences and
    ``ok`` (all within ``atol``, the numerical tolerance of the fits)."""
    from .montecarlo import run_replications

    est = run_replications(setting_obj.design, entry["n"], range(entry["start"], entry["stop"]),
                           setting_obj.fit, entry["seed"], add_intercept=setting_obj.add_intercept)
    diffs = {k: float(np.nanmax(np.abs(np.asarray(entry[k], float) - v)))
             for k, v in (("mean", np.nanmean(est, axis=0)), ("sd", np.nanstd(est, axis=0)),
                          ("first", est[0]))}
    return {"diffs": diffs, "ok": all(d <= atol for d in diffs.values())}


# --------------------------------------------------------------------------- command line
def main(chapter: str, run: Callable[..., Any], summarize: Callable[[Any], Mapping],
         config: Callable[[Any], Mapping] | None = None, argv=None) -> Path:
    """Command line of a chapter: ``--scale {quick,full}``, ``--n-jobs``, ``--out DIR``,
    ``--scheduler ADDRESS`` (a Dask distributed scheduler; also ``$COMPANION_DASK_SCHEDULER``).
    Runs ``run(scale=..., n_jobs=...)`` and writes ``summarize(result)``."""
    ap = argparse.ArgumentParser(prog=f"python -m companion.experiments.{chapter}",
                                 description=f"Run the '{chapter}' chapter's experiment and write its summary.")
    ap.add_argument("--scale", choices=("quick", "full"), default="full")
    ap.add_argument("--n-jobs", type=int, default=None)
    ap.add_argument("--out", type=Path, default=None, help="directory (default: results/<scale>)")
    ap.add_argument("--scheduler", default=os.environ.get("COMPANION_DASK_SCHEDULER"),
                    help="address of a Dask distributed scheduler, e.g. tcp://host:8786")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.scheduler:
        # every run_experiment of the chapter sends its chunks to this scheduler
        os.environ["COMPANION_DASK_SCHEDULER"] = args.scheduler
    res = run(scale=args.scale, n_jobs=args.n_jobs)
    seconds = time.perf_counter() - t0
    summary = summarize(res)
    cfg = config(res) if config is not None else {}
    path = save_summary(chapter, summary, scale=args.scale, config=cfg, seconds=seconds, directory=args.out)
    print(f"{chapter}: {args.scale} scale in {seconds:.0f} s -> {path}", file=sys.stderr)
    return path
