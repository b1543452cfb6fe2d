r"""Coefficient penalties :math:`P(\beta) = \sum_j p(|\beta_j|)` used as FGSM margin shifts and as
penalized-likelihood penalties.

The intercept is never penalized (nor perturbed), so every function here acts on the slope vector
``coef`` only.  For a penalty :math:`p` the generalized FGSM perturbation direction is

.. math:: d_j(\beta) = \mathrm{sign}(\beta_j)\, p(|\beta_j|)/|\beta_j| \quad (0 \text{ where } \beta_j = 0),

so that :math:`d(\beta)'\beta = P(\beta)` (the *margin shift*).

Available penalties (``get_penalty`` names in brackets):

* :class:`L1` (``"l1"``, ``"lasso"``): :math:`p(t) = t`;
* :class:`Bridge` (``"bridge"``, ``"lr"``): :math:`p(t) = t^r`, any :math:`r > 0` (non-convex for ``r < 1``);
* :class:`SCAD` (``"scad"``): Fan & Li (2001) with its own ``lam`` and ``a = 3.7``;
* :class:`MCP` (``"mcp"``): Zhang (2010) with its own ``lam`` and ``gamma = 3``;
* :class:`WeightedL1` (``"weighted_l1"``, ``"adaptive_l1"``): :math:`p_j(t) = w_j t`.

Non-convex penalties are concave in :math:`t = |\beta_j|` on :math:`[0, \infty)`, which is what the
local linear approximation (LLA / MM) of ``companion.solver`` uses:
:math:`p(t) \le p(t_k) + p'(t_k)(t - t_k)`.
"""
from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_scalar

__all__ = ["Penalty", "L1", "Bridge", "SCAD", "MCP", "WeightedL1", "get_penalty", "PENALTIES"]


class Penalty:
    """Base class.  Subclasses implement :meth:`pointwise` and :meth:`derivative` on ``t >= 0``."""

    name = "penalty"
    #: True when p is convex in t (then no LLA outer loop is needed)
    convex = True
    #: True when p(t) = w t exactly (a weighted L1 penalty: the solver's native form)
    is_l1_type = False
    #: degree h of positive homogeneity, P(k beta) = k^h P(beta) for k > 0, or None; the solver
    #: uses it to put every problem on a unit scale (scale-invariant stopping)
    homogeneity = None

    def pointwise(self, t):  # pragma: no cover - abstract
        """Elementwise :math:`p_j(t_j)` for ``t >= 0``."""
        raise NotImplementedError

    def derivative(self, t):  # pragma: no cover - abstract
        """Elementwise right derivative :math:`p_j'(t_j)` for ``t >= 0`` (``inf`` allowed at 0)."""
        raise NotImplementedError

    def _check_coef(self, coef):
        return as_float_array(coef, "coef", ndim=1, allow_empty=True)

    def value(self, coef) -> float:
        r""":math:`P(\beta) = \sum_j p(|\beta_j|)`."""
        coef = self._check_coef(coef)
        return float(np.sum(self.pointwise(np.abs(coef))))

    def margin_shift(self, coef) -> float:
        r"""The FGSM margin shift :math:`d(\beta)'\beta = P(\beta)` (equal to :meth:`value`)."""
        return self.value(coef)

    def direction(self, coef) -> np.ndarray:
        r"""Perturbation direction :math:`d_j = \mathrm{sign}(\beta_j) p(|\beta_j|)/|\beta_j|` (0 at 0)."""
        coef = self._check_coef(coef)
        t = np.abs(coef)
        out = np.zeros_like(coef)
        nz = t > 0
        out[nz] = np.sign(coef[nz]) * self.pointwise(t)[nz] / t[nz]
        return out

    def lla_weights(self, coef):
        r"""LLA majorizer at ``coef``: weights :math:`w_j = p'(|\beta_j|)` and offset
        :math:`c = \sum_j p(|\beta_j|) - w_j|\beta_j|` so that
        :math:`P(b) \le \sum_j w_j |b_j| + c` with equality at ``b = coef`` (``w_j = inf`` means
        "keep this coefficient at 0")."""
        t = np.abs(np.asarray(coef, float))
        w = np.asarray(self.derivative(t), float)
        pv = self.pointwise(t)
        with np.errstate(invalid="ignore"):
            wt = np.where(np.isinf(w), 0.0, w * t)
        c = float(np.sum(pv - wt))
        return w, c

    def _params_repr(self):
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self._params_repr()})"


