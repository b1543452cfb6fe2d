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

:func:`run` returns a :class:`RootNResult` with the arrays for the figures and a ``verdicts`` dict of
:class:`~companion.report.Verdict` records; :func:`summarize` and the command line
``python -m companion.experiments.root_n_consistency --scale full`` write the committed summary.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import optimize, special, stats

from ..asymptotics import population_quantities
from ..designs import Design, linear_design, logistic_design
from ..montecarlo import Setting, default_cache_dir, run_experiment
from ..report import fmt, fmt_se, verdict

__all__ = ["SCALES", "designs", "population_risk", "population_minimizer", "zero_coordinate_check", "risk_error",
           "RootNFit", "RootNResult", "loglog_slope", "run", "summarize", "config", "spot_setting"]

#: sample sizes and replications per scale
SCALES = {
    "quick": {"ns": (250, 500, 1000, 2000, 4000), "reps": 200},
    "full": {"ns": (250, 500, 1000, 2000, 4000, 8000, 16000), "reps": 2000},
}
LAM0 = 1.0          # eps_n = LAM0 / sqrt(n)
EPS_FIXED = 0.1     # the fixed radius
SEED = 20181027
N_BOOT = 2000


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
    seed: int
    ns: np.ndarray
    reps: int
    rmse: dict                 # (design, schedule) -> RMSE per n
    rmse_se: dict              # bootstrap SE per n
    slope: dict                # (design, schedule) -> fitted log-log slope
    slope_se: dict             # bootstrap SE of the slope
    sd: dict                   # (design, schedule) -> per-n, per-coordinate SD of the estimates
    sd_ratio_total: dict       # (design, schedule) -> ratio of sqrt(trace Cov) at n and 4n, per pair
    sd_ratio_total_se: dict
    theta_eps: dict            # design -> population minimizer at the fixed radius
    limit_distance: dict       # design -> ||theta_eps - theta0||
    mean_fixed: dict           # design -> mean estimate at each n (fixed eps)
    mean_fixed_se: dict
    theta0: dict
    zero_check: dict           # design -> smallest risk increase moving a zero coefficient by ZERO_STEP
    risk_error: dict           # design -> numerical error bound of the population risk (quadrature)
    limit_rmse: dict           # design -> sqrt(E||U||^2), U the Theorem A limit, in closed form
    scaled_bias: dict          # design -> mean of sqrt(n)(theta_hat - theta0) per n (root_n schedule)
    scaled_bias_se: dict
    limit_bias: dict           # design -> E U in closed form
    mc: object = None
    verdicts: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)


#: step of the zero-coefficient check and the smallest risk increase that counts as an increase: 100
#: times :data:`RISK_ERROR_MAX`, the largest numerical error of the population risk that is accepted
ZERO_STEP = 1e-4
ZERO_MIN_INCREASE = 1e-9
RISK_ERROR_MAX = 1e-11
#: verdict tolerances (fixed before the data were seen)
SLOPE_TOL = 0.05
Z_TOL = 3.0
FLAT_SLOPE = -0.25


def estimator_salt() -> str:
    """The package's code hash (:func:`companion.montecarlo.package_code_hash`: every module that
    computes fits), mixed into the cache keys so that cached fits are recomputed whenever the
    estimator code changes."""
    from ..montecarlo import package_code_hash
    return package_code_hash()


def _cache_dir():
    return default_cache_dir()


def risk_error(design: Design, theta, eps: float, h: float = ZERO_STEP) -> float:
    """Numerical error bound of :func:`population_risk` at the points of :func:`zero_coordinate_check`:
    the largest change between 80 and 160 quadrature nodes (0 for the closed-form linear risk) plus
    64 units of round-off of the risk value."""
    pts = [np.asarray(theta, float)]
    for j in np.flatnonzero(np.asarray(theta) == 0):
        for s in (-1.0, 1.0):
            t = np.array(theta, float)
            t[j] = s * h
            pts.append(t)
    err = 0.0
    for t in pts:
        a = population_risk(design, t, eps, n_nodes=80)
        b = population_risk(design, t, eps, n_nodes=160)
        err = max(err, abs(a - b) + 64 * np.finfo(float).eps * abs(a))
    return float(err)


