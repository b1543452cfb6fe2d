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

Tests: means and standard deviations (z scores from Monte Carlo standard errors of both samples),
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
                           theorem_c_leftover_bias)
from ..designs import linear_design, logistic_design
from ..montecarlo import Setting, run_experiment
from .root_n_consistency import _cache_dir, estimator_salt

__all__ = ["SCALES", "settings_spec", "eps_rate", "AsympFit", "BridgeCandidatesFit", "lla_limit_draws",
           "compare_laws", "AsymptoticResult", "run"]

SCALES = {"quick": {"n": 4000, "reps": 400}, "full": {"n": 20000, "reps": 2000}}
LAM0 = 1.0
SEED = 20180427
N_DRAWS = 40_000
N_BOOT = 1000
Z_TOL = 3.0
ALPHA = 0.01


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


def _sd_se(x, rng, n_boot=N_BOOT):
    idx = rng.integers(0, x.shape[0], size=(n_boot, x.shape[0]))
    return x[idx].std(axis=1, ddof=1).std(axis=0, ddof=1)


def compare_laws(sim: np.ndarray, draws: np.ndarray, rng) -> dict:
    """Compare simulated rows ``sim`` (R x d) with limit draws (M x d), coordinate by coordinate.

    Returns means, SDs, their SEs and z scores, point masses at 0 with a two-proportion z test,
    two-sample KS p-values (on the nonzero parts when either sample has an atom at 0, plus the
    proportion test for the atom), and a Wald chi-square test of the mean vector
    (covariance ``Cov_sim/R + Cov_draws/M``).
    """
    R, M = sim.shape[0], draws.shape[0]
    out = {"mean_sim": sim.mean(0), "mean_lim": draws.mean(0),
           "mean_se": np.sqrt(sim.var(0, ddof=1) / R + draws.var(0, ddof=1) / M),
           "sd_sim": sim.std(0, ddof=1), "sd_lim": draws.std(0, ddof=1)}
    out["mean_z"] = (out["mean_sim"] - out["mean_lim"]) / out["mean_se"]
    out["sd_se"] = np.hypot(_sd_se(sim, rng), _sd_se(draws[: min(M, 10_000)], rng) * math.sqrt(min(M, 10_000) / M))
    out["sd_z"] = (out["sd_sim"] - out["sd_lim"]) / out["sd_se"]
    p1, p2 = (sim == 0).mean(0), (draws == 0).mean(0)
    pooled = ((sim == 0).sum(0) + (draws == 0).sum(0)) / (R + M)
    se = np.sqrt(pooled * (1 - pooled) * (1 / R + 1 / M))
    with np.errstate(divide="ignore", invalid="ignore"):
        pz = np.where(se > 0, (p1 - p2) / se, 0.0)
    out.update(p_zero_sim=p1, p_zero_lim=p2, p_zero_z=pz, atom=(p1 > 0) | (p2 > 0))
    ks = np.empty(sim.shape[1])
    for j in range(sim.shape[1]):
        a, b = sim[:, j], draws[:, j]
        if out["atom"][j]:
            a, b = a[a != 0], b[b != 0]
        ks[j] = stats.ks_2samp(a, b).pvalue if min(a.size, b.size) > 1 else 1.0
    out["ks_p"] = ks
    C = np.cov(sim.T, ddof=1) / R + np.cov(draws.T, ddof=1) / M
    dlt = out["mean_sim"] - out["mean_lim"]
    out["wald"] = float(dlt @ np.linalg.solve(C, dlt))
    out["wald_p"] = float(stats.chi2.sf(out["wald"], sim.shape[1]))
    return out