class L1(Penalty):
    r""":math:`p(t) = t`: the Lasso / classical FGSM margin shift :math:`\lVert\beta\rVert_1`."""

    name = "l1"
    is_l1_type = True
    homogeneity = 1.0

    def pointwise(self, t):
        return np.asarray(t, float).copy()

    def derivative(self, t):
        return np.ones_like(np.asarray(t, float))

    def weights(self, p):
        return np.ones(p)


class WeightedL1(Penalty):
    r"""Weighted (adaptive) L1: :math:`p_j(t) = w_j t` with fixed non-negative weights ``weights``."""

    name = "weighted_l1"
    is_l1_type = True
    homogeneity = 1.0

    def __init__(self, weights):
        w = as_float_array(weights, "weights", ndim=1)
        if np.any(w < 0):
            raise ValueError("weights must be non-negative")
        self.weights_ = w

    def _check_coef(self, coef):
        coef = super()._check_coef(coef)
        if coef.shape[0] != self.weights_.shape[0]:
            raise ValueError(f"weights has {self.weights_.shape[0]} entries but coef has "
                             f"{coef.shape[0]}; they must match")
        return coef

    def pointwise(self, t):
        return self.weights_ * np.asarray(t, float)

    def derivative(self, t):
        return self.weights_ * np.ones_like(np.asarray(t, float))

    def weights(self, p):
        if p != self.weights_.shape[0]:
            raise ValueError(f"weights has {self.weights_.shape[0]} entries but X has {p} "
                             "columns; they must match")
        return self.weights_.copy()

    def _params_repr(self):
        return f"weights={self.weights_!r}"


class Bridge(Penalty):
    r"""Bridge / :math:`L_r` penalty :math:`p(t) = t^r` for any ``r > 0``.

    ``r = 1`` is :class:`L1`; ``r > 1`` is convex and differentiable (no exact zeros);
    ``r < 1`` is concave in :math:`t` (non-convex, infinite slope at 0).
    Direction: :math:`d_j = \mathrm{sign}(\beta_j)|\beta_j|^{r-1}`.
    """

    name = "bridge"

    def __init__(self, r):
        self.r = check_scalar(r, "r", low=0.0, low_inclusive=False)
        self.convex = self.r >= 1.0
        self.is_l1_type = self.r == 1.0
        self.homogeneity = self.r

    def pointwise(self, t):
        t = np.asarray(t, float)
        return t ** self.r

    def derivative(self, t):
        t = np.asarray(t, float)
        r = self.r
        if r == 1.0:
            return np.ones_like(t)
        with np.errstate(divide="ignore"):
            out = r * t ** (r - 1.0)
        if r < 1.0:
            out = np.where(t == 0, np.inf, out)
        return out

    def second_derivative(self, t):
        t = np.asarray(t, float)
        r = self.r
        with np.errstate(divide="ignore"):
            return r * (r - 1.0) * t ** (r - 2.0)

    def weights(self, p):
        if self.r != 1.0:  # pragma: no cover - guarded by callers
            raise ValueError("weights() only exists for r = 1")
        return np.ones(p)

    def _params_repr(self):
        return f"r={self.r:g}"


