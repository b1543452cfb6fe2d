r"""scikit-learn estimators for generalized FGSM training and its penalized-likelihood twin.

* :class:`GeneralizedFGSM` minimises the generalized FGSM objective (worst sign)

  .. math:: L_n(\beta, b_0) = \sum_{i=1}^n \ell\big(y_i,\ x_i'\beta + b_0 + \varepsilon s_i P(\beta)\big),
            \qquad s_i = \arg\max_{s=\pm1} \ell(y_i, \theta_i + s\varepsilon P(\beta)).

  ``eps`` is the per-observation :math:`\ell_\infty` radius in this *sum* form, i.e.
  :math:`\varepsilon = \lambda_n/n` in the theory's notation (total penalty :math:`\lambda_n`), so the
  :math:`\sqrt n` regime :math:`\sqrt n\,\varepsilon_n \to \lambda_0` means ``eps = lambda0 / sqrt(n)``.
  Gaussian: :math:`\sum_i(|r_i| + \varepsilon P)^2/2`; Bernoulli:
  :math:`\sum_i \mathrm{softplus}(-\tilde y_i\theta_i + \varepsilon P)`.
* :class:`PenalizedGLM` minimises the twin :math:`\sum_i \ell(y_i, \theta_i) + \alpha P(\beta)`
  (for SCAD/MCP the penalty's own ``lam`` plays the role of ``alpha``: the objective is
  :math:`\sum_i \ell_i + \sum_j p_{\lambda}(|\beta_j|)`, and ``lam`` defaults to ``alpha``).

Mappings to other libraries (all with an intercept, unpenalized):

* scikit-learn ``Lasso(alpha=alpha / n)`` (it minimises :math:`\frac1{2n}\lVert r\rVert^2 + a\lVert\beta\rVert_1`);
* scikit-learn ``LogisticRegression(l1_ratio=1, C=1/alpha, solver="liblinear"/"saga")``;
* skglm (datafit divided by :math:`n`): ``MCPenalty(alpha=lam/n, gamma=gamma*n)`` is exactly
  :math:`P_{\lambda,\gamma}/n`; SCAD is not closed under this scaling, so compare on
  :math:`(\sqrt n X, \sqrt n y)` for the quadratic datafit.

The penalty acts on the slopes only; the intercept is neither penalized nor perturbed.
Fitted attributes: ``coef_``, ``intercept_``, ``n_iter_``, ``converged_``,
``optimality_residual_`` (minimal-norm subgradient, inf-norm divided by ``n``, on the unit-scale
problem, so that it does not change when ``X`` or ``y`` are rescaled; see :mod:`companion.solver`),
``minimizer_`` (``"global (convex problem)"``, ``"local (LLA from L1 start)"``, or ``"none
(separable data)"`` when Bernoulli data are classified correctly beyond the FGSM margin shift:
the objective then decreases without end as the coefficients grow, and the fit warns and sets
``converged_ = False``), ``objective_`` and ``objective_path_`` (one value per LLA outer
step; non-increasing), ``n_passes_`` (passes over ``X``), and for Bernoulli ``classes_``.

``predict`` returns the mean :math:`\mu = b'(\theta)` for Gaussian and Poisson, and class labels for
Bernoulli (whose mean is ``predict_proba(X)[:, 1]``).  ``score`` is :math:`R^2` (Gaussian),
accuracy (Bernoulli) or the deviance :math:`D^2 = 1 - D(y, \hat\mu)/D(y, \bar y)` (Poisson).
"""
from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import check_design
from .families import Family, get_family
from .penalties import Penalty, get_penalty
from .solver import _fit_fgsm, _fit_penalized

__all__ = ["GeneralizedFGSM", "PenalizedGLM"]


def _n_rows(a):
    if hasattr(a, "shape") and len(getattr(a, "shape")) > 0:
        return a.shape[0]
    try:
        return len(a)
    except TypeError:
        return None


def _is_bernoulli(est):
    return est._family_name_safe() == "bernoulli"


