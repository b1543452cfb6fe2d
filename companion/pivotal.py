r"""A pivotal (tuning-free) FGSM radius: the ``eps`` at which the FGSM fit sets every noise-only
coefficient to zero with probability at least :math:`1-\alpha`, without an estimate of
:math:`\sigma`.

Zero condition (linear model, sum form)
---------------------------------------
The FGSM linear objective is :math:`L(b, b_0) = \sum_i(|r_i| + \varepsilon T)^2/2` with
:math:`r_i = y_i - b_0 - x_i'b` and :math:`T = \lVert b\rVert_1`.  For a coordinate :math:`j` with
:math:`\hat b_j = 0` the subgradient condition at the fit is

.. math:: |X_j'\tilde r| \le \varepsilon\lVert\tilde r\rVert_1, \qquad
          \tilde r_i = \mathrm{sign}(r_i)(|r_i| + \varepsilon T),

i.e. the condition of :func:`companion.paths.eps_max` written with the *adversarial* residuals
:math:`\tilde r` (:func:`zero_condition_check` verifies the algebra with sympy).  At :math:`b = 0`
(noise-only model, :math:`T = 0`) it reads :math:`\max_j |X_j'e|/\lVert e\rVert_1 \le \varepsilon`
with centred columns and noise when an intercept is fitted.  The ratio does not change when
:math:`e` is multiplied by a constant, so its law does not depend on :math:`\sigma`; by the CLT,
:math:`X_j'e/\lVert e\rVert_1 \approx N(0, \lVert X_j\rVert^2)/(n\rho)` with
:math:`\rho = E|e|/\mathrm{sd}(e)`, and a Bonferroni bound gives

.. math:: \varepsilon_{\mathrm{piv}} = c\,\Phi^{-1}\!\Big(1 - \frac{\alpha}{2p}\Big)
          \frac{\max_j\lVert X_j\rVert_2}{n\,\rho}.

:math:`\rho` is the only trace of the noise law: :math:`\sqrt{2/\pi}` (Gaussian),
:math:`1/\sqrt2` (Laplace), :math:`\rho_\nu` for Student :math:`t_\nu` (:func:`abs_sd_ratio`).
``noise="estimate"`` replaces it by :math:`\hat\rho = \overline{|r|}/\sqrt{\overline{r^2}}` of the
residuals of a preliminary fit at the Gaussian level (the ratio is scale-free, so the rule stays
pivotal); ``method="simulation"`` replaces the normal/Bonferroni quantile by the simulated
:math:`(1-\alpha)` quantile of :math:`\max_j|X_j'e|/\lVert e\rVert_1` given ``X`` (noise drawn from the
law, or resampled from the preliminary residuals with ``noise="estimate"``).

With signal present, :math:`T > 0` adds :math:`\varepsilon T` to every :math:`|r_i|`: the pivot is
then that of the law of :math:`|e| + \varepsilon T`, whose :math:`\rho` is closer to 1, so the
rule is *conservative* (fewer false positives than :math:`\alpha`) by an amount that grows with
:math:`\varepsilon\lVert\beta\rVert_1/E|e|`; :func:`second_order_fwer` gives the prediction.

Logistic model: at :math:`\beta = 0`, :math:`\psi_i = \bar y - y_i` has
:math:`E|\psi| / \mathrm{sd}(\psi) = 2\sqrt{\bar y(1-\bar y)}`, so the same formula applies with that
:math:`\rho` (null-model level).
"""
from __future__ import annotations

import math
import numbers

import numpy as np
from scipy import special, stats

from ._validation import as_float_array, check_scalar

__all__ = ["pivotal_eps", "abs_sd_ratio", "noise_only_pivot", "second_order_fwer", "resolve_eps",
           "zero_condition_check", "abs_sd_ratio_check", "NOISE_LAWS"]

NOISE_LAWS = ("gaussian", "laplace", "t", "estimate")
_METHODS = ("asymptotic", "simulation")