def run(scale: str | None = None, n_jobs: int | None = None, *, seed: int = SEED,
        fit_cls=RootNFit) -> RootNResult:
    """Run (or load from the on-disk cache) the Monte Carlo of the chapter and compute the verdicts.

    ``scale``: ``"quick"`` or ``"full"`` (default ``$COMPANION_SCALE`` or ``"quick"``);
    ``n_jobs``: joblib workers (default ``$COMPANION_N_JOBS`` or 2); ``seed``: the Monte Carlo seed
    (the chapter's verdicts were fixed on :data:`SEED`; other seeds give fresh data).
    """
    from .asymptotic_distribution import theorem_a_exact_moments

    scale = scale or os.environ.get("COMPANION_SCALE", "quick")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
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
    mc = run_experiment(settings, ns=ns, reps=reps, seed=int(seed), n_jobs=n_jobs, cache_dir=_cache_dir(),
                        salt=estimator_salt(), progress=False)

    rng = np.random.default_rng(int(seed))
    rmse, rmse_se, slope, slope_se, sd, sdt, sdt_se = {}, {}, {}, {}, {}, {}, {}
    limit_rmse, limit_bias, scaled_bias, scaled_bias_se = {}, {}, {}, {}
    theta_eps, dist, mean_fixed, mean_fixed_se, theta0, zcheck, rerr = {}, {}, {}, {}, {}, {}, {}
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
            boot_sd = np.stack([E[a][idx].std(axis=1, ddof=1) for a in range(len(ns))], axis=1)  # (B, n, d)
            tot = np.sqrt(np.sum(sd[key] ** 2, axis=-1))
            boot_tot = np.sqrt(np.sum(boot_sd ** 2, axis=-1))
            sdt[key] = np.array([tot[i] / tot[j] for i, j in pairs])
            sdt_se[key] = np.array([(boot_tot[:, i] / boot_tot[:, j]).std(ddof=1) for i, j in pairs])
        # Theorem A constant in closed form: RMSE * sqrt(n) -> sqrt(E||U||^2)
        ex = theorem_a_exact_moments(population_quantities(d), LAM0)
        limit_bias[name] = ex["mean"]
        limit_rmse[name] = float(np.sqrt(np.sum(ex["sd"] ** 2 + ex["mean"] ** 2)))
        Sc = mc.scaled_errors(f"{name}/root_n")
        scaled_bias[name] = Sc.mean(axis=1)
        scaled_bias_se[name] = Sc.std(axis=1, ddof=1) / math.sqrt(reps)
        # fixed-eps limit
        te = population_minimizer(d, EPS_FIXED)
        theta_eps[name] = te
        zcheck[name] = zero_coordinate_check(d, te, EPS_FIXED, h=ZERO_STEP)
        rerr[name] = risk_error(d, te, EPS_FIXED)
        dist[name] = float(np.linalg.norm(te - d.theta0))
        est = mc.estimates[f"{name}/fixed"]
        mean_fixed[name] = est.mean(axis=1)
        mean_fixed_se[name] = est.std(axis=1, ddof=1) / math.sqrt(reps)

        s, sse = slope[f"{name}/root_n"], slope_se[f"{name}/root_n"]
        verdicts[f"{name}: RMSE slope"] = verdict(
            f"{name}: RMSE slope", abs(s + 0.5), SLOPE_TOL,
            statement=f"log-log slope of the RMSE at eps_n = 1/sqrt(n) is {fmt_se(s, sse)}; "
                      f"value = |slope + 1/2|")
        c_sim = rmse[f"{name}/root_n"][-1] * math.sqrt(ns[-1])
        c_se = rmse_se[f"{name}/root_n"][-1] * math.sqrt(ns[-1])
        zc = abs(c_sim - limit_rmse[name]) / c_se
        verdicts[f"{name}: Theorem A constant"] = verdict(
            f"{name}: Theorem A constant", zc, Z_TOL,
            statement=f"sqrt(n) RMSE at n = {ns[-1]} is {fmt_se(c_sim, c_se)}, closed-form limit "
                      f"{fmt(limit_rmse[name], 4)}; value = |z|")
        with np.errstate(divide="ignore", invalid="ignore"):
            zf = np.abs(mean_fixed[name][-1] - te) / mean_fixed_se[name][-1]
        zf = np.where(np.isfinite(zf), zf, 0.0)        # exact-zero coordinates with zero spread
        verdicts[f"{name}: fixed eps targets beta_eps"] = verdict(
            f"{name}: fixed eps targets beta_eps", float(np.max(zf)), Z_TOL,
            statement=f"mean fixed-eps estimate at n = {ns[-1]} equals the population minimizer; "
                      f"value = max |z| over coordinates")
        fs = loglog_slope(ns[-3:], rmse[f"{name}/fixed"][-3:])
        verdicts[f"{name}: fixed eps RMSE flattens"] = verdict(
            f"{name}: fixed eps RMSE flattens", fs, FLAT_SLOPE, op=">",
            statement=f"log-log slope of the fixed-eps RMSE over the last three n (a root-n estimator: -1/2)")
        verdicts[f"{name}: zero coefficient of beta_eps"] = verdict(
            f"{name}: zero coefficient of beta_eps", zcheck[name], ZERO_MIN_INCREASE, op=">",
            statement=f"moving a zero coefficient of beta_eps by +-{fmt(ZERO_STEP)} raises R_eps by more "
                      f"than 100 times its numerical error bound")
        verdicts[f"{name}: accuracy of R_eps"] = verdict(
            f"{name}: accuracy of R_eps", rerr[name], RISK_ERROR_MAX, kind="sanity", floor=RISK_ERROR_MAX,
            statement="numerical error of R_eps at those points (quadrature 80 vs 160 nodes, round-off)")
        zs = {sch: np.abs(sdt[f"{name}/{sch}"] - 2.0) / sdt_se[f"{name}/{sch}"] for sch in ("root_n", "fixed")}
        verdicts[f"{name}: SD halves when n quadruples"] = verdict(
            f"{name}: SD halves when n quadruples", float(np.max(zs["root_n"])), Z_TOL, kind="sanity",
            statement=f"SD(n)/SD(4n) within 3 SE of 2; holds for the inconsistent fixed-eps estimator "
                      f"too (max |z| {fmt(float(np.max(zs['fixed'])), 2)}), so it does not test the rate")
    return RootNResult(scale=scale, seed=int(seed), ns=ns, reps=reps, rmse=rmse, rmse_se=rmse_se, slope=slope,
                       slope_se=slope_se, sd=sd, sd_ratio_total=sdt, sd_ratio_total_se=sdt_se,
                       theta_eps=theta_eps, limit_distance=dist, mean_fixed=mean_fixed,
                       mean_fixed_se=mean_fixed_se, theta0=theta0, zero_check=zcheck, risk_error=rerr,
                       limit_rmse=limit_rmse, scaled_bias=scaled_bias, scaled_bias_se=scaled_bias_se,
                       limit_bias=limit_bias, mc=mc, verdicts=verdicts,
                       info={"lam0": LAM0, "eps_fixed": EPS_FIXED, "seed": int(seed),
                             "pairs": [(int(ns[i]), int(ns[j])) for i, j in pairs],
                             "chunks_computed": mc.chunks_computed, "chunks_cached": mc.chunks_cached})


