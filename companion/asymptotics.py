r"""Asymptotic limits of :math:`\sqrt n(\hat\beta - \beta_0)` for FGSM training and penalized likelihood.

Population quantities at :math:`\beta_0` (book: chapter *The asymptotic distribution*), for the full
parameter :math:`\theta_0` (intercept first when the design has one; never penalized):

* :math:`I = E[b''(X'\beta_0)XX']`, :math:`\Sigma_W = E[\psi^2XX']`, :math:`W \sim N(0, \Sigma_W)`;
* :math:`\kappa = E|Y - \mu(X'\beta_0)|`;
* :math:`V = \nabla_\beta E|\psi(Y, X'\beta)|\,|_{\beta_0} = E[\mathrm{sign}(\mu_0 - Y)\,b''(X'\beta_0)X]`.

:func:`population_quantities` computes them in closed form (linear model with Gaussian covariates
and Gaussian/Laplace/t/centred-exponential noise: :math:`I = E[XX']`, :math:`\Sigma_W = \sigma^2 I`,
:math:`\kappa = E|e|`, :math:`V = -E[\mathrm{sign}(e)]E[X]`), by Gauss–Hermite quadrature over the
one-dimensional Gaussian linear predictor (logistic; Poisson uses a dense normal-weighted grid since
:math:`E[\mathrm{sign}(\mu - Y)\mid\eta]` jumps where :math:`\mu` crosses an integer), or by a large
seeded Monte Carlo (``method="mc"``, which also returns standard errors).

Limits (``eps = lam0/sqrt(n)`` for FGSM, ``alpha = lam0*sqrt(n)`` for the penalized likelihood
:math:`\sum_i\ell_i + \alpha P`; for ``r < 1`` the rates of Theorem C):

* ``r = 1`` (Theorem A / Lasso): argmin of
  :math:`-u'W + u'Iu/2 + \lambda_0\kappa\sum_j[u_j\mathrm{sign}(\beta_{0j})1\{\beta_{0j}\ne0\} + |u_j|1\{\beta_{0j}=0\}] + \lambda_0\lVert\beta_0\rVert_1u'V`
  (Lasso: :math:`\kappa = 1`, no :math:`V` term);
* ``r > 1`` (Theorem B): Gaussian, mean :math:`-I^{-1}\lambda_0(\kappa r\,\mathrm{sign}(\beta_0)|\beta_0|^{r-1} + P(\beta_0)V)`,
  covariance :math:`I^{-1}\Sigma_WI^{-1}`;
* ``0 < r < 1`` (Theorem C): argmin of :math:`-u'W + u'Iu/2 + \lambda_0\kappa\sum_{\beta_{0j}=0}|u_j|^r`
  (global minimizer, or the ``rule="local"`` descent variant).

Sums over :math:`j` run over penalized coordinates only; the intercept still enters :math:`V`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special, stats

from ._qp import bridge_min, lasso_kkt_violation, lasso_qp
from ._validation import check_scalar
from .designs import Design

__all__ = [
    "PopulationQuantities", "population_quantities", "draw_W", "limit_draws", "limit_objective_terms",
    "theorem_b_moments", "summarize_draws", "orthogonal_limit", "v_term_shift",
    "theorem_c_leftover_bias", "scad_support_bias", "lasso_kkt_violation",
]

_ESTIMATORS = {"fgsm": "fgsm", "penalized": "penalized", "lasso": "penalized", "bridge": "penalized",
               "likelihood": "penalized"}


@dataclass
class PopulationQuantities:
    """``I``, ``Sigma_W``, ``kappa``, ``V`` at ``theta0`` (intercept first if any) and how they were
    obtained (``method``); ``se`` holds Monte Carlo standard errors when ``method == "mc"``."""

    I: np.ndarray
    Sigma_W: np.ndarray
    kappa: float
    V: np.ndarray
    theta0: np.ndarray
    penalized: np.ndarray
    family: str
    method: str
    se: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return self.theta0.shape[0]

    @property
    def I_inv(self) -> np.ndarray:
        return np.linalg.inv(self.I)

    @property
    def asymptotic_cov(self) -> np.ndarray:
        r""":math:`I^{-1}\Sigma_W I^{-1}` (covariance of the unpenalized limit)."""
        Ii = self.I_inv
        return Ii @ self.Sigma_W @ Ii


# --------------------------------------------------------------------------- population
def _full_moments(design: Design):
    """Mean vector m, covariance Sigma of the *full* regressor (1, x) or x."""
    m = design.covariates.mean_vector
    C = design.covariates.cov
    if design.has_intercept:
        m = np.r_[1.0, m]
        C2 = np.zeros((design.dim, design.dim))
        C2[1:, 1:] = C
        C = C2
    return m, C


def _predictor_integrals(design: Design, funcs, nodes: str = "hermite", n_nodes: int = 100):
    r"""For each ``g`` in ``funcs`` return :math:`(E g(\eta), E[g(\eta)X], E[g(\eta)XX'])` for Gaussian
    covariates, reducing to 1-d integrals over the linear predictor :math:`\eta = \bar\eta + s t`:
    :math:`X = m + c\,t + Z` with :math:`c = \Sigma\theta/s` and :math:`Z` independent of :math:`t`,
    :math:`\mathrm{Cov}(Z) = \Sigma - cc'`."""
    theta = design.theta0
    m, C = _full_moments(design)
    eta_bar = float(m @ theta)
    s = float(math.sqrt(max(theta @ C @ theta, 0.0)))
    if nodes == "hermite":
        tt, w = np.polynomial.hermite_e.hermegauss(n_nodes)
        w = w / math.sqrt(2.0 * math.pi)
    else:  # dense grid with normal weights (for integrands with jumps)
        tt = np.linspace(-9.0, 9.0, 36001)
        w = stats.norm.pdf(tt) * (tt[1] - tt[0])
        w /= w.sum()
    c = C @ theta / s if s > 0 else np.zeros_like(theta)
    resid = C - np.outer(c, c)
    out = []
    for g in funcs:
        gv = g(eta_bar + s * tt)
        e0 = float(np.sum(w * gv))
        e1 = float(np.sum(w * gv * tt))
        e2 = float(np.sum(w * gv * tt * tt))
        Ex = e0 * m + e1 * c
        Exx = e0 * (resid + np.outer(m, m)) + e1 * (np.outer(m, c) + np.outer(c, m)) + e2 * np.outer(c, c)
        out.append((e0, Ex, 0.5 * (Exx + Exx.T)))
    return out


def _poisson_abs_and_sign(mu):
    """E|Y - mu| and E sign(mu - Y) for Y ~ Poisson(mu), vectorized over mu."""
    mu = np.asarray(mu, float)
    k = np.floor(mu)
    Fk = stats.poisson.cdf(k, mu)                 # P(Y <= floor mu)
    pk = stats.poisson.pmf(k, mu)
    # E|Y-mu| = 2 E[(mu - Y)_+] = 2 (mu F(k) - E[Y 1{Y<=k}]) and E[Y 1{Y<=k}] = mu F(k-1)
    Fkm1 = stats.poisson.cdf(k - 1, mu)
    eabs = 2.0 * (mu * Fk - mu * Fkm1)
    at = np.isclose(mu, k)                        # P(Y = mu) when mu is an integer: sign 0
    p_less = np.where(at, Fk - pk, Fk)
    p_greater = 1.0 - Fk
    return eabs, p_less - p_greater


def population_quantities(design: Design, method: str = "auto", *, n_mc: int = 400_000, seed: int = 0,
                          n_nodes: int = 100) -> PopulationQuantities:
    """Population ``I, Sigma_W, kappa, V`` of ``design``.

    ``method``: ``"auto"`` (closed form for the linear model, Gauss–Hermite quadrature for logistic,
    dense-grid quadrature for Poisson; all exact up to quadrature error ~1e-12 for Gaussian
    covariates) or ``"mc"`` (seeded Monte Carlo with ``n_mc`` draws; ``.se`` has standard errors of
    ``kappa`` and ``V``).
    """
    if method not in ("auto", "mc", "closed", "quadrature"):
        raise ValueError(f"method must be 'auto' or 'mc', got {method!r}")
    theta0 = design.theta0
    if method == "mc":
        return _population_mc(design, n_mc, seed)
    fam = design.family
    if fam == "gaussian":
        m, C = _full_moments(design)
        I = C + np.outer(m, m)
        nz = design.noise
        return PopulationQuantities(I, nz.sigma ** 2 * I, nz.abs_mean, -nz.mean_sign * m, theta0,
                                    design.penalized, fam, "closed form")
    if fam == "bernoulli":
        def w(eta):
            mu = special.expit(eta)
            return mu * (1.0 - mu)
        (k0, _, _), (_, _, I), (_, V, _) = _predictor_integrals(
            design, [lambda e: 2.0 * w(e), w, lambda e: (1.0 - 2.0 * special.expit(e)) * w(e)],
            n_nodes=n_nodes)
        return PopulationQuantities(I, I.copy(), k0, V, theta0, design.penalized, fam,
                                    "Gauss-Hermite quadrature over the linear predictor")
    # poisson
    (k0, _, _), (_, _, I), (_, V, _) = _predictor_integrals(
        design, [lambda e: _poisson_abs_and_sign(np.exp(e))[0], np.exp,
                 lambda e: _poisson_abs_and_sign(np.exp(e))[1] * np.exp(e)], nodes="grid")
    return PopulationQuantities(I, I.copy(), k0, V, theta0, design.penalized, fam,
                                "normal-weighted grid quadrature over the linear predictor")


def _population_mc(design: Design, n_mc: int, seed: int) -> PopulationQuantities:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x5EED, 7)))
    X, y = design.sample(n_mc, rng, add_intercept=design.has_intercept)
    eta = (X * design.theta0).sum(axis=1)
    if design.family == "gaussian":
        mu, bpp = eta, np.ones_like(eta)
    elif design.family == "bernoulli":
        mu = special.expit(eta)
        bpp = mu * (1.0 - mu)
    else:
        mu = np.exp(eta)
        bpp = mu
    psi = mu - y
    I = (X * bpp[:, None]).T @ X / n_mc
    Sw = (X * (psi ** 2)[:, None]).T @ X / n_mc
    a = np.abs(psi)
    vcontrib = (np.sign(psi) * bpp)[:, None] * X
    se = {"kappa": float(a.std(ddof=1) / math.sqrt(n_mc)),
          "V": vcontrib.std(axis=0, ddof=1) / math.sqrt(n_mc)}
    return PopulationQuantities(0.5 * (I + I.T), 0.5 * (Sw + Sw.T), float(a.mean()), vcontrib.mean(axis=0),
                                design.theta0, design.penalized, design.family,
                                f"Monte Carlo (n={n_mc}, seed={seed})", se)


# --------------------------------------------------------------------------- limits
def draw_W(pq: PopulationQuantities, n_draws: int, seed=0) -> np.ndarray:
    r"""``n_draws`` rows of :math:`W \sim N(0, \Sigma_W)` (seeded)."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    L = np.linalg.cholesky(pq.Sigma_W)
    return rng.standard_normal((int(n_draws), pq.dim)) @ L.T


