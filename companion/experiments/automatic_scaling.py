r"""Experiment of the chapter *Automatic penalty scaling* (``notebooks/automatic_scaling.ipynb``).

Linear model :math:`y = x'\beta_0 + \sigma e`, :math:`x \sim N(0, I_p)`, Gaussian noise, no intercept,
one nonzero coefficient.  At a fixed :math:`\lambda_0` and several noise levels :math:`\sigma`,
FGSM (:math:`\varepsilon = \lambda_0/\sqrt n`) and the Lasso (:math:`\alpha = \lambda_0\sqrt n`) are
fitted on the same data sets (common random numbers, :mod:`companion.montecarlo`).  Compared across
:math:`\sigma`:

* the selection frequency :math:`P(\hat\beta_j = 0)` of the zero coefficients;
* the bias/sd ratio of :math:`\sqrt n(\hat\beta_1 - \beta_{01})` of the nonzero coefficient;

against the limit laws (:func:`companion.asymptotics.orthogonal_limit`; :math:`I = I_p` here), with
and without the finite-``n`` correction of the FGSM quadratic term (see :func:`finite_n_fgsm_pq`).

``run()`` returns an :class:`AutoScalingResult` with the arrays for the figures and ``verdicts``.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import asymptotics as asy
from ..designs import linear_design, replication_rng
from ..montecarlo import Setting, default_cache_dir, resolve_run, run_experiment

__all__ = ["SIGMAS", "LAM0", "BETA0", "SCALES", "AutoScalingResult", "run", "fit_fgsm_l1",
           "fit_lasso", "fit_sqrt_lasso", "finite_n_fgsm_pq", "equivariance_check", "cache_dir", "resolve",
           "spot_setting", "results_table", "summarize", "config"]

SIGMAS = (0.5, 1.0, 2.0, 4.0)
LAM0 = 1.0
BETA0 = (1.0, 0.0, 0.0, 0.0)
SCALES = {"quick": {"reps": 300, "ns": (400, 1600)},
          "full": {"reps": 2000, "ns": (400, 1600, 6400)}}
SEED = 2018
#: mixed into every cache key: names the fitting code behind the cached fits (bump it when it changes)
SALT = "companion.estimators L1, tol 1e-9"


# --------------------------------------------------------------------------- fits
def _lean_fit(X, y, mode, strength, family, fit_intercept):
    """One L1 fit with companion's estimators (:class:`~companion.estimators.GeneralizedFGSM` with
    ``eps = strength`` or :class:`~companion.estimators.PenalizedGLM` with ``alpha = strength``);
    returns ``(intercept, coef)`` or ``coef``.  A fit that does not reach the solver tolerance
    raises (the runner would then stop), so no unconverged fit enters the results silently."""
    import warnings
    from ..estimators import GeneralizedFGSM, PenalizedGLM
    if mode == "fgsm":
        est = GeneralizedFGSM(family=family, penalty="l1", eps=strength, fit_intercept=fit_intercept, tol=1e-9)
    else:
        est = PenalizedGLM(family=family, penalty="l1", alpha=strength, fit_intercept=fit_intercept, tol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y, check_input=False)
    if not est.converged_:
        raise RuntimeError(f"{type(est).__name__} did not converge (residual {est.optimality_residual_:.2e})")
    coef = np.asarray(est.coef_, float).ravel()
    return np.r_[float(est.intercept_), coef] if fit_intercept else coef


def fit_fgsm_l1(X, y, lam0, family="gaussian", fit_intercept=False):
    r"""FGSM (L1) fit with :math:`\varepsilon = \lambda_0/\sqrt n`; returns ``(intercept, coef)`` or ``coef``."""
    return _lean_fit(X, y, "fgsm", lam0 / math.sqrt(X.shape[0]), family, fit_intercept)


def fit_lasso(X, y, lam0, family="gaussian", fit_intercept=False):
    r"""Penalized-likelihood (L1) fit with :math:`\alpha = \lambda_0\sqrt n`."""
    return _lean_fit(X, y, "penalized", lam0 * math.sqrt(X.shape[0]), family, fit_intercept)


def fit_sqrt_lasso(X, y, lam0, max_iter=100, rtol=1e-10):
    r"""Square-root Lasso :math:`\arg\min \lVert y - X\beta\rVert_2/\sqrt n + \lambda\lVert\beta\rVert_1` with
    :math:`\lambda = \lambda_0\sqrt{2/\pi}/\sqrt n` (no intercept), matched to FGSM's effective penalty.

    Its stationarity condition is that of the Lasso with :math:`\alpha = \lambda\sqrt n\lVert r\rVert_2
    = \lambda_0\sqrt{2/\pi}\lVert r\rVert_2`; it is solved by the fixed-point (scaled-Lasso) iteration
    :math:`\alpha_{k+1} = \lambda_0\sqrt{2/\pi}\lVert y - X\hat\beta(\alpha_k)\rVert_2` with
    :class:`~companion.estimators.PenalizedGLM` fits, which decreases the convex objective."""
    c = lam0 * math.sqrt(2.0 / math.pi)
    alpha = c * float(np.linalg.norm(y))
    for _ in range(max_iter):
        b = _lean_fit(X, y, "penalized", alpha, "gaussian", False)
        new = c * float(np.linalg.norm(y - X @ b))
        if abs(new - alpha) <= rtol * alpha:
            return b
        alpha = new
    raise RuntimeError("square-root Lasso fixed point did not converge")


def cache_dir() -> Path:
    """``$COMPANION_CACHE_DIR`` or ``<repository>/.mc_cache`` (:func:`companion.montecarlo.default_cache_dir`)."""
    return default_cache_dir()


def resolve(scale=None, n_jobs=None):
    """``scale`` (else ``$COMPANION_SCALE``, default ``"quick"``; one of ``SCALES``) and
    ``n_jobs`` (else ``$COMPANION_N_JOBS``, default 2)."""
    return resolve_run(scale, n_jobs, SCALES)


# --------------------------------------------------------------------------- theory
def finite_n_fgsm_pq(pq, lam0: float, n: int):
    r"""Second-order (finite-``n``) version of the FGSM limit for the linear model: population
    quantities with :math:`\kappa \to \kappa + \lambda_0\lVert\beta_0\rVert_1/\sqrt n` and
    :math:`\Sigma_W \to \Sigma_W + 2\lambda_0\lVert\beta_0\rVert_1\kappa I/\sqrt n`.

    The linear FGSM objective is :math:`\mathrm{RSS}/2 + \varepsilon\lVert\beta\rVert_1\sum_i|r_i|
    + n\varepsilon^2\lVert\beta\rVert_1^2/2`.  With :math:`\varepsilon = \lambda_0/\sqrt n`, two terms of
    order :math:`n^{-1/2}` survive at :math:`\beta_0 + u/\sqrt n`:

    * :math:`\lambda_0^2\lVert\beta\rVert_1^2/2` adds :math:`\lambda_0^2\lVert\beta_0\rVert_1/\sqrt n` to the
      weight :math:`\lambda_0\kappa` of :math:`\sum_j[u_j\mathrm{sign}(\beta_{0j}) + |u_j|1\{\beta_{0j}=0\}]`
      (this term does not scale with :math:`\sigma`);
    * :math:`\varepsilon\lVert\beta_0\rVert_1\sum_i|e_i - x_i'u/\sqrt n|` contributes the random linear term
      :math:`-\lambda_0\lVert\beta_0\rVert_1 Z_s'u/\sqrt n`, :math:`Z_s = n^{-1/2}\sum_i\mathrm{sign}(e_i)x_i`,
      which is correlated with :math:`W`: :math:`\mathrm{Cov}(W, Z_s) = E|e|\,E[xx'] = \kappa I`.

    A common rescaling of the curvature (from the second-order term of :math:`\sum_i|r_i|`) leaves
    the bias/sd ratio and :math:`P(\hat\beta_j = 0)` unchanged and is omitted; so is the
    mean-zero fluctuation of :math:`\sum_i|e_i|` (order :math:`1/n` in these summaries)."""
    l1 = float(np.sum(np.abs(pq.theta0[pq.penalized])))
    h = lam0 * l1 / math.sqrt(n)
    return dataclasses.replace(pq, kappa=pq.kappa + h, Sigma_W=pq.Sigma_W + 2.0 * h * pq.kappa * pq.I)


def equivariance_check(c: float = 3.0, n: int = 400, lam0: float = LAM0, seed: int = SEED) -> dict:
    r"""Exact finite-sample scale equivariance: fit on ``(X, y)`` and on ``(X, c*y)``.

    FGSM: :math:`\hat\beta(X, cy) = c\,\hat\beta(X, y)` exactly (its objective is homogeneous of
    degree 2 in :math:`(y, \beta)`); the Lasso is not equivariant at fixed :math:`\alpha`.
    Returns the relative errors ``|b(cy) - c b(y)| / |c b(y)|`` of both."""
    des = linear_design(BETA0, sigma=1.0)
    X, y = des.sample(n, replication_rng(des, n, 0, seed))
    out = {}
    for name, f in (("fgsm", fit_fgsm_l1), ("lasso", fit_lasso)):
        b1 = f(X, y, lam0)
        bc = f(X, c * y, lam0)
        out[name] = float(np.max(np.abs(bc - c * b1)) / np.max(np.abs(c * b1)))
    return out


# --------------------------------------------------------------------------- result
@dataclass
class AutoScalingResult:
    sigmas: np.ndarray
    ns: np.ndarray
    reps: int
    scale: str
    lam0: float
    beta0: np.ndarray
    # [estimator][n index, sigma index]
    p_zero: dict
    p_zero_se: dict
    bias_sd: dict
    bias_sd_se: dict
    pred_p_zero: dict           # limit prediction [estimator][sigma index]
    pred_bias_sd: dict
    pred2_p_zero: np.ndarray    # FGSM with the finite-n correction [n index, sigma index]
    pred2_bias_sd: np.ndarray
    paired_p_zero_diff: np.ndarray     # FGSM - square-root Lasso, share of zeros, same data [n index, sigma index]
    paired_p_zero_diff_se: np.ndarray
    abs_resid_ratio: np.ndarray     # mean over reps of sum|r_i| / (n sigma) at the FGSM fit, per sigma (largest n)
    abs_resid_ratio_se: np.ndarray
    equivariance: dict
    verdicts: dict = field(default_factory=dict)
    computed_chunks: int = 0
    mc: object = field(default=None, repr=False)

    def table(self) -> list:
        """Rows (estimator, n, sigma, p_zero, se, predicted, bias/sd, se, predicted) for printing."""
        rows = []
        for est in ("fgsm", "lasso", "sqrt_lasso"):
            for a, n in enumerate(self.ns):
                for k, s in enumerate(self.sigmas):
                    rows.append((est, int(n), float(s), self.p_zero[est][a, k], self.p_zero_se[est][a, k],
                                 self.pred_p_zero[est][k], self.bias_sd[est][a, k], self.bias_sd_se[est][a, k],
                                 self.pred_bias_sd[est][k]))
        return rows


def _constant_across(x, se):
    """Range across sigma and 3 SE of the difference between the extreme values."""
    i, j = int(np.argmax(x)), int(np.argmin(x))
    return float(x[i] - x[j]), float(3.0 * math.hypot(se[i], se[j]))


def run(scale=None, n_jobs=None) -> AutoScalingResult:
    """Run (or load from the cache) the Monte Carlo and compute the verdicts."""
    scale, n_jobs = resolve(scale, n_jobs)
    cfg = SCALES[scale]
    ns, reps = cfg["ns"], cfg["reps"]
    beta0 = np.asarray(BETA0)
    zero = beta0 == 0
    designs = {s: linear_design(BETA0, sigma=s, name=f"sigma={s}") for s in SIGMAS}
    fits = {"fgsm": functools.partial(fit_fgsm_l1, lam0=LAM0), "lasso": functools.partial(fit_lasso, lam0=LAM0),
            "sqrt_lasso": functools.partial(fit_sqrt_lasso, lam0=LAM0)}
    settings = [Setting(f"{est}|{s}", designs[s], f) for s in SIGMAS for est, f in fits.items()]
    mc = run_experiment(settings, ns=ns, reps=reps, seed=SEED, scale="quick", n_jobs=n_jobs,
                        cache_dir=cache_dir(), progress=False, salt=SALT)
    K, A = len(SIGMAS), len(ns)
    pz = {e: np.zeros((A, K)) for e in fits}
    pz_se = {e: np.zeros((A, K)) for e in fits}
    bs = {e: np.zeros((A, K)) for e in fits}
    bs_se = {e: np.zeros((A, K)) for e in fits}
    pred_pz = {e: np.zeros(K) for e in fits}
    pred_bs = {e: np.zeros(K) for e in fits}
    pred2_pz = np.zeros((A, K))
    pred2_bs = np.zeros((A, K))
    for k, s in enumerate(SIGMAS):
        pq = asy.population_quantities(designs[s])
        for e in fits:
            # the square-root Lasso with lambda = lam0 sqrt(2/pi)/sqrt(n) has FGSM's limit (V = 0 here)
            lim = asy.orthogonal_limit(pq, LAM0, "lasso" if e == "lasso" else "fgsm")
            pred_pz[e][k] = float(np.mean(lim["p_zero"][zero]))
            pred_bs[e][k] = float(lim["bias"][0] / math.sqrt(lim["variance"][0]))
            E = mc.scaled_errors(f"{e}|{s}")              # (A, reps, p)
            est = mc.estimates[f"{e}|{s}"]
            for a in range(A):
                z = (est[a][:, zero] == 0).mean(axis=1)    # per-replication share of zeros selected
                pz[e][a, k] = z.mean()
                pz_se[e][a, k] = z.std(ddof=1) / math.sqrt(reps)
                u = E[a][:, 0]
                r = u.mean() / u.std(ddof=1)
                bs[e][a, k] = r
                bs_se[e][a, k] = math.sqrt((1.0 + r * r / 2.0) / reps)
        for a, n in enumerate(ns):
            lim2 = asy.orthogonal_limit(finite_n_fgsm_pq(pq, LAM0, n), LAM0, "fgsm")
            pred2_pz[a, k] = float(np.mean(lim2["p_zero"][zero]))
            pred2_bs[a, k] = float(lim2["bias"][0] / math.sqrt(lim2["variance"][0]))

    # paired: FGSM - square-root Lasso on the same data sets (share of zero coefficients set to 0)
    pdiff, pdiff_se = np.zeros((A, K)), np.zeros((A, K))
    for k, s in enumerate(SIGMAS):
        for a in range(A):
            zf = (mc.estimates[f"fgsm|{s}"][a][:, zero] == 0).mean(axis=1)
            zq = (mc.estimates[f"sqrt_lasso|{s}"][a][:, zero] == 0).mean(axis=1)
            pdiff[a, k] = round(float((zf - zq).mean()), 12) + 0.0   # a multiple of 1/(3 reps): no round-off sign
            pdiff_se[a, k] = max((zf - zq).std(ddof=1), 1.0 / reps) / math.sqrt(reps)

    # square-root-Lasso link: sum|r_i| / n at the FGSM fit estimates kappa = sigma sqrt(2/pi)
    n_big = int(ns[-1])
    ratio, ratio_se = np.zeros(K), np.zeros(K)
    for k, s in enumerate(SIGMAS):
        est = mc.estimates[f"fgsm|{s}"][-1]
        vals = np.empty(reps)
        for i in range(reps):
            X, y = designs[s].sample(n_big, replication_rng(designs[s], n_big, i, SEED))
            vals[i] = np.mean(np.abs(y - X @ est[i])) / s
        ratio[k], ratio_se[k] = vals.mean(), vals.std(ddof=1) / math.sqrt(reps)
    eq = equivariance_check()

    from ..report import verdict
    v = []
    a = A - 1
    for e, label in (("fgsm", "FGSM"), ("lasso", "Lasso"), ("sqrt_lasso", "square-root Lasso")):
        rng_p, tol_p = _constant_across(pz[e][a], pz_se[e][a])
        rng_b, tol_b = _constant_across(bs[e][a], bs_se[e][a])
        if e != "lasso":
            v.append(verdict(f"{e}_p_zero_constant_in_sigma", rng_p, tol_p, None,
                             f"{label}: range of P(zero) across sigma (3 SE of the extreme pair)"))
            v.append(verdict(f"{e}_bias_sd_constant_in_sigma", rng_b, tol_b, None,
                             f"{label}: range of bias/sd across sigma (3 SE of the extreme pair)"))
        else:
            v.append(verdict("lasso_p_zero_changes_with_sigma", rng_p, tol_p, None,
                             f"{label}: range of P(zero) across sigma exceeds 3 SE", op=">"))
            v.append(verdict("lasso_bias_sd_changes_with_sigma", rng_b, tol_b, None,
                             f"{label}: range of bias/sd across sigma exceeds 3 SE", op=">"))
        zp = np.abs(pz[e][a] - pred_pz[e]) / pz_se[e][a]
        zb = np.abs(bs[e][a] - pred_bs[e]) / bs_se[e][a]
        v.append(verdict(f"{e}_p_zero_matches_limit", zp.max(), 3.0, None,
                         f"{label}: max over sigma of |sim - limit| / SE, n = {n_big}"))
        v.append(verdict(f"{e}_bias_sd_matches_limit", zb.max(), 3.0, None,
                         f"{label}: max over sigma of |sim - limit| / SE, n = {n_big}"))
    zd = np.abs(pdiff - (pred2_pz - pred_pz["fgsm"][None, :])) / pdiff_se
    v.append(verdict("fgsm_minus_sqrt_lasso_p_zero_second_order", zd.max(), 3.0, None,
                     "paired P(zero) FGSM - square-root Lasso vs the second-order FGSM term: max |z| over n, sigma"))
    zr = np.abs(ratio - math.sqrt(2.0 / math.pi)) / ratio_se
    v.append(verdict("mean_abs_residual_estimates_kappa", zr.max(), 3.0, None,
                     "max over sigma of |mean sum|r_i|/(n sigma) at the FGSM fit - sqrt(2/pi)| / SE "
                     "(law of large numbers at a consistent fit)", kind="sanity"))
    v.append(verdict("fgsm_exactly_scale_equivariant", eq["fgsm"], 1e-6, None,
                     "relative error of b(X, 3y) = 3 b(X, y) for FGSM (holds by algebra: the objective is "
                     "homogeneous in (y, beta))", kind="sanity", floor=1e-6))
    v.append(verdict("lasso_not_scale_equivariant", eq["lasso"], 1e-3, None,
                     "relative error of b(X, 3y) = 3 b(X, y) for the Lasso (by algebra: not homogeneous at fixed alpha)",
                     op=">", kind="sanity"))
    v = {x.name: x for x in v}
    return AutoScalingResult(np.asarray(SIGMAS), np.asarray(ns), reps, scale, LAM0, beta0, pz, pz_se, bs, bs_se,
                             pred_pz, pred_bs, pred2_pz, pred2_bs, pdiff, pdiff_se, ratio, ratio_se, eq, v, mc.chunks_computed,
                             mc=mc)


# --------------------------------------------------------------------------- summaries
ESTIMATORS = {"fgsm": "FGSM", "lasso": "Lasso", "sqrt_lasso": "square-root Lasso"}
SHORT = {"fgsm": "FGSM", "lasso": "Lasso", "sqrt_lasso": "sqrt-Lasso"}


def _designs():
    return {s: linear_design(BETA0, sigma=s, name=f"sigma={s}") for s in SIGMAS}


def spot_setting(name: str) -> Setting:
    """The :class:`~companion.montecarlo.Setting` called ``name`` (``"<estimator>|<sigma>"``), e.g. to
    recompute a committed spot check."""
    est, _, sig = name.partition("|")
    fits = {"fgsm": fit_fgsm_l1, "lasso": fit_lasso, "sqrt_lasso": fit_sqrt_lasso}
    if est not in fits:
        raise ValueError(f"setting name must start with one of {sorted(fits)} and '|', got {name!r}")
    try:
        s = float(sig)
    except ValueError:
        raise ValueError(f"setting name must end with a noise level from {SIGMAS}, got {name!r}") from None
    if s not in SIGMAS:
        raise ValueError(f"noise level {s} is not one of {SIGMAS}")
    return Setting(name, _designs()[s], functools.partial(fits[est], lam0=LAM0))


def results_table(res: AutoScalingResult, n_index: int = -1):
    """Simulation vs limit at one sample size: one row per noise level, P(zero) and bias/sd for the
    three estimators (SE in brackets)."""
    from ..report import Table, fmt, fmt_se
    a = n_index % len(res.ns)
    rows = []
    for k, s in enumerate(res.sigmas):
        row = [fmt(float(s))]
        for e in ESTIMATORS:
            row += [fmt_se(res.p_zero[e][a, k], res.p_zero_se[e][a, k]), fmt(res.pred_p_zero[e][k], 3)]
        rows.append(row)
    header = ["sigma"] + [h for e in ESTIMATORS for h in (f"{SHORT[e]} (SE)", "limit")]
    t1 = Table(header, rows, caption=f"P(zero coefficient set to 0), n = {int(res.ns[a])}, {res.reps} replications",
               align="r" * len(header))
    rows = []
    for k, s in enumerate(res.sigmas):
        row = [fmt(float(s))]
        for e in ESTIMATORS:
            row += [fmt_se(res.bias_sd[e][a, k], res.bias_sd_se[e][a, k]), fmt(res.pred_bias_sd[e][k], 3)]
        rows.append(row)
    header = ["sigma"] + [h for e in ESTIMATORS for h in (f"{SHORT[e]} (SE)", "limit")]
    t2 = Table(header, rows, caption=f"Bias/sd of the nonzero coefficient, n = {int(res.ns[a])}, {res.reps} replications",
               align="r" * len(header))
    return t1, t2


def summarize(res: AutoScalingResult) -> dict:
    """The chapter's committed summary (see :mod:`companion.results`)."""
    from .. import results
    tables = {}
    for a, n in enumerate(res.ns):
        for key, t in zip(("p_zero", "bias_sd"), results_table(res, a)):
            tables[f"{key}_n{int(n)}"] = {"header": list(t.header), "rows": [list(r) for r in t._cells()]}
    figures = {"sigmas": res.sigmas, "ns": res.ns, "lam0": res.lam0,
               "p_zero": res.p_zero, "p_zero_se": res.p_zero_se, "bias_sd": res.bias_sd, "bias_sd_se": res.bias_sd_se,
               "pred_p_zero": res.pred_p_zero, "pred_bias_sd": res.pred_bias_sd,
               "pred2_p_zero": res.pred2_p_zero, "pred2_bias_sd": res.pred2_bias_sd,
               "paired_p_zero_diff": res.paired_p_zero_diff, "paired_p_zero_diff_se": res.paired_p_zero_diff_se,
               "abs_resid_ratio": res.abs_resid_ratio, "abs_resid_ratio_se": res.abs_resid_ratio_se}
    spots = [results.spot(res.mc, "fgsm|0.5", 0, 0, 20), results.spot(res.mc, "lasso|4.0", 0, 20, 40),
             results.spot(res.mc, "sqrt_lasso|1.0", 0, 40, 60)]
    cpu = float(sum(np.sum(v) for v in res.mc.worker_seconds.values()))
    return {"verdicts": res.verdicts, "tables": tables, "figures": {"noise_levels": figures}, "spot": spots,
            "compute": {"fit_cpu_seconds": round(cpu, 0), "replications": int(res.reps * len(res.ns) * len(res.mc.settings))}}


def config(res: AutoScalingResult) -> dict:
    return {"reps": res.reps, "ns": res.ns, "sigmas": res.sigmas, "lam0": res.lam0, "beta0": res.beta0, "seed": SEED}


if __name__ == "__main__":
    # run the functions of the imported module, not of __main__: the fit functions' names enter the
    # Monte Carlo cache keys, which are then shared with the notebook
    from companion import results as _results
    from companion.experiments import automatic_scaling as _mod
    _results.main("automatic_scaling", _mod.run, _mod.summarize, _mod.config)
