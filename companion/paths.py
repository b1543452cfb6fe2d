r"""Regularization paths with warm starts and the closed-form thresholds ``eps_max`` / ``alpha_max``.

Thresholds (L1-type penalties, weights :math:`w_j`, intercept optimized)
------------------------------------------------------------------------
Let :math:`\hat b_0` minimise the intercept-only likelihood (:math:`\mu(\hat b_0) = \bar y` for the
canonical families; without intercept :math:`b_0 = 0`) and :math:`\psi_i = \mu(\hat b_0) - y_i`.

* Penalized twin: :math:`\beta = 0` is optimal iff :math:`|X_j'\psi| \le \alpha w_j` for all
  :math:`j`, so :math:`\alpha_{\max} = \max_j |X_j'\psi| / w_j`.
* FGSM (worst sign): near :math:`\beta = 0` every per-observation loss is
  :math:`\ell(y_i, \theta_i) + \varepsilon|\psi_i| T + O(T^2)` with :math:`T = \sum_j w_j|\beta_j|`
  (Gaussian :math:`(|r| + \varepsilon T)^2/2`, Bernoulli :math:`\mathrm{softplus}(-\tilde y\theta + \varepsilon T)`,
  Poisson worst sign), so the directional derivative at :math:`(\hat b_0, 0)` in a direction
  :math:`d` is :math:`\psi'Xd + \varepsilon\lVert\psi\rVert_1 \sum_j w_j|d_j|` and, by convexity,

  .. math:: \varepsilon_{\max} = \max_j \frac{|X_j'\psi|}{w_j \lVert\psi\rVert_1}.

  I.e. the FGSM threshold is the Lasso one divided by :math:`\lVert\psi\rVert_1`, the total absolute
  score.  For SCAD / MCP (slope ``lam`` at 0) use ``w_j = lam``: the thresholds are those at which
  :math:`\beta = 0` becomes a *local* minimiser.  Bridge ``r > 1`` has no threshold (``inf``);
  for ``r < 1`` zero is always a local minimiser (threshold 0).
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params

from ._validation import as_float_array, check_design, check_y_length
from .families import Family, get_family
from .penalties import SCAD, MCP, Bridge, Penalty, WeightedL1, get_penalty
from .solver import _fit_fgsm, _fit_penalized

__all__ = ["eps_max", "alpha_max", "fgsm_path", "penalized_path"]

#: the estimators' constraints (:class:`companion.GeneralizedFGSM`), so that a bad argument gets
#: the same message from a path, a threshold and an estimator
_COMMON = {
    "X": ["array-like", "sparse matrix"],
    "y": ["array-like"],
    "family": [str, Family],
    "penalty": [str, Penalty],
    "fit_intercept": ["boolean"],
}
_SOLVER = {
    "tol": [Interval(Real, 0, None, closed="neither")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
}


def _prep(X, y, family):
    fam = get_family(family)
    X = check_design(X, "X")
    y = fam.validate_y(y, "y")
    check_y_length(y, X.shape[0])
    return X, y, fam


def _score0(X, y, fam, fit_intercept):
    if fit_intercept:
        mu0 = np.full_like(y, y.mean())
    else:
        mu0 = fam.mean(np.zeros_like(y))
    return mu0 - y


def _weights(penalty, p):
    pen = get_penalty(penalty)
    if isinstance(pen, WeightedL1):
        return pen.weights(p), pen
    if isinstance(pen, (SCAD, MCP)):
        return np.full(p, pen.lam), pen
    return np.ones(p), pen


def _bridge_threshold(pen):
    if isinstance(pen, Bridge) and pen.r != 1.0:
        return np.inf if pen.r > 1 else 0.0
    return None


@validate_params(_COMMON, prefer_skip_nested_validation=True)
def alpha_max(X, y, family="gaussian", penalty="l1", fit_intercept=True) -> float:
    r"""Smallest ``alpha`` with all slopes zero for :math:`\sum_i\ell_i + \alpha P(\beta)`:
    :math:`\max_j |X_j'\psi|/w_j`."""
    X, y, fam = _prep(X, y, family)
    w, pen = _weights(penalty, X.shape[1])
    b = _bridge_threshold(pen)
    if b is not None:
        return b
    g = np.abs(np.asarray(X.T @ _score0(X, y, fam, fit_intercept)))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(g > 0, g / w, 0.0)
    return float(ratio.max(initial=0.0))


@validate_params(_COMMON, prefer_skip_nested_validation=True)
def eps_max(X, y, family="gaussian", penalty="l1", fit_intercept=True) -> float:
    r"""Smallest FGSM radius ``eps`` with all slopes zero: :math:`\max_j |X_j'\psi|/(w_j\lVert\psi\rVert_1)`."""
    X, y, fam = _prep(X, y, family)
    w, pen = _weights(penalty, X.shape[1])
    b = _bridge_threshold(pen)
    if b is not None:
        return b
    psi = _score0(X, y, fam, fit_intercept)
    s = np.abs(psi).sum()
    if s == 0:
        return 0.0
    g = np.abs(np.asarray(X.T @ psi))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(g > 0, g / w, 0.0)
    return float(ratio.max(initial=0.0) / s)


def _path(X, y, grid, family, penalty, fit_intercept, tol, max_iter, fitter, name):
    X, y, fam = _prep(X, y, family)
    grid = as_float_array(grid, name, ndim=1)
    if np.any(grid < 0):
        raise ValueError(f"{name} must be non-negative")
    pen = get_penalty(penalty)
    coefs = np.zeros((grid.size, X.shape[1]))
    intercepts = np.zeros(grid.size)
    n_iter = np.zeros(grid.size, dtype=int)
    resid = np.zeros(grid.size)
    converged = np.zeros(grid.size, dtype=bool)
    no_min = np.zeros(grid.size, dtype=bool)
    coef0, b00 = None, None
    for k, s in enumerate(grid):
        res = fitter(X, y, s, fam.name, pen, fit_intercept, tol, max_iter, coef0=coef0,
                     intercept0=b00)
        coefs[k], intercepts[k] = res.coef, res.intercept
        n_iter[k], resid[k] = res.n_iter, res.optimality_residual
        converged[k], no_min[k] = res.converged, res.minimizer.startswith("none")
        if pen.convex:  # warm start (non-convex: every fit starts from its own L1 fit)
            coef0, b00 = res.coef, res.intercept
    return {"coefs": coefs, "intercepts": intercepts, name: grid, "n_iter": n_iter,
            "optimality_residual": resid, "converged": converged, "no_minimizer": no_min}


@validate_params({**_COMMON, **_SOLVER, "eps_grid": ["array-like"]},
                 prefer_skip_nested_validation=True)
def fgsm_path(X, y, eps_grid, family="gaussian", penalty="l1", fit_intercept=True, tol=1e-8,
              max_iter=200):
    """Generalized FGSM fits along ``eps_grid`` (in the given order; warm starts for convex penalties).

    Returns a dict with ``coefs`` (n_grid, p), ``intercepts`` (n_grid,), ``eps_grid``, ``n_iter``,
    ``optimality_residual``, ``converged`` and ``no_minimizer`` (Bernoulli data separated beyond
    the margin shift: the objective has no minimizer at that value, see
    :class:`~companion.estimators.GeneralizedFGSM`).  Tip: pass the grid in decreasing order starting at
    :func:`eps_max` (the path then starts at all-zero coefficients)."""
    return _path(X, y, eps_grid, family, penalty, fit_intercept, tol, max_iter, _fit_fgsm, "eps_grid")


@validate_params({**_COMMON, **_SOLVER, "alpha_grid": ["array-like"]},
                 prefer_skip_nested_validation=True)
def penalized_path(X, y, alpha_grid, family="gaussian", penalty="l1", fit_intercept=True, tol=1e-8,
                   max_iter=200):
    """Penalized-likelihood fits along ``alpha_grid`` (warm starts); same output as :func:`fgsm_path`
    with key ``alpha_grid``."""
    return _path(X, y, alpha_grid, family, penalty, fit_intercept, tol, max_iter, _fit_penalized,
                 "alpha_grid")
