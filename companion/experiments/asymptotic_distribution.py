r"""Experiment of the chapter *The asymptotic distribution* (``notebooks/asymptotic_distribution.ipynb``).

The simulated law of :math:`\sqrt n(\hat\theta - \theta_0)` of FGSM training with
``eps = lam0 / sqrt(n)`` (``companion.estimators.GeneralizedFGSM``, run through
``companion.montecarlo``) is compared with draws from the limit laws of
:mod:`companion.asymptotics`:

* ``A_linear``: Theorem A (L1), linear model, ``beta0 = (1, 0.5, 0)``, ``X ~ N(1, I)``, centred
  Exp(1) noise (so :math:`V = -E[\mathrm{sign}(e)]E[X] \ne 0`), no intercept;
* ``A_logistic``: Theorem A, ``X = (1, N(0,1), N(0,1))``, ``theta0 = (-1.5, 1, 0)``, intercept
  unpenalized (unbalanced: :math:`V \ne 0`);
* ``B_linear``: Theorem B with ``r = 2`` (margin shift :math:`\lVert\beta\rVert_2^2`) on the linear
  design above: a Gaussian limit.

Each is also compared with the *V-less* limit (the same limit with the :math:`V` term dropped),
which must be rejected.  Tests: means and standard deviations (z scores from Monte Carlo standard
errors of both samples), the point mass at 0 of zero coefficients (two-proportion z test), two-sample
Kolmogorov–Smirnov tests per coordinate at level 1% (for coordinates with an atom at 0, on the
nonzero parts), and a Wald (chi-square) test of the whole mean vector.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ..asymptotics import limit_draws, population_quantities, summarize_draws
from ..designs import linear_design, logistic_design
from ..montecarlo import Setting, run_experiment
from .root_n_consistency import _cache_dir, estimator_salt

__all__ = ["SCALES", "settings_spec", "AsympFit", "compare_laws", "AsymptoticResult", "run"]

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
    return {"A_linear": (lin, 1.0), "A_logistic": (log, 1.0), "B_linear": (lin, 2.0)}


class AsympFit:
    """Picklable fit: ``GeneralizedFGSM`` with L1 (``r = 1``) or bridge-``r`` margin shift and
    ``eps = lam0 / sqrt(n)``; returns ``(intercept, coef)`` when ``intercept`` else ``coef``."""

    def __init__(self, family: str, r: float, lam0: float, intercept: bool):
        self.family, self.r, self.lam0, self.intercept = family, float(r), float(lam0), bool(intercept)

    def __call__(self, X, y):
        from ..estimators import GeneralizedFGSM
        eps = self.lam0 / math.sqrt(X.shape[0])
        if self.r == 1.0:
            est = GeneralizedFGSM(family=self.family, penalty="l1", eps=eps, fit_intercept=self.intercept)
        else:
            est = GeneralizedFGSM(family=self.family, penalty="bridge", r=self.r, eps=eps,
                                  fit_intercept=self.intercept)
        est.fit(X, y)
        coef = np.ravel(est.coef_)
        return np.r_[np.ravel(est.intercept_), coef] if self.intercept else coef


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
    sim: dict            # setting -> R x d simulated sqrt(n)(theta_hat - theta0)
    limit: dict          # setting -> M x d draws from the limit (with V)
    limit_nov: dict      # setting -> M x d draws with the V term dropped
    cmp: dict            # setting -> compare_laws(sim, limit)
    cmp_nov: dict        # setting -> compare_laws(sim, limit without V)
    pq: dict             # setting -> PopulationQuantities
    theta0: dict
    verdicts: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)


def _verdict(value, tol, passed, what=""):
    return {"value": float(value), "tolerance": float(tol), "passed": bool(passed), "what": what}


def run(scale: str | None = None, n_jobs: int | None = None) -> AsymptoticResult:
    """Run (or load from the on-disk cache) the Monte Carlo and compare with the limit laws."""
    scale = scale or os.environ.get("COMPANION_SCALE", "quick")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    n_jobs = int(n_jobs if n_jobs is not None else os.environ.get("COMPANION_N_JOBS", 2))
    n, reps = int(SCALES[scale]["n"]), int(SCALES[scale]["reps"])
    spec = settings_spec()
    settings = [Setting(name, d, AsympFit(d.family, r, LAM0, d.has_intercept)) for name, (d, r) in spec.items()]
    mc = run_experiment(settings, ns=[n], reps=reps, seed=SEED, n_jobs=n_jobs, cache_dir=_cache_dir(),
                        salt=estimator_salt(), progress=False)
    rng = np.random.default_rng(SEED)
    sim, lim, lim_nov, cmp, cmp_nov, pqs, th0 = {}, {}, {}, {}, {}, {}, {}
    verdicts = {}
    for k, (name, (d, r)) in enumerate(spec.items()):
        S = mc.scaled_errors(name)[0]
        if np.isnan(S).any():
            raise RuntimeError(f"{name}: failed fits")
        pq = population_quantities(d)
        pq_nov = dataclasses.replace(pq, V=np.zeros_like(pq.V))
        # the same W draws for both limits: the V-less law differs only through the V term
        D = limit_draws(pq, LAM0, r=r, estimator="fgsm", n_draws=N_DRAWS, seed=SEED + k)
        D0 = limit_draws(pq_nov, LAM0, r=r, estimator="fgsm", n_draws=N_DRAWS, seed=SEED + k)
        sim[name], lim[name], lim_nov[name], pqs[name], th0[name] = S, D, D0, pq, d.theta0
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
                                  "r": {k: v[1] for k, v in spec.items()}})


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