class _GLMBase(BaseEstimator):
    """Shared validation, prediction and scoring."""

    _strength_name = "eps"

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        fam = self._family_name_safe()
        tags.target_tags.required = True
        tags.input_tags.sparse = True
        if fam == "bernoulli":
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags(multi_class=False)
            tags.regressor_tags = None
        else:
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
            tags.classifier_tags = None
            if fam == "poisson":
                tags.target_tags.positive_only = True
        return tags

    def _family_name_safe(self):
        try:
            return get_family(self.family).name
        except (TypeError, ValueError):
            return "gaussian"

    # ------------------------------------------------------------------ validation
    #: shared constraints, checked by scikit-learn's ``_fit_context`` before every fit (the
    #: paths in :mod:`companion.paths` use the same ones, so the messages are the same)
    _parameter_constraints: dict = {
        "family": [str, Family],
        "penalty": [str, Penalty],
        "r": [Interval(Real, 0, None, closed="neither"), None],
        "a": [Interval(Real, 2, None, closed="neither")],
        "gamma": [Interval(Real, 1, None, closed="neither")],
        "lam": [Interval(Real, 0, None, closed="left"), None],
        "weights": ["array-like", None],
        "fit_intercept": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "nonconvex": [StrOptions({"lla"})],
    }

    def _make_penalty(self, n_features, lam_default=None):
        name = self.penalty.lower() if isinstance(self.penalty, str) else None
        lam = self.lam if self.lam is not None else lam_default
        if name in ("bridge", "lr") and self.r is None:
            raise ValueError("r must be given (r > 0) when penalty='bridge'")
        if name in ("scad", "mcp") and lam is None:
            raise ValueError(f"lam must be given (lam >= 0) when penalty={name!r}")
        weights = self.weights
        if name in ("weighted_l1", "adaptive_l1", "weighted", "adaptive"):
            if weights is None:
                raise ValueError("weights must be given when penalty='weighted_l1'")
            weights = np.asarray(weights, dtype=float)
            if weights.ndim != 1 or weights.shape[0] != n_features:
                raise ValueError(f"weights must have one entry per feature ({n_features}), got "
                                 f"shape {weights.shape}")
        if name is not None:
            unused = [nm for nm, val, users in (
                ("r", self.r, ("bridge", "lr")),
                ("lam", self.lam, ("scad", "mcp")),
                ("weights", self.weights, ("weighted_l1", "adaptive_l1", "weighted", "adaptive")))
                if val is not None and name not in users]
            if unused:
                warnings.warn(f"{', '.join(unused)} {'is' if len(unused) == 1 else 'are'} ignored with "
                              f"penalty={name!r}", UserWarning, stacklevel=4)
        return get_penalty(self.penalty, r=self.r, lam=lam, a=self.a, gamma=self.gamma,
                           weights=weights)

    def _fast_fit_data(self, X, y, fam):
        """``check_input=False``: only cheap structural checks (dtype, shape, finiteness of y is
        left to the family); for Monte Carlo loops that generate their own clean arrays."""
        dense_ok = (isinstance(X, np.ndarray) and X.dtype == np.float64 and X.ndim == 2
                    and X.flags.c_contiguous)
        sparse_ok = sp.issparse(X) and X.format in ("csr", "csc") and X.dtype == np.float64
        if not (dense_ok or sparse_ok):
            raise ValueError("with check_input=False, X must be a C-contiguous float64 numpy array "
                             "(or a float64 CSR/CSC matrix) of shape (n_samples, n_features)")
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"with check_input=False, y must be a 1-d array with {X.shape[0]} "
                             f"entries (the rows of X), got shape {y.shape}")
        self.n_features_in_ = X.shape[1]
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        if fam.name == "bernoulli":
            self.classes_ = np.unique(y)
        elif hasattr(self, "classes_"):
            del self.classes_
        return X, fam.validate_y(y, "y")

    def _validate_fit_data(self, X, y, fam):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             "is None")
        nx, ny = _n_rows(X), _n_rows(y)
        if nx is not None and ny is not None and nx != ny:
            raise ValueError(f"X has {nx} rows but y has {ny} entries; they must match")
        is_clf = fam.name == "bernoulli"
        try:
            X, y = validate_data(self, X, y, dtype=np.float64, order="C", y_numeric=not is_clf,
                                 accept_sparse=("csr", "csc"), ensure_min_samples=1)
        except ValueError as exc:
            if "convert" in str(exc) and "float" in str(exc):
                raise ValueError(f"X and y must be numeric (y may hold class labels for the "
                                 f"Bernoulli family): {exc}") from exc
            raise
        y01 = fam.validate_y(y, "y")  # the same label checks as the paths and eps_max
        if is_clf:
            self.classes_ = np.unique(y)
        elif hasattr(self, "classes_"):
            del self.classes_
        return X, y01

    # ------------------------------------------------------------------ fitting
    def _store(self, res):
        self.coef_ = np.asarray(res.coef, dtype=float)
        self.intercept_ = float(res.intercept)
        self.n_iter_ = int(res.n_iter)
        self.converged_ = bool(res.converged)
        self.optimality_residual_ = float(res.optimality_residual)
        self.minimizer_ = res.minimizer
        self.objective_ = float(res.objective)
        self.objective_path_ = np.asarray(res.objective_path)
        self.n_passes_ = float(res.n_passes)
        return self

    # ------------------------------------------------------------------ prediction
    def decision_function(self, X):
        r"""Linear predictor :math:`\theta = X\beta + b_0` (shape ``(n_samples,)``)."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, accept_sparse=("csr", "csc"), reset=False)
        return np.asarray(X @ self.coef_) + self.intercept_

    def predict(self, X):
        """Mean response (Gaussian, Poisson) or predicted class label (Bernoulli)."""
        theta = self.decision_function(X)
        fam = get_family(self.family)
        if fam.name == "bernoulli":
            return self.classes_[(theta > 0).astype(int)]
        return fam.mean(theta)

    @available_if(_is_bernoulli)
    def predict_proba(self, X):
        """Class probabilities ``[1 - mu, mu]`` (Bernoulli only), columns ordered as ``classes_``."""
        mu = get_family(self.family).mean(self.decision_function(X))
        return np.column_stack((1.0 - mu, mu))

    @available_if(_is_bernoulli)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (Bernoulli only)."""
        return np.log(self.predict_proba(X))

    def score(self, X, y, sample_weight=None):
        """R^2 (Gaussian), accuracy (Bernoulli) or deviance D^2 (Poisson)."""
        fam = get_family(self.family)
        if fam.name == "bernoulli":
            from sklearn.metrics import accuracy_score
            return accuracy_score(y, self.predict(X), sample_weight=sample_weight)
        if fam.name == "gaussian":
            from sklearn.metrics import r2_score
            return r2_score(y, self.predict(X), sample_weight=sample_weight)
        from sklearn.metrics import d2_tweedie_score
        return d2_tweedie_score(y, self.predict(X), sample_weight=sample_weight, power=1)