@dataclass
class AsymptoticResult:
    scale: str
    n: int
    reps: int
    sim: dict            # setting -> R x d simulated sqrt(n)(theta_hat - theta0) (Theorem C: the LLA fit)
    limit: dict          # setting -> M x d draws from the limit (with V; Theorem C: local rule)
    limit_nov: dict      # setting -> M x d draws with the V term dropped (Theorems A, B only)
    cmp: dict            # setting -> compare_laws(sim, limit)
    cmp_nov: dict        # setting -> compare_laws(sim, limit without V) (Theorems A, B only)
    pq: dict             # setting -> PopulationQuantities
    theta0: dict
    verdicts: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    # Theorem C (r < 1) only
    limit_global: dict = field(default_factory=dict)   # setting -> draws of the global argmin (same W)
    cmp_global: dict = field(default_factory=dict)     # setting -> compare_laws(sim, limit_global)
    sim_best: dict = field(default_factory=dict)       # setting -> better of the two finite-n minimizers
    cmp_best: dict = field(default_factory=dict)       # setting -> compare_laws(sim_best, limit_global)
    theorem_c: dict = field(default_factory=dict)      # setting -> leftover bias, LLA check, ...


def _verdict(value, tol, passed, what=""):
    return {"value": float(value), "tolerance": float(tol), "passed": bool(passed), "what": what}


def _law_verdicts(prefix: str, c: dict, differ=()) -> dict:
    """The chapter's five comparisons of ``compare_laws`` output ``c`` as verdicts: each states that
    the laws agree, except the tests named in ``differ`` (``"atom"``, ``"ks"``), which state that
    the comparison rejects (point mass: |z| > 3; KS: p < 1% on the zero coefficients)."""
    v = {}
    z = np.max(np.abs(c["mean_z"]))
    v[f"{prefix}: means agree with the limit (max |z| <= 3)"] = _verdict(z, Z_TOL, z <= Z_TOL)
    z = np.max(np.abs(c["sd_z"]))
    v[f"{prefix}: SDs agree with the limit (max |z| <= 3)"] = _verdict(z, Z_TOL, z <= Z_TOL)
    if np.any(c["atom"]):
        z = np.max(np.abs(c["p_zero_z"][c["atom"]]))
        if "atom" in differ:
            z = np.min(np.abs(c["p_zero_z"][c["atom"]]))
            v[f"{prefix}: point mass at 0 differs (two-proportion |z| > 3)"] = _verdict(z, Z_TOL, z > Z_TOL)
        else:
            v[f"{prefix}: point mass at 0 agrees (two-proportion max |z| <= 3)"] = _verdict(z, Z_TOL, z <= Z_TOL)
    if "ks" in differ:
        p = np.max(c["ks_p"][c["atom"]])
        v[f"{prefix}: KS rejects at 1% for the zero coefficient (p)"] = _verdict(p, ALPHA, p < ALPHA)
    else:
        p = np.min(c["ks_p"])
        v[f"{prefix}: KS does not reject at 1% for any coordinate (min p)"] = _verdict(p, ALPHA, p > ALPHA)
    v[f"{prefix}: Wald test of the mean vector does not reject at 1%"] = _verdict(
        c["wald_p"], ALPHA, c["wald_p"] > ALPHA)
    return v