def _est(estimator):
    e = _ESTIMATORS.get(str(estimator).lower())
    if e is None:
        raise ValueError(f"estimator must be 'fgsm' or 'penalized' (aliases: lasso, bridge), got {estimator!r}")
    return e


def limit_objective_terms(pq: PopulationQuantities, lam0: float, r: float = 1.0, estimator: str = "fgsm"):
    r"""The limit objective as :math:`u'Iu/2 - u'(W - \ell) + \sum_j t_j\rho(u_j)`: returns
    ``(ell, t)``, the linear shift ``ell`` and per-coordinate weights ``t`` of the non-smooth part
    (``t`` is zero except on penalized zero coefficients when ``r <= 1``)."""
    lam0 = check_scalar(lam0, "lam0", low=0.0)
    r = check_scalar(r, "r", low=0.0, low_inclusive=False)
    est = _est(estimator)
    kappa = pq.kappa if est == "fgsm" else 1.0
    th, pen = pq.theta0, pq.penalized
    zero = pen & (th == 0)
    nonzero = pen & (th != 0)
    ell = np.zeros(pq.dim)
    t = np.zeros(pq.dim)
    if r < 1.0:
        t[zero] = lam0 * kappa
        return ell, t
    grad = np.zeros(pq.dim)
    grad[nonzero] = r * np.sign(th[nonzero]) * np.abs(th[nonzero]) ** (r - 1.0)
    ell += lam0 * kappa * grad
    if est == "fgsm":
        ell += lam0 * float(np.sum(np.abs(th[pen]) ** r)) * pq.V
    if r == 1.0:
        t[zero] = lam0 * kappa
    return ell, t