class GeneralizedFGSM(_GLMBase):
    r"""Generalized FGSM adversarial training of a canonical GLM (see the module docstring).

    Parameters
    ----------
    family : {"gaussian", "bernoulli", "poisson"} or Family, default "gaussian"
        Aliases: "linear", "logistic", "binomial", "normal".
    penalty : {"l1", "bridge", "scad", "mcp", "weighted_l1"} or Penalty, default "l1"
        Margin shift :math:`P(\beta)`.
    eps : float >= 0 or "pivotal", default 0.1
        :math:`\ell_\infty` radius per observation (sum form: ``eps = lambda_n / n``).  ``"pivotal"``:
        :func:`companion.pivotal.pivotal_eps` at ``alpha = 0.05`` (no estimate of sigma needed);
        the value used is ``eps_``.
    r : float > 0, optional
        Bridge exponent (``penalty="bridge"``).
    a, gamma : float
        SCAD / MCP shape parameters (3.7 / 3.0).
    lam : float >= 0, optional
        SCAD / MCP threshold (required for those penalties).
    weights : array of shape (n_features,), optional
        Weights of ``penalty="weighted_l1"``.
    fit_intercept : bool, default True
    tol : float, default 1e-8
        Target optimality residual (minimal-norm subgradient, inf-norm over ``n``).
    max_iter : int, default 200
        Maximum number of Newton iterations (summed over smoothing stages / LLA steps).
    nonconvex : {"lla"}
        Method for non-convex penalties: local linear approximation (MM) from the L1 fit.
    """

    def __init__(self, family="gaussian", penalty="l1", eps=0.1, r=None, a=3.7, gamma=3.0,
                 lam=None, weights=None, fit_intercept=True, tol=1e-8, max_iter=200,
                 nonconvex="lla"):
        self.family = family
        self.penalty = penalty
        self.eps = eps
        self.r = r
        self.a = a
        self.gamma = gamma
        self.lam = lam
        self.weights = weights
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.nonconvex = nonconvex

    _parameter_constraints: dict = {
        **_GLMBase._parameter_constraints,
        "eps": [Interval(Real, 0, None, closed="left"), StrOptions({"pivotal"})],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, check_input=True):
        """Fit on ``X`` (n_samples, n_features; dense or scipy.sparse CSR/CSC) and ``y``.

        ``check_input=False`` skips scikit-learn's input validation (conversion, finiteness and
        target-type checks) for loops over clean, generated data; ``X`` must then already be a
        C-contiguous float64 array (or a float64 CSR/CSC matrix).  The fitted model is identical.
        """
        fam = get_family(self.family)
        pivotal = isinstance(self.eps, str)
        eps = None if pivotal else float(self.eps)
        X, y01 = (self._validate_fit_data(X, y, fam) if check_input
                  else self._fast_fit_data(X, y, fam))
        if pivotal:  # eps="pivotal": the level of companion.pivotal (alpha = 0.05)
            from .pivotal import resolve_eps
            eps = resolve_eps(self.eps, X, y01, fam.name, self.fit_intercept)
        pen = self._make_penalty(X.shape[1])
        res = _fit_fgsm(X, y01, float(eps), fam.name, pen, self.fit_intercept,
                        float(self.tol), self.max_iter)
        self.penalty_ = pen
        self.eps_ = float(eps)
        return self._store(res)


