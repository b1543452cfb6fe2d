r"""Cross-validated estimators: :class:`GeneralizedFGSMCV` (chooses ``eps``) and
:class:`PenalizedGLMCV` (chooses ``alpha``), in the manner of scikit-learn's ``LassoCV`` /
``LogisticRegressionCV``.

For every training fold the whole grid is fitted as one warm-started path
(:func:`companion.paths.fgsm_path` / :func:`~companion.paths.penalized_path`), from the largest
value down; each grid point is scored on the held-out fold by the mean deviance
:math:`2\{\ell(y, \hat\theta) - \ell(y, \theta_{\mathrm{sat}})\}` (squared error for the linear
model, twice the log-loss for the logistic one), or by any scikit-learn scorer.  The chosen value
maximises the mean fold score, or, with ``rule="1se"``, is the largest value whose mean score is
within one standard error (fold standard deviation over :math:`\sqrt K`) of the best; the model is
then refitted on all the data.  A Bernoulli grid point at which some training fold is separated
beyond the FGSM margin shift has no minimizer there (:func:`companion.solver._no_minimizer`): it
scores NaN in that fold, its mean is NaN and it is never chosen.

Default grid: ``n_grid`` values log-spaced from :func:`~companion.paths.eps_max` (or
:func:`~companion.paths.alpha_max`) of the full data down to ``grid_ratio`` times it.

Fitted attributes: ``eps_`` / ``alpha_``, ``eps_grid_`` / ``alpha_grid_`` (decreasing),
``best_index_``, ``fold_residual_max_`` (largest optimality residual of the fold fits; their
convergence warnings are not repeated), ``score_path_`` (``(n_grid, n_splits)`` held-out scores, higher is better),
``cv_results_`` (``param_<name>``, ``split<k>_test_score``, ``mean_test_score``,
``std_test_score``, ``se_test_score``, ``rank_test_score``), ``n_splits_``, and those of the refitted
base estimator (``coef_``, ``intercept_``, ...).
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import check_cv

from ._validation import as_float_array
from .estimators import GeneralizedFGSM, PenalizedGLM, _GLMBase
from .families import get_family
from .paths import alpha_max, eps_max, fgsm_path, penalized_path
from .solver import _fit_fgsm, _fit_penalized

__all__ = ["GeneralizedFGSMCV", "PenalizedGLMCV", "mean_deviance"]

_RULES = ("min", "1se")


def mean_deviance(family, y, theta) -> float:
    r"""Mean unit deviance :math:`\frac1n\sum_i 2\{\ell(y_i,\theta_i) - \ell(y_i, \theta^{\mathrm{sat}}_i)\}`
    of a companion family (``y`` in the family's coding, ``theta`` the linear predictor)."""
    from .families import get_family
    fam = get_family(family)
    y = np.asarray(y, float)
    theta = np.asarray(theta, float)
    loss = fam.loss(y, theta)
    if fam.name == "poisson":
        with np.errstate(divide="ignore", invalid="ignore"):
            sat = np.where(y > 0, y - y * np.log(np.where(y > 0, y, 1.0)), 0.0)
        loss = loss - sat
    return float(2.0 * np.mean(loss))


def _fold_scores(X, y01, y_orig, train, test, grid, fam_name, pen, fit_intercept, tol, max_iter,
                 path_fn, name, scorer, template):
    with warnings.catch_warnings():  # non-convergence is recorded (fold_residual_max_), not repeated
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = path_fn(X[train], y01[train], grid, fam_name, pen, fit_intercept, tol, max_iter)
    Xt = X[test]
    thetas = Xt @ res["coefs"].T + res["intercepts"][None, :]
    out = np.empty(grid.size)
    for k in range(grid.size):
        if res["no_minimizer"][k]:  # separable training fold: the fit is an arbitrary point
            out[k] = np.nan
        elif scorer is None:
            out[k] = -mean_deviance(fam_name, y01[test], thetas[:, k])
        else:
            est = template._fitted_copy(res["coefs"][k], res["intercepts"][k])
            out[k] = scorer(est, Xt, y_orig[test])
    return out, float(np.max(res["optimality_residual"]))


class _CVMixin:
    """Shared fit of the two CV estimators (``_name``: "eps" or "alpha")."""

    _name = "eps"

    def _strength_max(self, X, y01, fam, pen):
        raise NotImplementedError

    def _check_common(self):
        """The base estimators' parameter constraints (same messages), then the family and tol."""
        self._validate_params()
        return get_family(self.family), float(self.tol)

    def _check_cv_params(self):
        name = self._name
        if isinstance(self.n_grid, bool) or not isinstance(self.n_grid, numbers.Integral):
            raise TypeError(f"n_grid must be an integer, got {type(self.n_grid).__name__}")
        if self.n_grid < 2:
            raise ValueError(f"n_grid must be >= 2, got {self.n_grid}")
        if isinstance(self.grid_ratio, bool) or not isinstance(self.grid_ratio, numbers.Real):
            raise TypeError(f"grid_ratio must be a real number in (0, 1), got {type(self.grid_ratio).__name__}")
        if not (0.0 < float(self.grid_ratio) < 1.0):
            raise ValueError(f"grid_ratio must lie in (0, 1), got {self.grid_ratio}")
        if self.rule not in _RULES:
            raise ValueError(f"rule must be one of {_RULES}, got {self.rule!r}")
        cv = self.cv
        if isinstance(cv, bool):
            raise TypeError("cv must be an int >= 2, a scikit-learn splitter or an iterable of splits, got bool")
        if isinstance(cv, numbers.Integral) and cv < 2:
            raise ValueError(f"cv must be >= 2 (the number of folds), got {cv}")
        grid = getattr(self, f"{name}_grid")
        if grid is not None:
            grid = as_float_array(grid, f"{name}_grid", ndim=1)
            if np.any(grid < 0):
                raise ValueError(f"{name}_grid must hold non-negative values, got minimum {grid.min()}")
            grid = np.sort(grid)[::-1]
        return grid

    def _fitted_copy(self, coef, intercept):
        base = self._base_estimator()
        base.coef_ = np.asarray(coef, float)
        base.intercept_ = float(intercept)
        base.n_features_in_ = self.n_features_in_
        if hasattr(self, "classes_"):
            base.classes_ = self.classes_
        return base

    def fit(self, X, y):
        """Cross-validate the grid on ``(X, y)`` and refit at the chosen value on all of it."""
        name = self._name
        fam, tol = self._check_common()
        grid = self._check_cv_params()
        X, y01 = self._validate_fit_data(X, y, fam)
        y_orig = np.asarray(y) if fam.name == "bernoulli" else y01
        if fam.name == "bernoulli":
            y_orig = self.classes_[y01.astype(int)]
        pen = self._make_penalty(X.shape[1])
        if name == "alpha" and hasattr(pen, "lam"):
            raise ValueError(f"PenalizedGLMCV cross-validates alpha, which SCAD/MCP ignore (their lam is the "
                             f"level); use penalty='l1', 'weighted_l1' or 'bridge', got {self.penalty!r}")
        if grid is None:
            top = self._strength_max(X, y01, fam, pen)
            if not np.isfinite(top):
                raise ValueError(f"no automatic {name} grid for this penalty (its threshold is infinite); "
                                 f"pass {name}_grid")
            grid = top * np.logspace(0.0, np.log10(float(self.grid_ratio)), int(self.n_grid))
        cv = check_cv(self.cv, y01, classifier=fam.name == "bernoulli")
        splits = list(cv.split(X, y01))
        scorer = None
        if self.scoring is not None:
            from sklearn.metrics import check_scoring
            scorer = check_scoring(self._base_estimator(), scoring=self.scoring)
        path_fn = fgsm_path if name == "eps" else penalized_path
        rows = Parallel(n_jobs=self.n_jobs)(
            delayed(_fold_scores)(X, y01, y_orig, tr, te, grid, fam.name, pen, self.fit_intercept, tol,
                                  self.max_iter, path_fn, name, scorer, self)
            for tr, te in splits)
        S = np.column_stack([r[0] for r in rows])       # (n_grid, n_splits)
        self.fold_residual_max_ = max(r[1] for r in rows)
        K = S.shape[1]
        mean = S.mean(axis=1)
        std = S.std(axis=1, ddof=1) if K > 1 else np.zeros_like(mean)
        se = std / np.sqrt(K)
        if np.all(np.isnan(mean)):
            raise ValueError(f"every {name} of the grid leaves a training fold separable (no minimizer: "
                             f"see the ConvergenceWarning of the base estimator); use larger {name} values")
        best = int(np.nanargmax(mean))
        if self.rule == "1se":
            ok = np.flatnonzero(mean >= mean[best] - se[best])
            best = int(ok.min())                        # largest value (grid is decreasing)
        value = float(grid[best])
        rank = np.empty(grid.size, dtype=int)
        rank[np.argsort(-mean, kind="stable")] = np.arange(1, grid.size + 1)
        results = {f"param_{name}": grid.copy(), "mean_test_score": mean, "std_test_score": std,
                   "se_test_score": se, "rank_test_score": rank}
        for k in range(K):
            results[f"split{k}_test_score"] = S[:, k]
        fitter = _fit_fgsm if name == "eps" else _fit_penalized
        res = fitter(X, y01, value, fam.name, pen, self.fit_intercept, tol, self.max_iter)
        self.penalty_ = pen
        self._store(res)
        setattr(self, f"{name}_", value)
        setattr(self, f"{name}_grid_", grid)
        self.best_index_ = best
        self.score_path_ = S
        self.cv_results_ = results
        self.n_splits_ = K
        return self


class GeneralizedFGSMCV(_CVMixin, _GLMBase):
    r"""Generalized FGSM with ``eps`` chosen by K-fold cross-validation over a warm-started path.

    Parameters
    ----------
    family, penalty, r, a, gamma, lam, weights, fit_intercept, tol, max_iter, nonconvex
        As in :class:`~companion.estimators.GeneralizedFGSM`.
    eps_grid : array of non-negative floats, optional
        Grid of radii (sorted decreasingly internally).  Default: ``n_grid`` values log-spaced from
        :func:`~companion.paths.eps_max` down to ``grid_ratio * eps_max``.
    n_grid : int >= 2, default 30
    grid_ratio : float in (0, 1), default 1e-3
    cv : int >= 2, scikit-learn splitter or iterable of (train, test), default 5
        Integers give ``KFold`` (``StratifiedKFold`` for the Bernoulli family), unshuffled.
    scoring : None, str or callable, default None
        None: minus the mean held-out deviance.  Otherwise any scikit-learn scorer.
    rule : {"min", "1se"}, default "min"
        Best mean score, or the largest ``eps`` within one standard error of it.
    n_jobs : int, optional
        Folds run in parallel through joblib.
    """

    _name = "eps"

    def __init__(self, family="gaussian", penalty="l1", eps_grid=None, n_grid=30, grid_ratio=1e-3, cv=5,
                 scoring=None, rule="min", n_jobs=None, r=None, a=3.7, gamma=3.0, lam=None, weights=None,
                 fit_intercept=True, tol=1e-8, max_iter=200, nonconvex="lla"):
        self.family = family
        self.penalty = penalty
        self.eps_grid = eps_grid
        self.n_grid = n_grid
        self.grid_ratio = grid_ratio
        self.cv = cv
        self.scoring = scoring
        self.rule = rule
        self.n_jobs = n_jobs
        self.r = r
        self.a = a
        self.gamma = gamma
        self.lam = lam
        self.weights = weights
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.nonconvex = nonconvex

    def _base_estimator(self):
        return GeneralizedFGSM(family=self.family, penalty=self.penalty, eps=0.0, r=self.r, a=self.a,
                               gamma=self.gamma, lam=self.lam, weights=self.weights,
                               fit_intercept=self.fit_intercept, tol=self.tol, max_iter=self.max_iter,
                               nonconvex=self.nonconvex)

    def _strength_max(self, X, y01, fam, pen):
        return eps_max(X, y01, fam.name, pen, self.fit_intercept)


class PenalizedGLMCV(_CVMixin, _GLMBase):
    r"""Penalized-likelihood twin with ``alpha`` chosen by K-fold cross-validation over a
    warm-started path.  Parameters as :class:`GeneralizedFGSMCV` with ``alpha_grid`` in place of
    ``eps_grid`` (default grid from :func:`~companion.paths.alpha_max`).  SCAD/MCP are not offered here
    (their ``lam``, not ``alpha``, is the level)."""

    _name = "alpha"
    _strength_name = "alpha"

    def __init__(self, family="gaussian", penalty="l1", alpha_grid=None, n_grid=30, grid_ratio=1e-3, cv=5,
                 scoring=None, rule="min", n_jobs=None, r=None, a=3.7, gamma=3.0, lam=None, weights=None,
                 fit_intercept=True, tol=1e-8, max_iter=200, nonconvex="lla"):
        self.family = family
        self.penalty = penalty
        self.alpha_grid = alpha_grid
        self.n_grid = n_grid
        self.grid_ratio = grid_ratio
        self.cv = cv
        self.scoring = scoring
        self.rule = rule
        self.n_jobs = n_jobs
        self.r = r
        self.a = a
        self.gamma = gamma
        self.lam = lam
        self.weights = weights
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.nonconvex = nonconvex

    def _base_estimator(self):
        return PenalizedGLM(family=self.family, penalty=self.penalty, alpha=0.0, r=self.r, a=self.a,
                            gamma=self.gamma, lam=self.lam, weights=self.weights,
                            fit_intercept=self.fit_intercept, tol=self.tol, max_iter=self.max_iter,
                            nonconvex=self.nonconvex)

    def _strength_max(self, X, y01, fam, pen):
        return alpha_max(X, y01, fam.name, pen, self.fit_intercept)
