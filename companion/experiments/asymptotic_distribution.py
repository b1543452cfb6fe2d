r"""Experiment of the chapter *The asymptotic distribution* (``notebooks/asymptotic_distribution.ipynb``).

The simulated law of :math:`\sqrt n(\hat\theta - \theta_0)` of FGSM training with
``eps = lam0 / sqrt(n)`` (``r >= 1``) or ``n eps = lam0 n^(r/2)`` (``r < 1``, Theorem C)
(``companion.estimators.GeneralizedFGSM``, run through ``companion.montecarlo``) is compared with
draws from the limit laws of :mod:`companion.asymptotics`:

* ``A_linear``: Theorem A (L1), linear model, ``beta0 = (1, 0.5, 0)``, ``X ~ N(1, I)``, centred
  Exp(1) noise (so :math:`V = -E[\mathrm{sign}(e)]E[X] \ne 0`), no intercept;
* ``A_logistic``: Theorem A, ``X = (1, N(0,1), N(0,1))``, ``theta0 = (-1.5, 1, 0)``, intercept
  unpenalized (unbalanced: :math:`V \ne 0`);
* ``B_linear``: Theorem B with ``r = 2`` (margin shift :math:`\lVert\beta\rVert_2^2`) on the linear
  design above: a Gaussian limit;
* ``C_linear``: Theorem C with ``r = 1/2`` on the linear design, :math:`n\varepsilon_n = \lambda_0n^{1/4}`.
  The limit :math:`\arg\min_u -u'W + u'Iu/2 + \lambda_0\kappa|u_3|^{1/2}` is non-convex; it is drawn
  under both rules of ``limit_draws``: ``"local"`` (descent from the unpenalized solution, which is
  what LLA from the L1 start computes in the limit: :func:`lla_limit_draws` checks this draw by
  draw) and ``"global"`` (the true argmin).  The fit (:class:`BridgeCandidatesFit`) also returns the
  better, in FGSM objective, of the LLA fit and the fit with the zero coefficient removed: the
  finite-``n`` counterpart of the global rule.

Theorems A and B are also compared with the *V-less* limit (the same limit with the :math:`V` term
dropped), which must be rejected.  In Theorem C, :math:`V` enters only through the leftover bias
(``companion.asymptotics.theorem_c_leftover_bias``, of order :math:`n^{(r-1)/2}`), so the limit
with and without it is the same law and there is no V-less contrast; the leftover bias is reported.

Reference values: the means, SDs and point masses of the limit laws are computed exactly where a closed
form exists (:func:`exact_moments`: Theorem B is Gaussian, :func:`companion.asymptotics.theorem_b_moments`;
Theorem A with one non-smooth coordinate reduces to a soft-thresholded normal,
:func:`theorem_a_exact_moments`); the limit draws are then a check of those values, and they are the
reference only where no closed form exists (Theorem C, and the KS tests of the whole law).

Tests: means and standard deviations (z scores from Monte Carlo standard errors),
the point mass at 0 of zero coefficients (two-proportion z test), two-sample Kolmogorov–Smirnov
tests per coordinate at level 1% (for coordinates with an atom at 0, on the nonzero parts), and a
Wald (chi-square) test of the whole mean vector.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ..asymptotics import (draw_W, limit_draws, limit_objective_terms, population_quantities, summarize_draws,
                           theorem_b_moments, theorem_c_leftover_bias)
from ..designs import linear_design, logistic_design
from ..montecarlo import Setting, run_experiment
from ..report import fmt, fmt_vec, verdict
from .root_n_consistency import _cache_dir, estimator_salt

__all__ = ["SCALES", "settings_spec", "eps_rate", "AsympFit", "BridgeCandidatesFit", "lla_limit_draws",
           "theorem_a_exact_moments", "exact_moments", "compare_laws", "AsymptoticResult", "run", "summarize",
           "config", "spot_setting", "convergence"]

SCALES = {"quick": {"n": 4000, "reps": 400}, "full": {"n": 20000, "reps": 2000}}
LAM0 = 1.0
SEED = 20180427
N_DRAWS = 40_000
N_BOOT = 1000
Z_TOL = 3.0
ALPHA = 0.01
#: display floor of p-values (a smaller p is shown as "< 1e-4": its digits are not reproducible)
P_FLOOR = 1e-4
#: tolerance of the LLA-versus-local-rule check (both solvers stop at ~1e-13)
LLA_TOL = 1e-8


def settings_spec() -> dict:
    """name -> (design, penalty exponent r)."""
    lin = linear_design((1.0, 0.5, 0.0), noise="exponential", sigma=1.0, mean=1.0, name="linear-exp")
    log = logistic_design((1.0, 0.0), intercept=-1.5, name="logistic")
    return {"A_linear": (lin, 1.0), "A_logistic": (log, 1.0), "B_linear": (lin, 2.0), "C_linear": (lin, 0.5)}


def eps_rate(n: int, lam0: float, r: float) -> float:
    r"""Per-observation radius of the theorems: :math:`n\varepsilon_n = \lambda_0\sqrt n` for ``r >= 1``
    (Theorems A, B) and :math:`n\varepsilon_n = \lambda_0n^{r/2}` for ``0 < r < 1`` (Theorem C)."""
    if r >= 1.0:
        return lam0 / math.sqrt(n)
    return lam0 * float(n) ** (r / 2.0 - 1.0)


class AsympFit:
    """Picklable fit: ``GeneralizedFGSM`` with L1 (``r = 1``) or bridge-``r`` margin shift and the
    radius :func:`eps_rate` of the theorem for ``r``; returns ``(intercept, coef)`` when
    ``intercept`` else ``coef``."""

    def __init__(self, family: str, r: float, lam0: float, intercept: bool):
        self.family, self.r, self.lam0, self.intercept = family, float(r), float(lam0), bool(intercept)

    def _fit(self, X, y):
        from ..estimators import GeneralizedFGSM
        eps = eps_rate(X.shape[0], self.lam0, self.r)
        if self.r == 1.0:
            est = GeneralizedFGSM(family=self.family, penalty="l1", eps=eps, fit_intercept=self.intercept)
        else:
            est = GeneralizedFGSM(family=self.family, penalty="bridge", r=self.r, eps=eps,
                                  fit_intercept=self.intercept)
        return est.fit(X, y, check_input=False)

    def _theta(self, est, p):
        coef = np.zeros(p)
        coef[: np.size(est.coef_)] = np.ravel(est.coef_)
        return np.r_[np.ravel(est.intercept_), coef] if self.intercept else coef

    def __call__(self, X, y):
        return self._theta(self._fit(X, y), X.shape[1])


class BridgeCandidatesFit(AsympFit):
    """For ``r < 1``: returns ``(theta_LLA, theta_best)`` concatenated.  ``theta_LLA`` is the estimator
    (LLA from the L1 start, a local minimizer); ``theta_best`` is the better, in FGSM objective, of
    ``theta_LLA`` and the fit with the columns ``zero`` (the true zero coefficients) removed, i.e. the
    other local minimizer when ``theta_LLA`` keeps some of them nonzero.  Those are the only two
    candidates in the limit (one zero coefficient: the profile in it has at most two local minima),
    so ``theta_best`` is the finite-``n`` counterpart of the global rule."""

    def __init__(self, family: str, r: float, lam0: float, intercept: bool, zero):
        super().__init__(family, r, lam0, intercept)
        self.zero = tuple(bool(z) for z in zero)

    def __call__(self, X, y):
        est = self._fit(X, y)
        p = X.shape[1]
        lla = self._theta(est, p)
        zero = np.array(self.zero)
        best = lla
        if np.any(np.ravel(est.coef_)[zero] != 0):
            keep = np.flatnonzero(~zero)
            alt = self._fit(np.ascontiguousarray(X[:, keep]), y)
            if alt.objective_ < est.objective_:
                coef = np.zeros(p)
                coef[keep] = np.ravel(alt.coef_)
                best = np.r_[np.ravel(alt.intercept_), coef] if self.intercept else coef
        return np.r_[lla, best]


def lla_limit_draws(pq, lam0: float, r: float, W, *, tol: float = 1e-13, max_outer: int = 100_000,
                    max_sweeps: int = 10_000):
    r"""Theorem C's limit objective minimized the way the estimator minimizes its objective: LLA
    (iterated weighted-L1 majorization of :math:`|u_j|^r` at the current point, each step solved
    exactly by coordinate descent) started from the unpenalized solution :math:`I^{-1}W` (the limit
    of the L1 start, whose penalty :math:`\lambda_0\kappa n^{(r-1)/2}\lVert u\rVert_1` vanishes at this
    rate).  Rows of ``W``; returns ``(U, outer iterations, rows not settled)``."""
    ell, t = limit_objective_terms(pq, lam0, r, "fgsm")
    H = np.atleast_2d(np.asarray(W, float)) - ell
    I = pq.I
    P, F = np.flatnonzero(t > 0), np.flatnonzero(t == 0)
    if F.size:      # profile out the unpenalized coordinates (Schur complement)
        A = np.linalg.solve(I[np.ix_(F, F)], I[np.ix_(F, P)])
        S = I[np.ix_(P, P)] - I[np.ix_(F, P)].T @ A
        HF = np.linalg.solve(I[np.ix_(F, F)], H[:, F].T).T
        h = H[:, P] - HF @ I[np.ix_(F, P)]
    else:
        S, h = I, H
    tP, dg = t[P], np.diag(S)
    U = np.linalg.solve(S, h.T).T
    active = np.arange(U.shape[0])
    it = 0
    while active.size and it < max_outer:
        it += 1
        Ua = U[active]
        with np.errstate(divide="ignore"):
            w = np.where(Ua != 0, tP * r * np.abs(Ua) ** (r - 1.0), np.inf)   # inf: stays at 0
        Vn = Ua.copy()
        for _ in range(max_sweeps):
            change = 0.0
            for j in range(P.size):
                z = h[active, j] - Vn @ S[j] + dg[j] * Vn[:, j]
                new = np.sign(z) * np.maximum(np.abs(z) - w[:, j], 0.0) / dg[j]
                change = max(change, float(np.max(np.abs(new - Vn[:, j]), initial=0.0)))
                Vn[:, j] = new
            if change <= tol:
                break
        moved = np.max(np.abs(Vn - Ua), axis=1)
        U[active] = Vn
        active = active[moved > tol * (1.0 + np.max(np.abs(Vn), axis=1))]
    out = np.zeros_like(H)
    out[:, P] = U
    if F.size:
        out[:, F] = HF - U @ A.T
    return out, it, int(active.size)


def theorem_a_exact_moments(pq, lam0: float, estimator: str = "fgsm") -> dict:
    r"""Exact mean, covariance, SDs and point masses at 0 of the Theorem A limit
    :math:`\arg\min_u -u'W + u'Iu/2 + \ell'u + t_k|u_k|` when exactly one coordinate ``k`` (a penalized
    zero coefficient) is non-smooth.

    Profiling out the smooth block :math:`F` leaves :math:`u_k = \mathrm{soft}(h, t_k)/a` with
    :math:`a = I_{kk} - I_{kF}I_{FF}^{-1}I_{Fk}` and the scalar normal
    :math:`h = c'(W - \ell)`, :math:`c = e_k - I_{FF}^{-1}I_{Fk}` on :math:`F`; then
    :math:`u_F = I_{FF}^{-1}(W - \ell)_F - I_{FF}^{-1}I_{Fk}u_k`.  The moments of a soft-thresholded
    normal are closed-form (normal CDF and density), and :math:`\mathrm{Cov}(W_F, u_k)` follows from
    Stein's identity, :math:`\mathrm{Cov}(h, \mathrm{soft}(h)) = \mathrm{Var}(h)P(|h| > t_k)`.
    """
    ell, t = limit_objective_terms(pq, lam0, 1.0, estimator)
    K = np.flatnonzero(t > 0)
    if K.size != 1:
        raise ValueError(f"theorem_a_exact_moments needs exactly one penalized zero coefficient, got {K.size}")
    k = int(K[0])
    F = np.flatnonzero(np.arange(pq.dim) != k)
    I, Sig = pq.I, pq.Sigma_W
    G = np.linalg.inv(I[np.ix_(F, F)])
    A = G @ I[F, k]
    a = float(I[k, k] - I[k, F] @ A)
    c = np.zeros(pq.dim)
    c[k], c[F] = 1.0, -A
    m, s, tk = float(-c @ ell), math.sqrt(float(c @ Sig @ c)), float(t[k])

    def pos(d):        # E[X_+], E[X_+^2] for X ~ N(d, s^2)
        z = d / s
        return (d * stats.norm.cdf(z) + s * stats.norm.pdf(z),
                (d * d + s * s) * stats.norm.cdf(z) + d * s * stats.norm.pdf(z))

    e1p, e2p = pos(m - tk)
    e1n, e2n = pos(-m - tk)
    es, es2 = e1p - e1n, e2p + e2n
    p0 = float(stats.norm.cdf((tk - m) / s) - stats.norm.cdf((-tk - m) / s))
    mk, vk = es / a, (es2 - es ** 2) / a ** 2
    mean, cov = np.zeros(pq.dim), np.zeros((pq.dim, pq.dim))
    mean[k], mean[F] = mk, G @ (-ell[F]) - A * mk
    cov_wf_uk = Sig[F] @ c * (1.0 - p0) / a
    cov[k, k] = vk
    cov[np.ix_(F, F)] = (G @ Sig[np.ix_(F, F)] @ G.T - np.outer(G @ cov_wf_uk, A) - np.outer(A, G @ cov_wf_uk)
                         + np.outer(A, A) * vk)
    cov[F, k] = cov[k, F] = G @ cov_wf_uk - A * vk
    pz = np.zeros(pq.dim)
    pz[k] = p0
    return {"mean": mean, "cov": cov, "sd": np.sqrt(np.diag(cov)), "p_zero": pz}


def exact_moments(pq, lam0: float, r: float) -> dict | None:
    """Closed-form moments of the limit for ``r > 1`` (Theorem B) and for ``r = 1`` with one
    non-smooth coordinate (Theorem A); ``None`` otherwise (Theorem C: no closed form)."""
    if r > 1.0:
        mean, cov = theorem_b_moments(pq, lam0, r)
        return {"mean": mean, "cov": cov, "sd": np.sqrt(np.diag(cov)), "p_zero": np.zeros(pq.dim)}
    if r == 1.0:
        _, t = limit_objective_terms(pq, lam0, 1.0, "fgsm")
        if np.count_nonzero(t > 0) == 1:
            return theorem_a_exact_moments(pq, lam0)
    return None


def _sd_se(x, rng, n_boot=N_BOOT):
    idx = rng.integers(0, x.shape[0], size=(n_boot, x.shape[0]))
    return x[idx].std(axis=1, ddof=1).std(axis=0, ddof=1)


def compare_laws(sim: np.ndarray, draws: np.ndarray, rng, exact: dict | None = None) -> dict:
    """Compare simulated rows ``sim`` (R x d) with the limit law, coordinate by coordinate.

    The reference means, SDs and point masses at 0 are ``exact`` (a dict from :func:`exact_moments`)
    when given, else those of the limit draws ``draws`` (M x d).  Returns means, SDs, their SEs and z
    scores (with an exact reference only the simulation's Monte Carlo error counts), point masses at 0
    with a proportion z test, two-sample KS p-values against ``draws`` (on the nonzero parts when
    either sample has an atom at 0), and a Wald chi-square test of the mean vector.
    """
    R, M = sim.shape[0], draws.shape[0]
    if exact is None:
        mean_lim, sd_lim, p_lim = draws.mean(0), draws.std(0, ddof=1), (draws == 0).mean(0)
        mean_se = np.sqrt(sim.var(0, ddof=1) / R + draws.var(0, ddof=1) / M)
        sd_se = np.hypot(_sd_se(sim, rng), _sd_se(draws[: min(M, 10_000)], rng) * math.sqrt(min(M, 10_000) / M))
    else:
        mean_lim, sd_lim, p_lim = (np.asarray(exact[k], float) for k in ("mean", "sd", "p_zero"))
        mean_se = sim.std(0, ddof=1) / math.sqrt(R)
        sd_se = _sd_se(sim, rng)
    out = {"reference": "exact" if exact is not None else "draws", "mean_sim": sim.mean(0), "mean_lim": mean_lim,
           "mean_se": mean_se, "sd_sim": sim.std(0, ddof=1), "sd_lim": sd_lim, "sd_se": sd_se}
    out["mean_z"] = (out["mean_sim"] - mean_lim) / mean_se
    out["sd_z"] = (out["sd_sim"] - sd_lim) / sd_se
    p1 = (sim == 0).mean(0)
    if exact is None:
        pooled = ((sim == 0).sum(0) + (draws == 0).sum(0)) / (R + M)
        se = np.sqrt(pooled * (1 - pooled) * (1 / R + 1 / M))
    else:
        se = np.sqrt(p_lim * (1 - p_lim) / R)
    with np.errstate(divide="ignore", invalid="ignore"):
        pz = np.where(se > 0, (p1 - p_lim) / se, 0.0)
    out.update(p_zero_sim=p1, p_zero_lim=p_lim, p_zero_z=pz, atom=(p1 > 0) | (p_lim > 0) | (draws == 0).any(0))
    ks = np.empty(sim.shape[1])
    for j in range(sim.shape[1]):
        a, b = sim[:, j], draws[:, j]
        if out["atom"][j]:
            a, b = a[a != 0], b[b != 0]
        ks[j] = stats.ks_2samp(a, b).pvalue if min(a.size, b.size) > 1 else 1.0
    out["ks_p"] = ks
    C = np.cov(sim.T, ddof=1) / R + (np.cov(draws.T, ddof=1) / M if exact is None else 0.0)
    dlt = out["mean_sim"] - mean_lim
    out["wald"] = float(dlt @ np.linalg.solve(C, dlt))
    out["wald_p"] = float(stats.chi2.sf(out["wald"], sim.shape[1]))
    return out


def draws_check(draws: np.ndarray, exact: dict) -> dict:
    """The limit draws against the closed form: z scores of their means (SE from the draws) and of
    their point masses at 0."""
    M = draws.shape[0]
    mz = (draws.mean(0) - exact["mean"]) / (draws.std(0, ddof=1) / math.sqrt(M))
    p = np.asarray(exact["p_zero"], float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pz = np.where(p > 0, ((draws == 0).mean(0) - p) / np.sqrt(p * (1 - p) / M), 0.0)
    return {"mean_z": mz, "p_zero_z": pz, "max_abs_z": float(max(np.max(np.abs(mz)), np.max(np.abs(pz))))}


@dataclass
class AsymptoticResult:
    scale: str
    seed: int
    n: int
    reps: int
    sim: dict            # setting -> R x d simulated sqrt(n)(theta_hat - theta0) (Theorem C: the LLA fit)
    limit: dict          # setting -> M x d draws from the limit (with V; Theorem C: local rule)
    limit_nov: dict      # setting -> M x d draws with the V term dropped (Theorems A, B only)
    exact: dict          # setting -> closed-form moments of the limit (Theorems A, B)
    exact_nov: dict      # setting -> closed-form moments of the V-less limit
    cmp: dict            # setting -> compare_laws(sim, limit) against the closed form where it exists
    cmp_draws: dict      # setting -> compare_laws(sim, limit) against the limit draws (Theorems A, B)
    cmp_nov: dict        # setting -> compare_laws(sim, V-less limit), closed-form reference
    draws_check: dict    # setting -> draws_check(limit, exact)
    pq: dict             # setting -> PopulationQuantities
    theta0: dict
    mc: object = None
    verdicts: dict = field(default_factory=dict)
    verdicts_draws: dict = field(default_factory=dict)   # the same tests with the limit draws as reference
    info: dict = field(default_factory=dict)
    # Theorem C (r < 1) only
    limit_global: dict = field(default_factory=dict)   # setting -> draws of the global argmin (same W)
    cmp_global: dict = field(default_factory=dict)     # setting -> compare_laws(sim, limit_global)
    sim_best: dict = field(default_factory=dict)       # setting -> better of the two finite-n minimizers
    cmp_best: dict = field(default_factory=dict)       # setting -> compare_laws(sim_best, limit_global)
    theorem_c: dict = field(default_factory=dict)      # setting -> leftover bias, LLA check, ...


LABELS = {"A_linear": "A linear", "A_logistic": "A logistic", "B_linear": "B linear", "C_linear": "C linear"}


def _moment_z(c: dict, coords=None) -> tuple[float, str]:
    """Largest |z| over the means, the SDs and (coordinates with an atom) the point masses at 0."""
    idx = np.arange(c["mean_z"].size) if coords is None else np.asarray(coords)
    zs = [np.abs(c["mean_z"][idx]), np.abs(c["sd_z"][idx])]
    what = "means, SDs"
    atom = c["atom"][idx]
    if np.any(atom):
        zs.append(np.abs(c["p_zero_z"][idx][atom]))
        what += ", P(0)"
    return float(max(np.max(z) for z in zs)), what


def _law_verdicts(prefix: str, c: dict, ref: str, *, ks_differ: bool = False, coords=None) -> list:
    """Verdicts that the simulated law agrees with a limit law: moments (max |z| <= 3), KS on every
    coordinate (min p > 1%; or, with ``ks_differ``, p < 1% on the coordinates with an atom), Wald
    test of the mean vector (p > 1%)."""
    z, what = _moment_z(c, coords)
    out = [verdict(f"{prefix}: moments", z, Z_TOL,
                   statement=f"{what} agree with {ref}" + (" (nonzero coefficients)" if coords is not None else "")
                   + "; value = max |z|")]
    if ks_differ:
        p = float(np.max(c["ks_p"][c["atom"]]))
        out.append(verdict(f"{prefix}: KS", p, ALPHA, op="<", floor=P_FLOOR,
                           statement="KS on the nonzero values of the zero coefficient rejects at 1%"))
    else:
        p = float(np.min(c["ks_p"]))
        out.append(verdict(f"{prefix}: KS", p, ALPHA, op=">", floor=P_FLOOR,
                           statement="KS against the limit draws does not reject at 1% (min p over coordinates)"))
    out.append(verdict(f"{prefix}: Wald", c["wald_p"], ALPHA, op=">", floor=P_FLOOR,
                       statement=f"Wald test of the mean vector against {ref} does not reject at 1% (p)"))
    return out


def _theorem_c(name, d, r, k, est, n, pq, rng, seed) -> dict:
    """Theorem C: the LLA fits and the better of the two finite-n minimizers (``est``: reps x 2d from
    :class:`BridgeCandidatesFit`) against the limit under the local and the global rule."""
    dim = pq.dim
    lab = LABELS.get(name, name)
    zero = pq.penalized & (pq.theta0 == 0)
    S = math.sqrt(n) * (est[:, :dim] - d.theta0)
    Sb = math.sqrt(n) * (est[:, dim:] - d.theta0)
    W = draw_W(pq, N_DRAWS, seed + k)                   # the same W for both rules and for LLA
    # The terms of order n^((r-1)/2) that the limit drops are kept in the objective (W -> W - g_n):
    # the finite-n version of argmin V_r, minimized draw by draw.
    left = theorem_c_leftover_bias(pq, n, LAM0, r)
    left_nov = theorem_c_leftover_bias(dataclasses.replace(pq, V=np.zeros_like(pq.V)), n, LAM0, r)
    g_n = -pq.I @ left
    D = limit_draws(pq, LAM0, r=r, estimator="fgsm", W=W - g_n, rule="local")
    G = limit_draws(pq, LAM0, r=r, estimator="fgsm", W=W - g_n, rule="global")
    D0 = limit_draws(pq, LAM0, r=r, estimator="fgsm", W=W, rule="local")     # n = infinity
    L, lla_iter, lla_open = lla_limit_draws(pq, LAM0, r, W)
    c, cg, cb = compare_laws(S, D, rng), compare_laws(S, G, rng), compare_laws(Sb, G, rng)
    c0 = compare_laws(S, D0, np.random.default_rng(seed + 7))
    nonzero = np.flatnonzero(~zero)
    info = {"leftover": left, "leftover_nov": left_nov,
            "plain_mean": c0["mean_lim"], "plain_mean_z": c0["mean_z"], "plain_wald_p": c0["wald_p"],
            "plain_p_zero": (D0[:, zero] == 0).mean(0),
            "lla_max_diff": float(np.max(np.abs(L - D0))), "lla_unsettled": lla_open,
            "lla_beaten": float(np.mean(np.any(S != Sb, axis=1))),
            "zero": zero, "p_zero_local": (D[:, zero] == 0).mean(0), "p_zero_global": (G[:, zero] == 0).mean(0),
            "p_zero_lla": (S[:, zero] == 0).mean(0), "p_zero_best": (Sb[:, zero] == 0).mean(0),
            "smallest_nonzero": {key: float(np.abs(x[:, zero][x[:, zero] != 0]).min())
                                 for key, x in (("lla", S), ("best", Sb), ("local", D), ("global", G))}}
    v = _law_verdicts(f"{lab}, LLA vs local rule", c, "the local-rule limit")
    # the estimator (LLA) is a local minimizer: its zero coefficient follows the local rule, not the
    # global argmin (see the chapter); the nonzero coefficients cannot tell the rules apart
    g = _law_verdicts(f"{lab}, LLA vs global rule", cg, "the global-rule limit", ks_differ=True, coords=nonzero)
    za = float(np.min(np.abs(cg["p_zero_z"][zero])))
    g.insert(1, verdict(f"{lab}, LLA vs global rule: atom", za, Z_TOL, op=">",
                        statement="P(0) of the zero coefficient differs from the global rule's; value = |z|"))
    v += g
    v += _law_verdicts(f"{lab}, best of two vs global rule", cb, "the global-rule limit")
    v.append(verdict(f"{lab}: LLA limit = local rule", info["lla_max_diff"] if lla_open == 0 else np.inf, LLA_TOL,
                     floor=LLA_TOL, statement="LLA run on V_r reproduces the local-rule draws; value = max |difference|"))
    return {"sim": S, "sim_best": Sb, "limit": D, "limit_global": G, "cmp": c, "cmp_global": cg, "cmp_best": cb,
            "info": info, "verdicts": v}


def run(scale: str | None = None, n_jobs: int | None = None, *, seed: int = SEED, only=None) -> AsymptoticResult:
    """Run (or load from the on-disk cache) the Monte Carlo and compare with the limit laws.

    ``seed``: the Monte Carlo seed (the verdicts were fixed on :data:`SEED`); ``only``: a subset of
    the setting names of :func:`settings_spec` (default: all four)."""
    scale = scale or os.environ.get("COMPANION_SCALE", "quick")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    seed = int(seed)
    n_jobs = int(n_jobs if n_jobs is not None else os.environ.get("COMPANION_N_JOBS", 2))
    n, reps = int(SCALES[scale]["n"]), int(SCALES[scale]["reps"])
    spec = settings_spec()
    if only is not None:
        unknown = sorted(set(only) - set(spec))
        if unknown or not only:
            raise ValueError(f"only must name settings among {sorted(spec)}, got {only!r}")
        spec = {k: v for k, v in spec.items() if k in set(only)}
    settings = [Setting(name, d, AsympFit(d.family, r, LAM0, d.has_intercept) if r >= 1.0 else
                        BridgeCandidatesFit(d.family, r, LAM0, d.has_intercept, d.penalized & (d.theta0 == 0)))
                for name, (d, r) in spec.items()]
    mc = run_experiment(settings, ns=[n], reps=reps, seed=seed, n_jobs=n_jobs, cache_dir=_cache_dir(),
                        salt=estimator_salt(), progress=False)
    # the comparisons against the limit draws use their own stream, in the order that the chapter's
    # verdicts were first computed in (law with V, then without; Theorem C last), so that those values are reproduced
    rng_draws = np.random.default_rng(seed)
    rng_exact = np.random.default_rng(seed + 1)
    sim, lim, lim_nov, ex, ex_nov, cmp, cmp_d, cmp_nov, dchk, pqs, th0 = ({} for _ in range(11))
    lim_g, cmp_g, sim_b, cmp_b, thc = {}, {}, {}, {}, {}
    verdicts, verdicts_d = [], []
    all_names = list(settings_spec())
    for name, (d, r) in spec.items():
        k = all_names.index(name)
        lab = LABELS.get(name, name)
        pq = population_quantities(d)
        pqs[name], th0[name] = pq, d.theta0
        if r < 1.0:
            est = mc.estimates[name][0]
            if np.isnan(est).any():
                raise RuntimeError(f"{name}: failed fits")
            o = _theorem_c(name, d, r, k, est, n, pq, rng_draws, seed)
            sim[name], sim_b[name], lim[name], lim_g[name] = o["sim"], o["sim_best"], o["limit"], o["limit_global"]
            cmp[name], cmp_g[name], cmp_b[name], thc[name] = o["cmp"], o["cmp_global"], o["cmp_best"], o["info"]
            verdicts += o["verdicts"]
            continue
        S = mc.scaled_errors(name)[0]
        if np.isnan(S).any():
            raise RuntimeError(f"{name}: failed fits")
        pq_nov = dataclasses.replace(pq, V=np.zeros_like(pq.V))
        # the same W draws for both limits: the V-less law differs only through the V term
        D = limit_draws(pq, LAM0, r=r, estimator="fgsm", n_draws=N_DRAWS, seed=seed + k)
        D0 = limit_draws(pq_nov, LAM0, r=r, estimator="fgsm", n_draws=N_DRAWS, seed=seed + k)
        e, e0 = exact_moments(pq, LAM0, r), exact_moments(pq_nov, LAM0, r)
        sim[name], lim[name], lim_nov[name], ex[name], ex_nov[name] = S, D, D0, e, e0
        cd = compare_laws(S, D, rng_draws)
        compare_laws(S, D0, rng_draws)       # keeps rng_draws in step (see above)
        c, c0 = compare_laws(S, D, rng_exact, exact=e), compare_laws(S, D0, rng_exact, exact=e0)
        cmp[name], cmp_d[name], cmp_nov[name] = c, cd, c0
        dchk[name] = draws_check(D, e)
        verdicts += _law_verdicts(lab, c, "the closed-form limit")
        verdicts.append(verdict(f"{lab}: V-less limit rejected", c0["wald_p"], ALPHA, op="<", floor=P_FLOOR,
                                statement="Wald test against the limit without the V term rejects at 1% (p)"))
        verdicts.append(verdict(f"{lab}: limit draws = closed form", dchk[name]["max_abs_z"], Z_TOL,
                                statement=f"{N_DRAWS} draws of the limit reproduce its closed-form means"
                                          + (" and P(0)" if np.any(e["p_zero"] > 0) else "") + "; value = max |z|"))
        verdicts_d += _law_verdicts(lab, cd, "the limit draws")
    return AsymptoticResult(scale=scale, seed=seed, n=n, reps=reps, sim=sim, limit=lim, limit_nov=lim_nov,
                            exact=ex, exact_nov=ex_nov, cmp=cmp, cmp_draws=cmp_d, cmp_nov=cmp_nov,
                            draws_check=dchk, pq=pqs, theta0=th0, mc=mc,
                            verdicts={v.name: v for v in verdicts}, verdicts_draws={v.name: v for v in verdicts_d},
                            info={"lam0": LAM0, "seed": seed, "n_draws": N_DRAWS,
                                  "r": {k: v[1] for k, v in spec.items()},
                                  "n_eps": {k: n * eps_rate(n, LAM0, v[1]) for k, v in spec.items()}},
                            limit_global=lim_g, cmp_global=cmp_g, sim_best=sim_b, cmp_best=cmp_b, theorem_c=thc)


def convergence(scale: str | None = None, n_jobs: int | None = None, name: str = "A_logistic") -> dict:
    """Mean, SD and P(0) of the simulated :math:`\\sqrt n(\\hat\\theta - \\theta_0)` of one setting over
    ``n = 1000, 4000, 16000`` (quick: 400 replications; full: 2000) next to the closed-form limit
    values: where the finite-``n`` gaps go as ``n`` grows."""
    scale = scale or os.environ.get("COMPANION_SCALE", "quick")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    n_jobs = int(n_jobs if n_jobs is not None else os.environ.get("COMPANION_N_JOBS", 2))
    reps = int(SCALES[scale]["reps"])
    d, r = settings_spec()[name]
    mc = run_experiment([Setting(name, d, AsympFit(d.family, r, LAM0, d.has_intercept))], ns=[1000, 4000, 16000],
                        reps=reps, seed=SEED, n_jobs=n_jobs, cache_dir=_cache_dir(), salt=estimator_salt(),
                        progress=False)
    S = mc.scaled_errors(name)
    e = exact_moments(population_quantities(d), LAM0, r)
    return {"ns": mc.ns, "mean": S.mean(axis=1), "mean_se": S.std(axis=1, ddof=1) / math.sqrt(reps),
            "sd": S.std(axis=1, ddof=1), "p_zero": (S == 0).mean(axis=1),
            "limit": {"mean": e["mean"], "sd": e["sd"], "p_zero": e["p_zero"]}}


def config(res: AsymptoticResult) -> dict:
    """The configuration stored with the summary."""
    return {"n": res.n, "reps": res.reps, "seed": res.seed, "lam0": LAM0, "n_draws": N_DRAWS,
            "r": res.info["r"]}


def summarize(res: AsymptoticResult) -> dict:
    """The chapter's summary for ``results/<scale>/asymptotic_distribution.json``: verdicts, the table
    of means and SDs against the limit, quantiles behind the Q-Q figure, Theorem C's atoms, and
    spot chunks of replications."""
    from .. import results

    rows = []
    for name, c in res.cmp.items():
        ref = "closed form" if c["reference"] == "exact" else "local-rule draws"
        for j in range(c["mean_sim"].size):
            rows.append([LABELS.get(name, name), str(j), ref, fmt(c["mean_sim"][j], 3), fmt(c["mean_lim"][j], 3),
                         fmt(c["mean_z"][j], 2), fmt(c["sd_sim"][j], 3), fmt(c["sd_lim"][j], 3)])
    probs = (np.arange(1, 100) - 0.5) / 99
    qq = {name: {"sim": np.quantile(res.sim[name], probs, axis=0), "limit": np.quantile(res.limit[name], probs, axis=0),
                 "limit_nov": np.quantile(res.limit_nov[name], probs, axis=0)}
          for name in res.limit_nov}
    tc = {name: {k: res.theorem_c[name][k] for k in ("p_zero_lla", "p_zero_best", "p_zero_local", "p_zero_global",
                                                     "lla_beaten", "leftover", "leftover_nov")}
          for name in res.theorem_c}
    spot = [results.spot(res.mc, name, 0, a, a + 20)
            for name, a in (("A_linear", 0), ("A_logistic", 20), ("B_linear", 40)) if name in res.sim]
    return {"verdicts": res.verdicts,
            "tables": {"moments": {"header": ["setting", "coordinate", "reference", "mean (sim)", "mean (limit)",
                                              "z", "SD (sim)", "SD (limit)"], "rows": rows}},
            "figures": {"qq": {"probs": probs, **qq}},
            "theorem_c": tc, "spot": spot}


def spot_setting(name: str) -> Setting:
    """The :class:`~companion.montecarlo.Setting` named ``name`` (a key of :func:`settings_spec`), for
    :func:`companion.results.recompute_spot`."""
    spec = settings_spec()
    if name not in spec:
        raise ValueError(f"name must be one of {sorted(spec)}, got {name!r}")
    d, r = spec[name]
    fit = (AsympFit(d.family, r, LAM0, d.has_intercept) if r >= 1.0 else
           BridgeCandidatesFit(d.family, r, LAM0, d.has_intercept, d.penalized & (d.theta0 == 0)))
    return Setting(name, d, fit)


if __name__ == "__main__":
    from .. import results as _results
    _results.main("asymptotic_distribution", run, summarize, config)