def limit_draws(pq: PopulationQuantities, lam0: float, *, r: float = 1.0, estimator: str = "fgsm",
                n_draws: int = 4000, seed=0, rule: str = "global", W=None) -> np.ndarray:
    r"""Draws from the limit law of :math:`\sqrt n(\hat\theta - \theta_0)`: rows of
    :math:`\arg\min_u\, -u'W + u'Iu/2 + \text{penalty terms}` for ``n_draws`` draws of ``W``
    (or the given ``W``).

    ``r = 1``: Theorem A (``estimator="fgsm"``) or the Lasso limit (``"penalized"``), solved exactly
    per draw (``companion._qp.lasso_qp``: coordinate descent + exact polish + KKT check; exact
    zeros).  ``r > 1``: Theorem B (Gaussian).  ``0 < r < 1``: Theorem C, ``rule="global"`` (global
    argmin by support enumeration) or ``"local"`` (descent from the unpenalized solution).
    """
    if W is None:
        W = draw_W(pq, n_draws, seed)
    W = np.atleast_2d(np.asarray(W, float))
    ell, t = limit_objective_terms(pq, lam0, r, estimator)
    H = W - ell
    if r > 1.0 or not np.any(t > 0):
        return np.linalg.solve(pq.I, H.T).T
    if r == 1.0:
        return lasso_qp(pq.I, H, t)
    return bridge_min(pq.I, H, t, r, rule=rule)