def _theorem_c(name, d, r, k, est, n, pq, rng) -> dict:
    """Theorem C: the LLA fits and the better of the two finite-n minimizers (``est``: reps x 2d from
    :class:`BridgeCandidatesFit`) against the limit under the local and the global rule."""
    dim = pq.dim
    zero = pq.penalized & (pq.theta0 == 0)
    S = math.sqrt(n) * (est[:, :dim] - d.theta0)
    Sb = math.sqrt(n) * (est[:, dim:] - d.theta0)
    W = draw_W(pq, N_DRAWS, SEED + k)                   # the same W for both rules and for LLA
    # The terms of order n^((r-1)/2) that the limit drops (lam0 here is n eps_n / n^(r/2) = LAM0) are
    # kept in the objective: -u'W + u'Iu/2 + lam0 kappa sum_zero |u_j|^r + g_n'u with g_n = -I b_n,
    # i.e. W -> W - g_n.  This finite-n version of argmin V_r is what the laws are compared with: the
    # leftover bias b_n decays only like n^(-1/4) and is resolved at paper scale.  Unlike a fixed
    # shift by b_n (the shift of a solution whose zero coefficient is free), each draw moves
    # according to its own support.
    left = theorem_c_leftover_bias(pq, n, LAM0, r)
    left_nov = theorem_c_leftover_bias(dataclasses.replace(pq, V=np.zeros_like(pq.V)), n, LAM0, r)
    g_n = -pq.I @ left
    D = limit_draws(pq, LAM0, r=r, estimator="fgsm", W=W - g_n, rule="local")
    G = limit_draws(pq, LAM0, r=r, estimator="fgsm", W=W - g_n, rule="global")
    D0 = limit_draws(pq, LAM0, r=r, estimator="fgsm", W=W, rule="local")     # n = infinity
    L, lla_iter, lla_open = lla_limit_draws(pq, LAM0, r, W)
    c, cg, cb = compare_laws(S, D, rng), compare_laws(S, G, rng), compare_laws(Sb, G, rng)
    c0 = compare_laws(S, D0, np.random.default_rng(SEED + 7))
    info = {"leftover": left, "leftover_nov": left_nov,
            "plain_mean": c0["mean_lim"], "plain_mean_z": c0["mean_z"], "plain_wald_p": c0["wald_p"],
            "plain_p_zero": (D0[:, zero] == 0).mean(0),
            "lla_max_diff": float(np.max(np.abs(L - D0))), "lla_iterations": lla_iter, "lla_unsettled": lla_open,
            "lla_beaten": float(np.mean(np.any(S != Sb, axis=1))),
            "zero": zero, "p_zero_local": (D[:, zero] == 0).mean(0), "p_zero_global": (G[:, zero] == 0).mean(0),
            "p_zero_lla": (S[:, zero] == 0).mean(0), "p_zero_best": (Sb[:, zero] == 0).mean(0)}
    v = {}
    v.update(_law_verdicts(f"{name}, local rule", c))
    # the estimator (LLA) is a local minimizer: its zero coefficient has the local rule's atom and
    # continuous part, not the global argmin's (see the chapter)
    v.update(_law_verdicts(f"{name}, global rule", cg, differ=("atom", "ks")))
    v.update(_law_verdicts(f"{name}, best of the two minimizers vs global rule", cb))
    v[f"{name}: the local rule is the limit of LLA (max |u_local - u_LLA| <= 1e-8)"] = _verdict(
        info["lla_max_diff"], 1e-8, info["lla_max_diff"] <= 1e-8 and lla_open == 0)
    return {"sim": S, "sim_best": Sb, "limit": D, "limit_global": G, "cmp": c, "cmp_global": cg, "cmp_best": cb,
            "info": info, "verdicts": v}