def config(res: RootNResult) -> dict:
    """The configuration stored with the summary."""
    return {"ns": res.ns, "reps": res.reps, "seed": res.seed, "lam0": LAM0, "eps_fixed": EPS_FIXED,
            "n_boot": N_BOOT}


def summarize(res: RootNResult) -> dict:
    """The chapter's summary for ``results/<scale>/root_n_consistency.json``: verdicts, the RMSE table,
    the arrays behind the RMSE figure and three spot chunks of replications."""
    from .. import results

    rows = []
    for key in res.rmse:
        rows.append([key] + [fmt_se(r, s) for r, s in zip(res.rmse[key], res.rmse_se[key])])
    tables = {"rmse": {"header": ["setting"] + [f"n = {n}" for n in res.ns], "rows": rows},
              "limits": {"header": ["design", "sqrt(n) RMSE limit", "||beta_eps - beta0||",
                                    "RMSE slope (eps_n = 1/sqrt n)", "RMSE slope (fixed eps)"],
                         "rows": [[name, fmt(res.limit_rmse[name], 4), fmt(res.limit_distance[name], 4),
                                   fmt_se(res.slope[f"{name}/root_n"], res.slope_se[f"{name}/root_n"]),
                                   fmt_se(res.slope[f"{name}/fixed"], res.slope_se[f"{name}/fixed"])]
                                  for name in res.theta0]}}
    figures = {"rmse": {"ns": res.ns, "rmse": res.rmse, "rmse_se": res.rmse_se, "slope": res.slope,
                        "limit_rmse": res.limit_rmse, "limit_distance": res.limit_distance}}
    spot = [results.spot(res.mc, "linear/root_n", 0, 0, 20), results.spot(res.mc, "logistic/root_n", 0, 20, 40),
            results.spot(res.mc, "logistic/fixed", len(res.ns) - 1, 0, 20)]
    return {"verdicts": res.verdicts, "tables": tables, "figures": figures, "spot": spot,
            "theta_eps": res.theta_eps, "scaled_bias": res.scaled_bias, "limit_bias": res.limit_bias}


def spot_setting(name: str) -> Setting:
    """The :class:`~companion.montecarlo.Setting` named ``name`` (``"<design>/<schedule>"``), for
    :func:`companion.results.recompute_spot`."""
    design, _, sched = name.partition("/")
    des = designs()
    if design not in des or sched not in ("root_n", "fixed"):
        raise ValueError(f"name must be '<linear|logistic>/<root_n|fixed>', got {name!r}")
    d = des[design]
    value = LAM0 if sched == "root_n" else EPS_FIXED
    return Setting(name, d, RootNFit(d.family, sched, value, d.has_intercept), add_intercept=False)


if __name__ == "__main__":
    from .. import results as _results
    _results.main("root_n_consistency", run, summarize, config)