class PenalizedGLM(_GLMBase):
    r"""Penalized-likelihood twin :math:`\sum_i \ell(y_i, \theta_i) + \alpha P(\beta)`.

    Same parameters as :class:`GeneralizedFGSM` with ``alpha`` (total penalty level, >= 0) in
    place of ``eps``.  For SCAD/MCP the objective is :math:`\sum_i\ell_i + \sum_j p_\lambda(|\beta_j|)`
    with ``lam`` (default: ``alpha``) the penalty's own threshold.  ``sklearn.linear_model.Lasso``
    corresponds to ``alpha / n``; ``LogisticRegression`` (L1) to ``C = 1 / alpha``.
    """

    _strength_name = "alpha"

    def __init__(self, family="gaussian", penalty="l1", alpha=1.0, r=None, a=3.7, gamma=3.0,
                 lam=None, weights=None, fit_intercept=True, tol=1e-8, max_iter=200,
                 nonconvex="lla"):
        self.family = family
        self.penalty = penalty
        self.alpha = alpha
        self.r = r
        self.a = a
        self.gamma = gamma
        self.lam = lam
        self.weights = weights
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.nonconvex = nonconvex

    _parameter_constraints: dict = {
        **_GLMBase._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, check_input=True):
        """Fit on ``X`` (n_samples, n_features; dense or scipy.sparse CSR/CSC) and ``y``.

        ``check_input=False`` skips scikit-learn's input validation (conversion, finiteness and
        target-type checks) for loops over clean, generated data; ``X`` must then already be a
        C-contiguous float64 array (or a float64 CSR/CSC matrix).  The fitted model is identical.
        """
        fam = get_family(self.family)
        alpha = float(self.alpha)
        X, y01 = (self._validate_fit_data(X, y, fam) if check_input
                  else self._fast_fit_data(X, y, fam))
        pen = self._make_penalty(X.shape[1], lam_default=alpha)
        res = _fit_penalized(X, y01, alpha, fam.name, pen, self.fit_intercept, float(self.tol),
                             self.max_iter)
        self.penalty_ = pen
        return self._store(res)
