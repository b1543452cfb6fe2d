"""CV estimators with warm-started fold paths against a manual loop of cold fits.

For each problem: ``GeneralizedFGSMCV`` / ``PenalizedGLMCV`` (one warm-started path per training
fold) and the loop that refits the base estimator cold at every grid point of every fold (same
folds, same grid, same scores -- checked).  CPU seconds (``time.process_time``, one BLAS thread),
best of ``--repeat`` runs; prints the ratio CV / manual (target: at most 0.5).

    python benchmarks/bench_cv.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold
from threadpoolctl import threadpool_limits

from companion import (GeneralizedFGSM, GeneralizedFGSMCV, PenalizedGLM, PenalizedGLMCV, alpha_max,
                       eps_max)
from companion.cv import mean_deviance

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_estimators import _timeit  # noqa: E402  (same folder; also when loaded by path)
from companion.families import get_family


def problems():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 50))
    beta = np.r_[np.ones(5), np.zeros(45)]
    yield "synthetic n=200 p=50 (linear)", "gaussian", X, X @ beta + rng.standard_normal(200)
    Xd, yd = load_diabetes(return_X_y=True)
    yield "diabetes n=442 p=10 (linear)", "gaussian", (Xd - Xd.mean(0)) / Xd.std(0), yd
    Xb, yb = load_breast_cancer(return_X_y=True)
    yield "breast cancer n=569 p=30 (logistic)", "bernoulli", (Xb - Xb.mean(0)) / Xb.std(0), yb


def manual(kind, family, X, y, grid, splits):
    cls, name = (GeneralizedFGSM, "eps") if kind == "fgsm" else (PenalizedGLM, "alpha")
    fam = get_family(family)
    S = np.zeros((grid.size, len(splits)))
    for k, (tr, te) in enumerate(splits):
        for g, v in enumerate(grid):
            m = cls(family=family, **{name: v}).fit(X[tr], y[tr])
            S[g, k] = (np.nan if m.minimizer_.startswith("none") else   # separable fold: no fit
                       -mean_deviance(fam, fam.validate_y(y[te]), m.decision_function(X[te])))
    return S


def cpu(f, repeat):
    """Best of ``repeat`` runs of ``f`` in CPU seconds; returns (seconds, result)."""
    return _timeit(f, repeat, clock=time.process_time)


def run(repeat=3, n_grid=20, grid_ratio=1e-2, folds=5):
    rows = []
    for label, family, X, y in problems():
        splitter = (StratifiedKFold if family == "bernoulli" else KFold)(folds, shuffle=True, random_state=0)
        splits = list(splitter.split(X, y))
        for kind in ("fgsm", "twin"):
            top = eps_max(X, y, family) if kind == "fgsm" else alpha_max(X, y, family)
            grid = top * np.logspace(0, np.log10(grid_ratio), n_grid)
            if kind == "fgsm":
                est = GeneralizedFGSMCV(family=family, eps_grid=grid, cv=splitter)
            else:
                est = PenalizedGLMCV(family=family, alpha_grid=grid, cv=splitter)
            t_cv, _ = cpu(lambda: est.fit(X, y), repeat)
            t_man, S = cpu(lambda: manual(kind, family, X, y, grid, splits), repeat)
            # both sides stop at optimality residual tol; next to a separable fold the logistic
            # objective is nearly flat, and held-out deviances of two such fits differ by ~3e-5
            same = bool(np.allclose(est.score_path_, S, rtol=1e-4, atol=1e-7, equal_nan=True))
            rows.append((label, "FGSM" if kind == "fgsm" else "twin", t_cv, t_man, t_cv / t_man, same))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        rows = run(args.repeat)
    print(f"{'problem':38s} {'model':5s} {'CV (s)':>8s} {'manual (s)':>11s} {'ratio':>6s} same-scores")
    for r in rows:
        print(f"{r[0]:38s} {r[1]:5s} {r[2]:8.2f} {r[3]:11.2f} {r[4]:6.2f} {r[5]}")
    return rows


if __name__ == "__main__":
    main()