def theorem_b_moments(pq: PopulationQuantities, lam0: float, r: float, estimator: str = "fgsm"):
    r"""Mean and covariance of the Gaussian limit for ``r > 1`` (Theorem B):
    :math:`-I^{-1}\lambda_0(\kappa r\,\mathrm{sign}(\beta_0)|\beta_0|^{r-1} + P(\beta_0)V)` and
    :math:`I^{-1}\Sigma_WI^{-1}` (penalized likelihood: :math:`\kappa = 1`, no :math:`V`)."""
    if r <= 1.0:
        raise ValueError("theorem_b_moments needs r > 1")
    ell, _ = limit_objective_terms(pq, lam0, r, estimator)
    return -np.linalg.solve(pq.I, ell), pq.asymptotic_cov


def summarize_draws(draws) -> dict:
    """Predicted ``bias`` (mean), ``variance``, ``cov``, ``mse`` per coordinate and ``p_zero``
    (fraction of exact zeros), with Monte Carlo standard errors ``bias_se``, ``p_zero_se``."""
    D = np.atleast_2d(np.asarray(draws, float))
    m = D.shape[0]
    pz = (D == 0).mean(axis=0)
    return {"bias": D.mean(axis=0), "variance": D.var(axis=0, ddof=1), "cov": np.cov(D.T, ddof=1),
            "mse": (D ** 2).mean(axis=0), "p_zero": pz,
            "bias_se": D.std(axis=0, ddof=1) / math.sqrt(m), "p_zero_se": np.sqrt(pz * (1 - pz) / m),
            "n_draws": m}


def orthogonal_limit(pq: PopulationQuantities, lam0: float, estimator: str = "fgsm", *, atol: float = 1e-10) -> dict:
    r"""Closed-form ``bias``, ``variance`` and ``p_zero`` of the ``r = 1`` limit when ``I`` is diagonal.

    Coordinate-wise :math:`u_j = \mathrm{soft}(W_j - \ell_j, t_j)/I_{jj}` with
    :math:`W_j - \ell_j \sim N(-\ell_j, \Sigma_{W,jj})`, :math:`\ell_j = \lambda_0\kappa\,\mathrm{sign}(\beta_{0j})1\{\beta_{0j}\ne0\} + \lambda_0\lVert\beta_0\rVert_1V_j`
    and :math:`t_j = \lambda_0\kappa` on zero coefficients (0 elsewhere).
    """
    I = pq.I
    if np.max(np.abs(I - np.diag(np.diag(I)))) > atol * np.max(np.abs(I)):
        raise ValueError("orthogonal_limit needs a diagonal information matrix I")
    ell, t = limit_objective_terms(pq, lam0, 1.0, estimator)
    mu = -ell
    sd = np.sqrt(np.diag(pq.Sigma_W))
    dI = np.diag(I)
    a = (mu - t) / sd            # upper tail: Z - t > 0
    b = (-mu - t) / sd           # lower tail: -Z - t > 0
    Phi, phi = stats.norm.cdf, stats.norm.pdf
    e_up = (mu - t) * Phi(a) + sd * phi(a)
    e_lo = (-mu - t) * Phi(b) + sd * phi(b)
    s_up = ((mu - t) ** 2 + sd ** 2) * Phi(a) + (mu - t) * sd * phi(a)
    s_lo = ((-mu - t) ** 2 + sd ** 2) * Phi(b) + (-mu - t) * sd * phi(b)
    mean = (e_up - e_lo) / dI
    second = (s_up + s_lo) / dI ** 2
    p_zero = np.where(t > 0, Phi((t - mu) / sd) - Phi((-t - mu) / sd), 0.0)
    return {"bias": mean, "variance": second - mean ** 2, "mse": second, "p_zero": p_zero}


