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
``optimality_residual_`` (minimal-norm subgradient, inf-norm divided by ``n``, see
:mod:`companion.solver`), ``minimizer_`` (``"global (convex problem)"`` or
``"local (LLA from L1 start)"``), ``objective_`` and ``objective_path_`` (one value per LLA outer
step; non-increasing), ``n_passes_`` (passes over ``X``), and for Bernoulli ``classes_``.

``predict`` returns the mean :math:`\mu = b'(\theta)` for Gaussian and Poisson, and class labels for
Bernoulli (whose mean is ``predict_proba(X)[:, 1]``).  ``score`` is :math:`R^2` (Gaussian),
accuracy (Bernoulli) or the deviance :math:`D^2 = 1 - D(y, \hat\mu)/D(y, \bar y)` (Poisson).
"""
from __future__ import annotations

import numbers

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils._available_if import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .families import get_family
from .penalties import get_penalty
from .solver import _fit_fgsm, _fit_penalized

__all__ = ["GeneralizedFGSM", "PenalizedGLM"]


def _check_real(value, name, low=None, low_inclusive=True, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (not low_inclusive and value == low)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}, got {value}")
    return value


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
    def _check_common(self):
        fam = get_family(self.family)
        if self.nonconvex != "lla":
            raise ValueError(f"nonconvex must be 'lla' (local linear approximation / MM), got "
                             f"{self.nonconvex!r}")
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise TypeError(f"fit_intercept must be a bool, got {type(self.fit_intercept).__name__}")
        tol = _check_real(self.tol, "tol", low=0.0, low_inclusive=False)
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, numbers.Integral):
            raise TypeError(f"max_iter must be an integer, got {type(self.max_iter).__name__}")
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        return fam, tol

    def _make_penalty(self, n_features, lam_default=None):
        if not isinstance(self.penalty, str) and not hasattr(self.penalty, "value"):
            raise TypeError(f"penalty must be a string or a companion Penalty, got "
                            f"{type(self.penalty).__name__}")
        name = self.penalty.lower() if isinstance(self.penalty, str) else None
        r = _check_real(self.r, "r", allow_none=True)
        if r is not None and r <= 0:
            raise ValueError(f"r must be > 0, got {r}")
        lam = _check_real(self.lam, "lam", low=0.0, allow_none=True)
        if lam is None:
            lam = lam_default
        a = _check_real(self.a, "a", low=2.0, low_inclusive=False)
        gamma = _check_real(self.gamma, "gamma", low=1.0, low_inclusive=False)
        if name in ("bridge", "lr") and r is None:
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
                              f"penalty={name!r}", UserWarning, stacklevel=3)
        pen = get_penalty(self.penalty, r=r, lam=lam, a=a, gamma=gamma, weights=weights)
        return pen

    def _fast_fit_data(self, X, y, fam):
        """``check_input=False``: only cheap structural checks (dtype, shape, finiteness of y is
        left to the family); for Monte Carlo loops that generate their own clean arrays."""
        if not (isinstance(X, np.ndarray) and X.dtype == np.float64 and X.ndim == 2
                and X.flags.c_contiguous):
            raise ValueError("with check_input=False, X must be a C-contiguous float64 numpy array "
                             "of shape (n_samples, n_features)")
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
                                 ensure_min_samples=1)
        except ValueError as exc:
            if "convert" in str(exc) and "float" in str(exc):
                raise ValueError(f"X and y must be numeric (y may hold class labels for the "
                                 f"Bernoulli family): {exc}") from exc
            raise
        if is_clf:
            check_classification_targets(y)
            classes = np.unique(y)
            if classes.size == 1:
                raise ValueError(f"y contains only one class ({classes[0]!r}); the Bernoulli "
                                 "family needs exactly two classes")
            if classes.size > 2:
                raise ValueError(f"Only binary classification is supported: y must contain "
                                 f"exactly two classes for the Bernoulli family, got {classes.size}")
            self.classes_ = classes
            y01 = fam.validate_y(y, "y")
        else:
            if hasattr(self, "classes_"):
                del self.classes_
            y01 = fam.validate_y(y, "y")
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
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_

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

    def fit(self, X, y, check_input=True):
        """Fit on ``X`` (n_samples, n_features) and ``y`` (n_samples,).

        ``check_input=False`` skips scikit-learn's input validation (conversion, finiteness and
        target-type checks) for loops over clean, generated data; ``X`` must then already be a
        C-contiguous float64 array.  The fitted model is identical.
        """
        fam, tol = self._check_common()
        pivotal = isinstance(self.eps, str)
        eps = None if pivotal else _check_real(self.eps, "eps", low=0.0)
        X, y01 = (self._validate_fit_data(X, y, fam) if check_input
                  else self._fast_fit_data(X, y, fam))
        if pivotal:  # eps="pivotal": the level of companion.pivotal (alpha = 0.05)
            from .pivotal import resolve_eps
            eps = resolve_eps(self.eps, X, y01, fam.name, self.fit_intercept)
        pen = self._make_penalty(X.shape[1])
        res = _fit_fgsm(X, y01, eps, fam.name, pen, self.fit_intercept, tol, self.max_iter)
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

    def fit(self, X, y, check_input=True):
        """Fit on ``X`` (n_samples, n_features) and ``y`` (n_samples,).

        ``check_input=False`` skips scikit-learn's input validation (conversion, finiteness and
        target-type checks) for loops over clean, generated data; ``X`` must then already be a
        C-contiguous float64 array.  The fitted model is identical.
        """
        fam, tol = self._check_common()
        alpha = _check_real(self.alpha, "alpha", low=0.0)
        X, y01 = (self._validate_fit_data(X, y, fam) if check_input
                  else self._fast_fit_data(X, y, fam))
        pen = self._make_penalty(X.shape[1], lam_default=alpha)
        res = _fit_penalized(X, y01, alpha, fam.name, pen, self.fit_intercept, tol, self.max_iter)
        self.penalty_ = pen
        return self._store(res)