def abs_sd_ratio(noise="gaussian", df: float = 5.0) -> float:
    r""":math:`\rho = E|e|/\mathrm{sd}(e)` of a noise law: ``"gaussian"`` :math:`\sqrt{2/\pi}`,
    ``"laplace"`` :math:`1/\sqrt2`, ``"t"`` (``df > 2``)
    :math:`\frac{2\sqrt{\nu-2}\,\Gamma((\nu+1)/2)}{\sqrt\pi(\nu-1)\Gamma(\nu/2)}`, or a number in (0, 1]."""
    if isinstance(noise, numbers.Real) and not isinstance(noise, bool):
        return check_scalar(noise, "noise", low=0.0, low_inclusive=False, high=1.0)
    if not isinstance(noise, str):
        raise TypeError(f"noise must be a string or a number in (0, 1], got {type(noise).__name__}")
    if noise == "gaussian":
        return math.sqrt(2.0 / math.pi)
    if noise == "laplace":
        return 1.0 / math.sqrt(2.0)
    if noise == "t":
        nu = check_scalar(df, "df", low=2.0, low_inclusive=False)
        return 2.0 * math.sqrt(nu - 2.0) * math.exp(special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2)) / (
            math.sqrt(math.pi) * (nu - 1.0))
    raise ValueError(f"noise must be one of {NOISE_LAWS[:3]} or a number in (0, 1] here, got {noise!r}")