class SCAD(Penalty):
    r"""SCAD penalty of Fan & Li (2001) with threshold ``lam`` and shape ``a > 2`` (default 3.7):

    .. math::
        p(t) = \begin{cases} \lambda t & t \le \lambda \\
        \frac{2a\lambda t - t^2 - \lambda^2}{2(a-1)} & \lambda < t \le a\lambda \\
        \frac{\lambda^2(a+1)}{2} & t > a\lambda \end{cases}
    """

    name = "scad"
    convex = False

    def __init__(self, lam, a=3.7):
        self.lam = check_scalar(lam, "lam", low=0.0)
        self.a = check_scalar(a, "a", low=2.0, low_inclusive=False)

    def pointwise(self, t):
        t = np.asarray(t, float)
        lam, a = self.lam, self.a
        return np.where(t <= lam, lam * t,
                        np.where(t <= a * lam, (2 * a * lam * t - t * t - lam * lam) / (2 * (a - 1)),
                                 lam * lam * (a + 1) / 2))

    def derivative(self, t):
        t = np.asarray(t, float)
        lam, a = self.lam, self.a
        return np.where(t <= lam, lam, np.maximum(a * lam - t, 0.0) / (a - 1))

    def _params_repr(self):
        return f"lam={self.lam:g}, a={self.a:g}"


class MCP(Penalty):
    r"""Minimax concave penalty of Zhang (2010), threshold ``lam``, concavity ``gamma > 1`` (default 3):

    .. math:: p(t) = \lambda t - t^2/(2\gamma) \ (t \le \gamma\lambda), \qquad \gamma\lambda^2/2 \ (t > \gamma\lambda).
    """

    name = "mcp"
    convex = False

    def __init__(self, lam, gamma=3.0):
        self.lam = check_scalar(lam, "lam", low=0.0)
        self.gamma = check_scalar(gamma, "gamma", low=1.0, low_inclusive=False)

    def pointwise(self, t):
        t = np.asarray(t, float)
        lam, g = self.lam, self.gamma
        return np.where(t <= g * lam, lam * t - t * t / (2 * g), g * lam * lam / 2)

    def derivative(self, t):
        t = np.asarray(t, float)
        return np.maximum(self.lam - t / self.gamma, 0.0)

    def _params_repr(self):
        return f"lam={self.lam:g}, gamma={self.gamma:g}"


PENALTIES = {"l1": L1, "bridge": Bridge, "scad": SCAD, "mcp": MCP, "weighted_l1": WeightedL1}
_ALIASES = {"lasso": "l1", "lr": "bridge", "adaptive_l1": "weighted_l1", "weighted": "weighted_l1",
            "adaptive": "weighted_l1"}


def get_penalty(penalty="l1", **params) -> Penalty:
    """Return a :class:`Penalty` from an instance or a name.

    Parameters by name: ``"bridge"`` needs ``r``; ``"scad"`` needs ``lam`` (optional ``a``);
    ``"mcp"`` needs ``lam`` (optional ``gamma``); ``"weighted_l1"`` needs ``weights``.
    Parameters given as ``None`` are ignored (so estimators can pass all of theirs).
    Unknown names raise ``ValueError`` naming ``penalty``; ``r <= 0`` raises naming ``r``.
    """
    if isinstance(penalty, Penalty):
        return penalty
    if not isinstance(penalty, str):
        raise TypeError(f"penalty must be a string or a companion Penalty, got {type(penalty).__name__}")
    key = _ALIASES.get(penalty.lower(), penalty.lower())
    if key not in PENALTIES:
        raise ValueError(f"penalty must be one of {sorted(PENALTIES)} (or an alias "
                         f"{sorted(_ALIASES)}), got {penalty!r}")
    params = {k: v for k, v in params.items() if v is not None}
    if key == "l1":
        return L1()
    if key == "bridge":
        if "r" not in params:
            raise ValueError("penalty='bridge' needs the exponent r (r > 0)")
        return Bridge(params["r"])
    if key == "scad":
        if "lam" not in params:
            raise ValueError("penalty='scad' needs lam (its own threshold)")
        return SCAD(params["lam"], params.get("a", 3.7))
    if key == "mcp":
        if "lam" not in params:
            raise ValueError("penalty='mcp' needs lam (its own threshold)")
        return MCP(params["lam"], params.get("gamma", 3.0))
    if "weights" not in params:
        raise ValueError("penalty='weighted_l1' needs weights")
    return WeightedL1(params["weights"])