def run(scale: str | None = None, n_jobs: int | None = None) -> AsymptoticResult:
    """Run (or load from the on-disk cache) the Monte Carlo and compare with the limit laws."""
    scale = scale or os.environ.get("COMPANION_SCALE", "quick")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    n_jobs = int(n_jobs if n_jobs is not None else os.environ.get("COMPANION_N_JOBS", 2))
    n, reps = int(SCALES[scale]["n"]), int(SCALES[scale]["reps"])
    spec = settings_spec()
    settings = [Setting(name, d, AsympFit(d.family, r, LAM0, d.has_intercept) if r >= 1.0 else
                        BridgeCandidatesFit(d.family, r, LAM0, d.has_intercept, d.penalized & (d.theta0 == 0)))
                for name, (d, r) in spec.items()]
    mc = run_experiment(settings, ns=[n], reps=reps, seed=SEED, n_jobs=n_jobs, cache_dir=_cache_dir(),
                        salt=estimator_salt(), progress=False)
    rng = np.random.default_rng(SEED)
    sim, lim, lim_nov, cmp, cmp_nov, pqs, th0 = {}, {}, {}, {}, {}, {}, {}
    lim_g, cmp_g, sim_b, cmp_b, thc = {}, {}, {}, {}, {}
    verdicts = {}
    for k, (name, (d, r)) in enumerate(spec.items()):
        pq = population_quantities(d)
        pqs[name], th0[name] = pq, d.theta0
        if r < 1.0:
            est = mc.estimates[name][0]
            if np.isnan(est).any():
                raise RuntimeError(f"{name}: failed fits")
            o = _theorem_c(name, d, r, k, est, n, pq, rng)
            sim[name], sim_b[name], lim[name], lim_g[name] = o["sim"], o["sim_best"], o["limit"], o["limit_global"]
            cmp[name], cmp_g[name], cmp_b[name], thc[name] = o["cmp"], o["cmp_global"], o["cmp_best"], o["info"]
            verdicts.update(o["verdicts"])
            continue
        S = mc.scaled_errors(name)[0]
        if np.isnan(S).any():
            raise RuntimeError(f"{name}: failed fits")
        pq_nov = dataclasses.replace(pq, V=np.zeros_like(pq.V))
        # the same W draws for both limits: the V-less law differs only through the V term
        D = limit_draws(pq, LAM0, r=r, estimator="fgsm", n_draws=N_DRAWS, seed=SEED + k)
        D0 = limit_draws(pq_nov, LAM0, r=r, estimator="fgsm", n_draws=N_DRAWS, seed=SEED + k)
        sim[name], lim[name], lim_nov[name] = S, D, D0
        c, c0 = compare_laws(S, D, rng), compare_laws(S, D0, rng)
        cmp[name], cmp_nov[name] = c, c0
        z = np.max(np.abs(c["mean_z"]))
        verdicts[f"{name}: means agree with the limit (max |z| <= 3)"] = _verdict(z, Z_TOL, z <= Z_TOL)
        z = np.max(np.abs(c["sd_z"]))
        verdicts[f"{name}: SDs agree with the limit (max |z| <= 3)"] = _verdict(z, Z_TOL, z <= Z_TOL)
        if np.any(c["atom"]):
            z = np.max(np.abs(c["p_zero_z"][c["atom"]]))
            verdicts[f"{name}: point mass at 0 agrees (two-proportion max |z| <= 3)"] = _verdict(z, Z_TOL, z <= Z_TOL)
        p = np.min(c["ks_p"])
        verdicts[f"{name}: KS does not reject at 1% for any coordinate (min p)"] = _verdict(p, ALPHA, p > ALPHA)
        verdicts[f"{name}: Wald test of the mean vector does not reject at 1%"] = _verdict(
            c["wald_p"], ALPHA, c["wald_p"] > ALPHA)
        verdicts[f"{name}: the V-less limit is rejected (Wald p < 1%)"] = _verdict(
            c0["wald_p"], ALPHA, c0["wald_p"] < ALPHA)
    return AsymptoticResult(scale=scale, n=n, reps=reps, sim=sim, limit=lim, limit_nov=lim_nov, cmp=cmp,
                            cmp_nov=cmp_nov, pq=pqs, theta0=th0, verdicts=verdicts,
                            info={"lam0": LAM0, "seed": SEED, "n_draws": N_DRAWS,
                                  "r": {k: v[1] for k, v in spec.items()},
                                  "n_eps": {k: n * eps_rate(n, LAM0, v[1]) for k, v in spec.items()}},
                            limit_global=lim_g, cmp_global=cmp_g, sim_best=sim_b, cmp_best=cmp_b, theorem_c=thc)


def convergence(scale: str | None = None, n_jobs: int | None = None, name: str = "A_logistic") -> dict:
    """Mean, SD and P(0) of the simulated :math:`\\sqrt n(\\hat\\theta - \\theta_0)` of one setting over
    ``n = 1000, 4000, 16000`` (quick: 400 replications; full: 2000) next to the limit values: where
    the finite-``n`` gaps go as ``n`` grows."""
    scale = scale or os.environ.get("COMPANION_SCALE", "quick")
    n_jobs = int(n_jobs if n_jobs is not None else os.environ.get("COMPANION_N_JOBS", 2))
    reps = int(SCALES[scale]["reps"])
    d, r = settings_spec()[name]
    mc = run_experiment([Setting(name, d, AsympFit(d.family, r, LAM0, d.has_intercept))], ns=[1000, 4000, 16000],
                        reps=reps, seed=SEED, n_jobs=n_jobs, cache_dir=_cache_dir(), salt=estimator_salt(),
                        progress=False)
    S = mc.scaled_errors(name)
    D = limit_draws(population_quantities(d), LAM0, r=r, estimator="fgsm", n_draws=N_DRAWS, seed=SEED)
    return {"ns": mc.ns, "mean": S.mean(axis=1), "mean_se": S.std(axis=1, ddof=1) / math.sqrt(reps),
            "sd": S.std(axis=1, ddof=1), "p_zero": (S == 0).mean(axis=1),
            "limit": summarize_draws(D)}