def _check_alpha(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a real number in (0, 1), got {type(alpha).__name__}")
    alpha = float(alpha)
    if not (0.0 < alpha < 1.0):
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    return alpha


def _centred(X, fit_intercept):
    return X - X.mean(axis=0) if fit_intercept else X


def _draw(noise, df, size, rng, pool=None):
    if pool is not None:
        return pool[rng.integers(0, pool.size, size=size)]
    if noise == "gaussian":
        return rng.standard_normal(size)
    if noise == "laplace":
        return rng.laplace(0.0, 1.0, size)
    if noise == "t":
        return rng.standard_t(df, size)
    raise ValueError(f"method='simulation' needs a named noise law or 'estimate', got {noise!r}")


def noise_only_pivot(X, e, fit_intercept: bool = True) -> np.ndarray:
    r"""The pivot :math:`\max_j|X_j'e|/\lVert e\rVert_1` (centred when ``fit_intercept``) for each
    column of ``e`` (shape ``(n,)`` or ``(n, m)``): the smallest ``eps`` at which the FGSM fit of the
    noise-only data ``y = e`` is all zero (:func:`companion.paths.eps_max`)."""
    X = as_float_array(X, "X", ndim=2)
    e = np.asarray(e, float)
    one = e.ndim == 1
    E = e[:, None] if one else e
    if E.shape[0] != X.shape[0]:
        raise ValueError(f"e has {E.shape[0]} rows but X has {X.shape[0]}; they must match")
    Xc = _centred(X, fit_intercept)
    Ec = E - E.mean(axis=0) if fit_intercept else E
    num = np.abs(Xc.T @ Ec).max(axis=0)
    den = np.abs(Ec).sum(axis=0)
    out = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return float(out[0]) if one else out


def pivotal_eps(X, alpha: float = 0.05, *, noise="gaussian", df: float = 5.0, c: float = 1.0,
                method: str = "asymptotic", fit_intercept: bool = True, y=None, n_sim: int = 2000,
                random_state=0) -> float:
    r"""Pivotal FGSM radius (sum form, linear model; see the module docstring).

    Parameters
    ----------
    X : array (n, p)
    alpha : float in (0, 1)
        Target probability that at least one noise-only coefficient is nonzero (family-wise).
    noise : {"gaussian", "laplace", "t", "estimate"} or float in (0, 1]
        Noise law (through :math:`\rho = E|e|/\mathrm{sd}(e)`), a value of :math:`\rho`, or
        ``"estimate"`` (needs ``y``): :math:`\rho` from the residuals of a preliminary FGSM fit at the
        Gaussian level, so no noise law is assumed.
    df : float > 2
        Degrees of freedom of ``noise="t"``.
    c : float > 0
        Multiplier (1 gives the level; :cite:t:`belloni2011square` use 1.1 for their rates).
    method : {"asymptotic", "simulation"}
        Normal quantile with Bonferroni over the ``p`` columns, or the simulated :math:`1-\alpha`
        quantile of the pivot given ``X`` (``n_sim`` draws, ``random_state``).
    fit_intercept : bool
        Centre the columns (and the noise) as the intercept's optimality does.
    y : array (n,), optional
        Response; only used by ``noise="estimate"``.  Multiplying ``y`` by a constant does not change
        the result.
    """
    X = as_float_array(X, "X", ndim=2)
    alpha = _check_alpha(alpha)
    c = check_scalar(c, "c", low=0.0, low_inclusive=False)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be a bool, got {type(fit_intercept).__name__}")
    n, p = X.shape
    Xc = _centred(X, fit_intercept)
    pool = None
    if isinstance(noise, str) and noise == "estimate":
        if y is None:
            raise ValueError("noise='estimate' needs y (the response) to estimate E|e|/sd(e)")
        y = as_float_array(y, "y", ndim=1)
        if y.shape[0] != n:
            raise ValueError(f"y has {y.shape[0]} entries but X has {n} rows; they must match")
        from .estimators import GeneralizedFGSM
        eps0 = pivotal_eps(X, alpha, noise="gaussian", c=c, fit_intercept=fit_intercept)
        est = GeneralizedFGSM(eps=eps0, fit_intercept=bool(fit_intercept)).fit(X, y)
        r = y - est.predict(X)
        if fit_intercept:
            r = r - r.mean()
        ms = float(np.mean(r * r))
        if ms == 0.0:
            rho = math.sqrt(2.0 / math.pi)
        else:
            rho = float(np.mean(np.abs(r)) / math.sqrt(ms))
        pool = r / math.sqrt(ms) if ms > 0 else None
    else:
        rho = abs_sd_ratio(noise, df)
    if method == "asymptotic":
        z = stats.norm.isf(alpha / (2.0 * p))
        return float(c * z * np.sqrt((Xc * Xc).sum(axis=0)).max() / (n * rho))
    if isinstance(n_sim, bool) or not isinstance(n_sim, numbers.Integral) or n_sim < 10:
        raise ValueError(f"n_sim must be an integer >= 10, got {n_sim!r}")
    rng = np.random.default_rng(random_state)
    if pool is None and not isinstance(noise, str):
        raise ValueError("method='simulation' needs a named noise law or noise='estimate', not a number")
    piv = np.empty(n_sim)
    step = 250
    for s in range(0, n_sim, step):
        m = min(step, n_sim - s)
        E = _draw(noise, df, (n, m), rng, pool)
        piv[s:s + m] = noise_only_pivot(Xc, E, fit_intercept)
    return float(c * np.quantile(piv, 1.0 - alpha))


def second_order_fwer(eps: float, X, shift: float, noise="gaussian", df: float = 5.0, n_null=None,
                      fit_intercept: bool = True, sigma: float = 1.0) -> float:
    r"""Predicted probability that at least one of the ``n_null`` noise-only coefficients is nonzero
    when the adversarial residuals are :math:`\mathrm{sign}(e)(|e| + \delta)`, ``shift`` =
    :math:`\delta = \varepsilon\lVert\hat\beta\rVert_1`: normal approximation of
    :math:`X_j'\tilde r/\lVert\tilde r\rVert_1` with :math:`E\tilde r^2 = \sigma^2 + 2\delta E|e| + \delta^2`,
    :math:`E|\tilde r| = E|e| + \delta`, columns independent.  ``shift = 0`` is the first-order level."""
    X = as_float_array(X, "X", ndim=2)
    n, p = X.shape
    n_null = p if n_null is None else int(n_null)
    kappa = abs_sd_ratio(noise, df) * sigma
    m2 = sigma ** 2 + 2.0 * shift * kappa + shift ** 2
    m1 = kappa + shift
    norms = np.sqrt((_centred(X, fit_intercept) ** 2).sum(axis=0))
    norms = np.sort(norms)[:n_null] if n_null < p else norms
    zj = eps * n * m1 / (norms * math.sqrt(m2))
    q = 2.0 * stats.norm.sf(zj)
    return float(1.0 - np.prod(1.0 - q))


def resolve_eps(eps, X, y, family: str, fit_intercept: bool) -> float:
    """``eps`` for :class:`~companion.estimators.GeneralizedFGSM`: a number is returned as is; the
    string ``"pivotal"`` gives :func:`pivotal_eps` at ``alpha = 0.05`` (Gaussian :math:`\\rho`) for the
    linear model and the null-model level for the logistic model (``rho = 2 sqrt(ybar (1 - ybar))``)."""
    if isinstance(eps, str):
        if eps != "pivotal":
            raise TypeError(f"eps must be a number >= 0 or 'pivotal', got {eps!r}")
        if family == "gaussian":
            return pivotal_eps(X, 0.05, fit_intercept=fit_intercept)
        if family == "bernoulli":
            ybar = float(np.mean(y))
            rho = 2.0 * math.sqrt(ybar * (1.0 - ybar))
            return pivotal_eps(X, 0.05, noise=rho, fit_intercept=fit_intercept)
        raise ValueError(f"eps='pivotal' is available for the gaussian and bernoulli families, not {family!r}")
    return eps


# --------------------------------------------------------------------------- sympy checks
def zero_condition_check(n: int = 3) -> bool:
    r"""sympy: for :math:`n` observations with residual signs :math:`s_i` and sizes :math:`a_i > 0`,
    the one-sided derivatives of :math:`t\mapsto\sum_i(|a_is_i - x_it| + \varepsilon(T + |t|))^2/2` at
    :math:`t = 0` are :math:`\mp X'\tilde r + \varepsilon\lVert\tilde r\rVert_1` with
    :math:`\tilde r_i = s_i(a_i + \varepsilon T)`; so 0 is optimal iff
    :math:`|X'\tilde r|\le\varepsilon\lVert\tilde r\rVert_1`.  Checked for every sign pattern."""
    import itertools

    import sympy as sp

    t, eps, T = sp.symbols("t varepsilon T", positive=True)
    a = sp.symbols(f"a1:{n + 1}", positive=True)
    x = sp.symbols(f"x1:{n + 1}", real=True)
    h = sp.symbols("h", positive=True)
    for signs in itertools.product((1, -1), repeat=n):
        rt = [s * (ai + eps * T) for s, ai in zip(signs, a)]
        xr = sum(xi * r for xi, r in zip(x, rt))
        l1 = sum(ai + eps * T for ai in a)
        for direction in (1, -1):
            # for small h > 0 the residual a_i s_i - x_i d h keeps its sign: |.| = s_i (a_i s_i - x_i d h)
            f = sum((s * (ai * s - xi * direction * h) + eps * (T + h)) ** 2 / 2
                    for s, ai, xi in zip(signs, a, x))
            deriv = sp.diff(f, h).subs(h, 0)
            if sp.simplify(deriv - (-direction * xr + eps * l1)) != 0:
                return False
    return True


def abs_sd_ratio_check() -> dict:
    r"""sympy: :math:`E|e|/\mathrm{sd}(e)` by integration for the Gaussian, Laplace and :math:`t_5`
    laws, against :func:`abs_sd_ratio`; returns ``{law: (sympy value, float, agrees)}``."""
    import sympy as sp

    u = sp.symbols("u", real=True)
    out = {}
    dens = {
        "gaussian": sp.exp(-u ** 2 / 2) / sp.sqrt(2 * sp.pi),
        "laplace": sp.exp(-sp.Abs(u)) / 2,
        "t": sp.gamma(3) / (sp.sqrt(5 * sp.pi) * sp.gamma(sp.Rational(5, 2))) * (1 + u ** 2 / 5) ** -3,
    }
    for law, f in dens.items():
        fpos = f.subs(sp.Abs(u), u) if law == "laplace" else f
        m1 = 2 * sp.integrate(u * fpos, (u, 0, sp.oo))
        m2 = 2 * sp.integrate(u ** 2 * fpos, (u, 0, sp.oo))
        val = sp.simplify(m1 / sp.sqrt(m2))
        num = float(val)
        out[law] = (val, num, abs(num - abs_sd_ratio(law, 5.0)) < 1e-12)
    return out
