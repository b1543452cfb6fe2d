r"""Experiment of the chapter *Root-n consistency* (``notebooks/root_n_consistency.ipynb``).

FGSM adversarial training of a GLM in sum form,
:math:`\hat\beta = \arg\min_\beta \sum_i \ell(y_i, \theta_i + \varepsilon_n s_i \lVert\beta\rVert_1)`,
is run over sample sizes spanning a factor 16, for a Gaussian linear design and a logistic design
(unpenalized intercept), with two radius schedules:

* ``eps_n = lam0 / sqrt(n)`` (the root-n regime of Theorems A/B): the RMSE
  :math:`\{E\lVert\hat\beta - \beta_0\rVert^2\}^{1/2}` falls like :math:`n^{-1/2}` and standard
  errors halve when ``n`` quadruples;
* a fixed radius ``eps``: :math:`\hat\beta` converges to the minimizer :math:`\beta_\varepsilon` of the
  *population* adversarial risk :math:`R_\varepsilon(\beta) = E\,\max_{|\delta|\le\varepsilon\lVert\beta\rVert_1}\ell(Y, X'\beta + \delta)`,
  so the RMSE flattens at :math:`\lVert\beta_\varepsilon - \beta_0\rVert`.  :func:`population_minimizer`
  computes :math:`\beta_\varepsilon` by exact Gaussian integration (no simulation).

:func:`run` returns a :class:`RootNResult` with the arrays for the figures and a ``verdicts`` dict.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import optimize, special, stats

from ..asymptotics import limit_draws, population_quantities
from ..designs import Design, linear_design, logistic_design
from ..montecarlo import Setting, default_cache_dir, run_experiment

__all__ = ["SCALES", "designs", "population_risk", "population_minimizer", "zero_coordinate_check", "RootNFit", "RootNResult",
           "loglog_slope", "run"]

#: sample sizes and replications per scale
SCALES = {
    "quick": {"ns": (250, 500, 1000, 2000, 4000), "reps": 200},
    "full": {"ns": (250, 500, 1000, 2000, 4000, 8000, 16000), "reps": 2000},
}
LAM0 = 1.0          # eps_n = LAM0 / sqrt(n)
EPS_FIXED = 0.1     # the fixed radius
SEED = 20181027
N_BOOT = 2000
N_LIMIT = 100_000   # draws from the Theorem A limit


def designs() -> dict:
    """The two designs: linear (Gaussian noise, sd 1, ``beta0 = (1, 0.5, 0)``, ``X ~ N(0, I)``) and
    logistic (``X = (1, N(0,1), N(0,1))``, ``theta0 = (-1.5, 1, 0)``, intercept unpenalized)."""
    return {"linear": linear_design((1.0, 0.5, 0.0), noise="gaussian", sigma=1.0, name="linear"),
            "logistic": logistic_design((1.0, 0.0), intercept=-1.5, name="logistic")}


# --------------------------------------------------------------------------- fits
class RootNFit:
    r"""Picklable fit for the Monte Carlo runner: sum-form L1 FGSM training with radius
    ``lam0 / sqrt(n)`` (``schedule="root_n"``) or a fixed radius ``eps`` (``"fixed"``);
    returns ``(intercept, coef)`` when ``intercept`` else ``coef``."""

    def __init__(self, family: str, schedule: str, value: float, intercept: bool):
        self.family = family
        self.schedule = schedule
        self.value = float(value)
        self.intercept = bool(intercept)

    def eps(self, n: int) -> float:
        return self.value / math.sqrt(n) if self.schedule == "root_n" else self.value

    def __call__(self, X, y):
        from ..estimators import GeneralizedFGSM
        est = GeneralizedFGSM(family=self.family, penalty="l1", eps=self.eps(X.shape[0]),
                              fit_intercept=self.intercept).fit(X, y, check_input=False)
        coef = np.ravel(est.coef_)
        return np.r_[np.ravel(est.intercept_), coef] if self.intercept else coef


# --------------------------------------------------------------------------- population minimizer
def _gauss_hermite_2d(n_nodes: int = 80):
    t, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / math.sqrt(2.0 * math.pi)
    T1, T2 = np.meshgrid(t, t, indexing="ij")
    return T1.ravel(), T2.ravel(), np.outer(w, w).ravel()


def population_risk(design: Design, theta, eps: float, *, n_nodes: int = 80) -> float:
    r"""Population FGSM risk :math:`R_\varepsilon(\theta) = E\,\ell(Y, X'\theta + \varepsilon s\lVert\beta\rVert_1)`
    (``theta`` with the intercept first when the design has one) by exact Gaussian integration.

    Linear: the residual :math:`r = Y - X'\theta` is :math:`N(m, \tau^2)` for Gaussian noise, and
    :math:`E(|r| + c)^2/2 = (E r^2 + 2cE|r| + c^2)/2` in closed form (folded normal).  Logistic:
    :math:`(\eta_0, \eta)` is bivariate normal and
    :math:`E[\mu_0\,\zeta(-\eta + c) + (1-\mu_0)\zeta(\eta + c)]` is computed by 2-d Gauss-Hermite
    quadrature (:math:`\zeta` the softplus, :math:`c = \varepsilon\lVert\beta\rVert_1`).
    """
    theta = np.asarray(theta, float)
    cov = design.covariates
    m, C = cov.mean_vector, cov.cov
    if design.has_intercept:
        a, b = theta[0], theta[1:]
        a0 = design.intercept
    else:
        a, b, a0 = 0.0, theta, 0.0
    c = eps * float(np.sum(np.abs(b)))
    b0 = design.beta
    if design.family == "gaussian":
        if design.noise.kind != "gaussian":
            raise ValueError("closed form needs Gaussian noise")
        dlt = b0 - b
        mu = (a0 - a) + float(m @ dlt)
        tau = math.sqrt(design.noise.sigma ** 2 + float(dlt @ C @ dlt))
        eabs = tau * math.sqrt(2.0 / math.pi) * math.exp(-mu ** 2 / (2 * tau ** 2)) + mu * (1 - 2 * stats.norm.cdf(-mu / tau))
        return 0.5 * (mu ** 2 + tau ** 2 + 2.0 * c * eabs + c ** 2)
    if design.family != "bernoulli":
        raise ValueError("population_risk handles the gaussian and bernoulli families")
    # (eta0, eta) bivariate normal
    mean = np.array([a0 + m @ b0, a + m @ b])
    S = np.array([[b0 @ C @ b0, b0 @ C @ b], [b @ C @ b0, b @ C @ b]])
    s0 = math.sqrt(S[0, 0])
    t1, t2, w = _gauss_hermite_2d(n_nodes)
    c1 = S[0, 1] / s0
    c2 = math.sqrt(max(S[1, 1] - c1 ** 2, 0.0))
    eta0 = mean[0] + s0 * t1
    eta = mean[1] + c1 * t1 + c2 * t2
    mu0 = special.expit(eta0)
    val = mu0 * np.logaddexp(0.0, -eta + c) + (1 - mu0) * np.logaddexp(0.0, eta + c)
    return float(np.sum(w * val))


def population_minimizer(design: Design, eps: float, *, free=None) -> np.ndarray:
    r""":math:`\arg\min R_\varepsilon` over the coordinates in ``free`` (default: the intercept and
    the nonzero coefficients of :math:`\beta_0`), the others held at 0.

    Holding the zero coefficients at 0 is justified when each such covariate is independent of
    the others and symmetric about 0 (true for both designs here): :math:`R_\varepsilon` is then
    even in that coefficient and convex, so 0 is a minimizer; :func:`run` also checks that moving
    a zero coefficient away from 0 increases the risk.
    """
    th0 = design.theta0
    free = np.flatnonzero((th0 != 0) | ~design.penalized) if free is None else np.asarray(free)

    def f(z):
        th = np.zeros_like(th0)
        th[free] = z
        return population_risk(design, th, eps)

    res = optimize.minimize(f, th0[free], method="BFGS", options={"gtol": 1e-11, "maxiter": 2000})
    res = optimize.minimize(f, res.x, method="Nelder-Mead",
                            options={"xatol": 1e-11, "fatol": 1e-15, "maxiter": 20000})
    th = np.zeros_like(th0)
    th[free] = res.x
    return th


def zero_coordinate_check(design: Design, theta, eps: float, h: float = 1e-4) -> float:
    """Smallest one-sided risk increase when a zero coordinate of ``theta`` moves by ``+-h``
    (positive: 0 is a local, hence by convexity global, minimizer in that direction)."""
    base = population_risk(design, theta, eps)
    incs = []
    for j in np.flatnonzero(theta == 0):
        for s in (-1.0, 1.0):
            t = theta.copy()
            t[j] = s * h
            incs.append(population_risk(design, t, eps) - base)
    return float(min(incs)) if incs else float("inf")


# --------------------------------------------------------------------------- statistics
def loglog_slope(ns, rmse):
    """OLS slope of log RMSE on log n."""
    x = np.log(np.asarray(ns, float))
    yv = np.log(np.asarray(rmse, float))
    xc = x - x.mean()
    return float(np.sum(xc * (yv - yv.mean())) / np.sum(xc ** 2))


def _rmse(E):
    """RMSE over replications of error vectors E (..., reps, d)."""
    return np.sqrt(np.mean(np.sum(E ** 2, axis=-1), axis=-1))


@dataclass
class RootNResult:
    scale: str
    ns: np.ndarray
    reps: int
    rmse: dict                 # (design, schedule) -> RMSE per n
    rmse_se: dict              # bootstrap SE per n
    slope: dict                # (design, schedule) -> fitted log-log slope
    slope_se: dict             # bootstrap SE of the slope
    sd: dict                   # (design, schedule) -> per-n, per-coordinate SD of the estimates
    sd_ratio: dict             # design -> ratios SD(n)/SD(4n) (root_n schedule), per pair and coordinate
    sd_ratio_se: dict
    sd_ratio_total: dict       # design -> ratio of sqrt(trace Cov) at n and 4n, per pair
    sd_ratio_total_se: dict
    theta_eps: dict            # design -> population minimizer at the fixed radius
    limit_distance: dict       # design -> ||theta_eps - theta0||
    mean_fixed: dict           # design -> mean estimate at each n (fixed eps)
    mean_fixed_se: dict
    theta0: dict
    zero_check: dict
    limit_rmse: dict           # design -> sqrt(E||U||^2), U the Theorem A limit (so RMSE ~ limit_rmse/sqrt(n))
    limit_rmse_se: dict
    scaled_bias: dict          # design -> mean of sqrt(n)(theta_hat - theta0) per n (root_n schedule)
    limit_bias: dict           # design -> mean of the Theorem A limit U
    verdicts: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)


def _verdict(value, tol, passed, what):
    return {"value": float(value), "tolerance": float(tol), "passed": bool(passed), "what": what}


def estimator_salt() -> str:
    """Hash of the source of :mod:`companion.estimators` and :mod:`companion.solver`, mixed into the
    cache keys so that cached fits are recomputed whenever the estimator code changes."""
    import hashlib
    import inspect

    from .. import estimators, solver
    src = inspect.getsource(estimators) + inspect.getsource(solver)
    return hashlib.sha256(src.encode()).hexdigest()[:16]


def _cache_dir():
    return default_cache_dir()


def run(scale: str | None = None, n_jobs: int | None = None, *, fit_cls=RootNFit) -> RootNResult:
    """Run (or load from the on-disk cache) the Monte Carlo of the chapter and compute the verdicts.

    ``scale``: ``"quick"`` or ``"full"`` (default ``$COMPANION_SCALE`` or ``"quick"``);
    ``n_jobs``: joblib workers (default ``$COMPANION_N_JOBS`` or 2).
    """
    scale = scale or os.environ.get("COMPANION_SCALE", "quick")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    n_jobs = int(n_jobs if n_jobs is not None else os.environ.get("COMPANION_N_JOBS", 2))
    cfg = SCALES[scale]
    ns, reps = np.asarray(cfg["ns"]), int(cfg["reps"])
    des = designs()
    settings = []
    for name, d in des.items():
        fam = d.family
        settings.append(Setting(f"{name}/root_n", d, fit_cls(fam, "root_n", LAM0, d.has_intercept),
                                add_intercept=False))
        settings.append(Setting(f"{name}/fixed", d, fit_cls(fam, "fixed", EPS_FIXED, d.has_intercept),
                                add_intercept=False))
    mc = run_experiment(settings, ns=ns, reps=reps, seed=SEED, n_jobs=n_jobs, cache_dir=_cache_dir(),
                        salt=estimator_salt(), progress=False)

    rng = np.random.default_rng(SEED)
    rmse, rmse_se, slope, slope_se, sd = {}, {}, {}, {}, {}
    sd_ratio, sd_ratio_se, sdt, sdt_se = {}, {}, {}, {}
    limit_rmse, limit_rmse_se, limit_bias, scaled_bias = {}, {}, {}, {}
    theta_eps, dist, mean_fixed, mean_fixed_se, theta0, zcheck = {}, {}, {}, {}, {}, {}
    verdicts = {}
    pairs = [(i, j) for i in range(len(ns)) for j in range(len(ns)) if ns[j] == 4 * ns[i]]
    for name, d in des.items():
        theta0[name] = d.theta0
        for sched in ("root_n", "fixed"):
            key = f"{name}/{sched}"
            E = mc.errors(key)                           # (len(ns), reps, d)
            if np.isnan(E).any():
                raise RuntimeError(f"{key}: failed fits")
            rmse[key] = _rmse(E)
            sd[key] = E.std(axis=1, ddof=1)
            # bootstrap: resample replications independently at each n
            idx = rng.integers(0, reps, size=(N_BOOT, reps))
            boot_rmse = np.stack([_rmse(E[a][idx]) for a in range(len(ns))], axis=1)   # (B, len(ns))
            rmse_se[key] = boot_rmse.std(axis=0, ddof=1)
            slope[key] = loglog_slope(ns, rmse[key])
            slope_se[key] = float(np.std([loglog_slope(ns, r) for r in boot_rmse], ddof=1))
            if sched == "root_n":
                boot_sd = np.stack([E[a][idx].std(axis=1, ddof=1) for a in range(len(ns))], axis=1)  # (B, n, d)
                with np.errstate(divide="ignore", invalid="ignore"):
                    sd_ratio[name] = np.array([sd[key][i] / sd[key][j] for i, j in pairs])
                    sd_ratio_se[name] = np.array([np.nanstd(boot_sd[:, i] / boot_sd[:, j], axis=0, ddof=1)
                                                  for i, j in pairs])
                tot = np.sqrt(np.sum(sd[key] ** 2, axis=-1))
                boot_tot = np.sqrt(np.sum(boot_sd ** 2, axis=-1))
                sdt[name] = np.array([tot[i] / tot[j] for i, j in pairs])
                sdt_se[name] = np.array([(boot_tot[:, i] / boot_tot[:, j]).std(ddof=1) for i, j in pairs])
        # Theorem A constant: RMSE * sqrt(n) -> sqrt(E||U||^2)
        pq = population_quantities(d)
        U = limit_draws(pq, LAM0, r=1.0, estimator="fgsm", n_draws=N_LIMIT, seed=SEED)
        q = np.sum(U ** 2, axis=1)
        limit_bias[name] = U.mean(axis=0)
        scaled_bias[name] = mc.scaled_errors(f"{name}/root_n").mean(axis=1)
        limit_rmse[name] = float(np.sqrt(q.mean()))
        limit_rmse_se[name] = float(q.std(ddof=1) / math.sqrt(N_LIMIT) / (2 * limit_rmse[name]))
        # fixed-eps limit
        te = population_minimizer(d, EPS_FIXED)
        theta_eps[name] = te
        zcheck[name] = zero_coordinate_check(d, te, EPS_FIXED)
        dist[name] = float(np.linalg.norm(te - d.theta0))
        est = mc.estimates[f"{name}/fixed"]
        mean_fixed[name] = est.mean(axis=1)
        mean_fixed_se[name] = est.std(axis=1, ddof=1) / math.sqrt(reps)

        s, sse = slope[f"{name}/root_n"], slope_se[f"{name}/root_n"]
        verdicts[f"{name}: log-log slope of RMSE (eps = lam0/sqrt n) within 0.05 of -1/2"] = _verdict(
            s, 0.05, abs(s + 0.5) <= 0.05, f"slope {s:.3g} (bootstrap SE {sse:.2g})")
        r, rse = sdt[name], sdt_se[name]
        z = np.abs(r - 2.0) / rse
        verdicts[f"{name}: total SD halves when n quadruples (ratio 2 within 3 SE)"] = _verdict(
            float(np.max(z)), 3.0, bool(np.all(z <= 3.0)),
            "ratios " + ", ".join(f"{v:.3g}+-{e:.2g}" for v, e in zip(r, rse)) + "; value = max |ratio-2|/SE")
        # at the largest n the mean of the fixed-eps estimate sits at theta_eps (within 3 SE)
        with np.errstate(divide="ignore", invalid="ignore"):
            zf = np.abs(mean_fixed[name][-1] - te) / mean_fixed_se[name][-1]
        zf = np.where(np.isfinite(zf), zf, 0.0)        # exact-zero coordinates with zero spread
        verdicts[f"{name}: fixed eps, mean estimate at n = {ns[-1]} equals the population minimizer (3 SE)"] = _verdict(
            float(np.max(zf)), 3.0, bool(np.all(zf <= 3.0)), "value = max over coordinates of |mean - theta_eps|/SE")
        # RMSE at the largest n: RMSE^2 = dist^2 + trace Cov  (check the bias part)
        key = f"{name}/fixed"
        bias2 = np.sum((mean_fixed[name][-1] - d.theta0) ** 2)
        verdicts[f"{name}: fixed eps, RMSE flattens (slope over the last three n above -0.25)"] = _verdict(
            loglog_slope(ns[-3:], rmse[key][-3:]), 0.25, loglog_slope(ns[-3:], rmse[key][-3:]) > -0.25,
            f"distance to the population minimizer {dist[name]:.3g}, RMSE at n = {ns[-1]}: {rmse[key][-1]:.3g}, "
            f"bias norm {math.sqrt(bias2):.3g}")
        c_sim = rmse[f"{name}/root_n"][-1] * math.sqrt(ns[-1])
        c_se = math.hypot(rmse_se[f"{name}/root_n"][-1] * math.sqrt(ns[-1]), limit_rmse_se[name])
        zc = abs(c_sim - limit_rmse[name]) / c_se
        verdicts[f"{name}: sqrt(n) RMSE at the largest n equals the Theorem A constant (3 SE)"] = _verdict(
            zc, 3.0, zc <= 3.0, f"sqrt(n) RMSE {c_sim:.3g} +- {c_se:.2g} vs limit {limit_rmse[name]:.3g}; value = |diff|/SE")
        verdicts[f"{name}: population minimizer keeps the zero coefficients at 0"] = _verdict(
            zcheck[name], 0.0, zcheck[name] > 0, "min risk increase moving a zero coordinate by 1e-4")
    return RootNResult(scale=scale, ns=ns, reps=reps, rmse=rmse, rmse_se=rmse_se, slope=slope, slope_se=slope_se,
                       sd=sd, sd_ratio=sd_ratio, sd_ratio_se=sd_ratio_se, sd_ratio_total=sdt,
                       sd_ratio_total_se=sdt_se, theta_eps=theta_eps, limit_distance=dist,
                       mean_fixed=mean_fixed, mean_fixed_se=mean_fixed_se, theta0=theta0, zero_check=zcheck,
                       limit_rmse=limit_rmse, limit_rmse_se=limit_rmse_se,
                       scaled_bias=scaled_bias, limit_bias=limit_bias, verdicts=verdicts,
                       info={"lam0": LAM0, "eps_fixed": EPS_FIXED, "seed": SEED, "pairs": [(int(ns[i]), int(ns[j])) for i, j in pairs],
                             "chunks_computed": mc.chunks_computed, "chunks_cached": mc.chunks_cached})