def v_term_shift(pq: PopulationQuantities, lam0: float) -> np.ndarray:
    r"""The part of the FGSM limit due to the :math:`V` term, :math:`-\lambda_0\lVert\beta_0\rVert_1I^{-1}V`.

    When every penalized coefficient is nonzero this is *exactly* the mean difference between the
    FGSM limit at ``lam0`` and the Lasso limit at ``lam0 * kappa`` (both are then Gaussian)."""
    l1 = float(np.sum(np.abs(pq.theta0[pq.penalized])))
    return -lam0 * l1 * np.linalg.solve(pq.I, pq.V)


def theorem_c_leftover_bias(pq: PopulationQuantities, n: int, lam0: float, r: float,
                            estimator: str = "fgsm", support_only: bool = False) -> np.ndarray:
    r"""Finite-``n`` bias of :math:`\sqrt n(\hat\theta-\theta_0)` left by the vanishing terms of
    Theorem C: :math:`-n^{(r-1)/2}\lambda_0I^{-1}(\kappa r\,\mathrm{sign}(\beta_0)|\beta_0|^{r-1} + P(\beta_0)V)`
    (penalized likelihood: :math:`\kappa = 1`, no :math:`V`).

    This shift is for a solution whose zero coefficients are free (estimated nonzero).  On the event
    that they are estimated as exactly 0, only the block :math:`S` (intercept and nonzero
    coefficients) moves: ``support_only=True`` returns :math:`-n^{(r-1)/2}\lambda_0 I_{SS}^{-1}g_S`
    and 0 on the zero coefficients."""
    r = check_scalar(r, "r", low=0.0, low_inclusive=False)
    est = _est(estimator)
    kappa = pq.kappa if est == "fgsm" else 1.0
    th, pen = pq.theta0, pq.penalized
    nz = pen & (th != 0)
    g = np.zeros(pq.dim)
    g[nz] = kappa * r * np.sign(th[nz]) * np.abs(th[nz]) ** (r - 1.0)
    if est == "fgsm":
        g = g + float(np.sum(np.abs(th[pen]) ** r)) * pq.V
    scale = -(float(n) ** ((r - 1.0) / 2.0)) * lam0
    if not support_only:
        return scale * np.linalg.solve(pq.I, g)
    idx = np.flatnonzero((~pen) | (th != 0))
    out = np.zeros(pq.dim)
    out[idx] = scale * np.linalg.solve(pq.I[np.ix_(idx, idx)], g[idx])
    return out


def scad_support_bias(pq: PopulationQuantities, n: int, lam_n: float, a: float = 3.7) -> np.ndarray:
    r"""SCAD-FGSM (``eps = 1``) bias of :math:`\sqrt n(\hat\theta_S - \theta_{0S})` on the support:
    :math:`-\sqrt n\,|S|(a+1)\lambda_n^2/2\; I_{SS}^{-1}V_S`, where :math:`(a+1)\lambda_n^2/2` is the
    SCAD penalty of each coefficient with :math:`|\beta_{0j}| > a\lambda_n`, :math:`|S|` counts the
    penalized nonzero coefficients and the block ``S`` also holds the (unpenalized) intercept.
    Returns a full-length vector (zeros off the support)."""
    th, pen = pq.theta0, pq.penalized
    Sset = (~pen) | (th != 0)
    nS = int(np.sum(pen & (th != 0)))
    if np.any(np.abs(th[pen & (th != 0)]) <= a * lam_n):
        raise ValueError("the formula needs |beta0_j| > a * lam_n on the support")
    out = np.zeros(pq.dim)
    idx = np.flatnonzero(Sset)
    out[idx] = -math.sqrt(n) * nS * (a + 1.0) * lam_n ** 2 / 2.0 * np.linalg.solve(pq.I[np.ix_(idx, idx)], pq.V[idx])
    return out
