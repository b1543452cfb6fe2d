r"""Experiments of the chapter *Oracle property* (``notebooks/oracle_property.ipynb``).

Design: linear model :math:`y = x'\beta_0 + e`, :math:`\beta_0 = (1, 0.5, 0)`, :math:`x \sim N(\mathbf 1, I_3)`,
no intercept, centred exponential noise :math:`e = E - 1` (so :math:`V = -E[\mathrm{sign}(e)]E[X] \ne 0`).
Settings (all fitted by ``companion.estimators.GeneralizedFGSM``, common random numbers):

* ``scad_n13``: SCAD-FGSM with ``eps = 1`` and :math:`\lambda_n = c_3 n^{-1/3}` (:math:`\sqrt n\lambda_n^2 \to 0`: oracle);
* ``scad_n15``: SCAD-FGSM with ``eps = 1`` and :math:`\lambda_n = c_5 n^{-1/5}`
  (:math:`\sqrt n\lambda_n \to\infty` but :math:`\sqrt n\lambda_n^2 \to \infty`: the "weak oracle");
* ``bridge``: :math:`L_{1/2}`-FGSM with :math:`n\varepsilon_n = \lambda_0 n^{3/8}` (between the Theorem C rate
  :math:`n^{1/4}` and :math:`n^{1/2}`, so zeros are killed with probability :math:`\to 1` and the bias on the
  support vanishes like :math:`n^{-1/8}`);
* ``bridge_thmC``: the same at the Theorem C rate :math:`n\varepsilon_n = \lambda_0 n^{r/2}`, where the
  limit keeps a point mass below one at zero (shown for contrast, no verdict);
* ``oracle``: least squares on the true support (the known-support MLE), zero elsewhere.

Bias on the support is predicted twice: to first order (``companion.asymptotics.scad_support_bias``
and ``theorem_c_leftover_bias``) and exactly at each ``n`` by the *population* minimizer
:func:`population_support_bias`, :math:`\sqrt n(\beta^*_n - \beta_0)` with
:math:`\beta^*_n = \arg\min_{\beta_3 = 0} E\,\tfrac12(|Y - X'\beta| + \varepsilon_nP_n(\beta))^2`.  On the
event :math:`\hat\beta_3 = 0` the paired bias matches the latter; the first-order formula differs from
it by a relative :math:`O(\varepsilon_nP_n)` (curvature of :math:`E|r|` and of :math:`P` and the
:math:`\varepsilon_n^2` term), which paper-scale replication counts resolve.

``run()`` returns an :class:`OracleResult` with per-``n`` summaries and ``verdicts``.
"""
from __future__ import annotations

import functools
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..asymptotics import limit_draws, population_quantities, scad_support_bias, theorem_c_leftover_bias
from ..designs import linear_design
from ..montecarlo import Setting, default_cache_dir, run_experiment

__all__ = ["run", "OracleResult", "DESIGN", "SCALES", "fit_scad", "fit_bridge", "fit_bridge_rate", "fit_oracle",
           "lam_scad", "eps_bridge", "population_objective", "population_support_bias", "setting_penalty"]

DESIGN = linear_design((1.0, 0.5, 0.0), noise="exponential", sigma=1.0, mean=1.0,
                       name="oracle: linear, Exp(1)-1 noise, X ~ N(1, I)")
SUPPORT = np.array([True, True, False])
A_SCAD = 3.7
C13, C15 = 0.553, 0.3          # lam_n = C * n^-power; both give lam_100 = 0.119 (a*lam < 0.5)
LAM0_BRIDGE, R_BRIDGE = 1.0, 0.5
SCALES = {"quick": {"reps": 200, "ns": (100, 300, 1000, 3000)},
          "full": {"reps": 2000, "ns": (100, 300, 1000, 3000, 10000)}}
CACHE_DIR = default_cache_dir() / "oracle_property"
SALT = "oracle-2"   # bump when the solver changes


def lam_scad(n, c, power):
    r""":math:`\lambda_n = c\,n^{-\text{power}}`."""
    return c * float(n) ** (-power)


def eps_bridge(n, lam0=LAM0_BRIDGE, r=R_BRIDGE):
    r"""Sum-form radius with :math:`n\varepsilon_n = \lambda_0 n^{(1+r)/4}` (:math:`n^{3/8}` for r = 1/2)."""
    return lam0 * float(n) ** ((1.0 + r) / 4.0 - 1.0)


def _gfgsm(X, y, **kw):
    from ..estimators import GeneralizedFGSM
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = GeneralizedFGSM(family="gaussian", fit_intercept=False, max_iter=500, **kw).fit(X, y, check_input=False)
    return est.coef_


def fit_scad(X, y, c, power, a=A_SCAD):
    """SCAD-FGSM, eps = 1, lam_n = c n^-power (LLA from the L1 start: a local minimizer)."""
    return _gfgsm(X, y, penalty="scad", eps=1.0, lam=lam_scad(X.shape[0], c, power), a=a)


def fit_bridge(X, y, lam0=LAM0_BRIDGE, r=R_BRIDGE):
    """L_r-FGSM (r < 1) with n eps_n = lam0 n^((1+r)/4) (LLA from the L1 start)."""
    return _gfgsm(X, y, penalty="bridge", r=r, eps=eps_bridge(X.shape[0], lam0, r))


def fit_bridge_rate(X, y, lam0=LAM0_BRIDGE, r=R_BRIDGE, gamma=0.25):
    """L_r-FGSM with n eps_n = lam0 n^gamma (gamma = r/2: the Theorem C rate)."""
    return _gfgsm(X, y, penalty="bridge", r=r, eps=lam0 * float(X.shape[0]) ** (gamma - 1.0))


def fit_oracle(X, y):
    """Least squares on the true support (the oracle / known-support MLE)."""
    b = np.zeros(X.shape[1])
    b[SUPPORT] = np.linalg.lstsq(X[:, SUPPORT], y, rcond=None)[0]
    return b


def setting_penalty(setting, n):
    """``(penalty, eps)`` used by ``setting`` at sample size ``n``."""
    from ..penalties import SCAD, Bridge
    if setting == "scad_n13":
        return SCAD(lam_scad(n, C13, 1 / 3), A_SCAD), 1.0
    if setting == "scad_n15":
        return SCAD(lam_scad(n, C15, 1 / 5), A_SCAD), 1.0
    if setting == "bridge":
        return Bridge(R_BRIDGE), eps_bridge(n)
    raise ValueError(f"setting must be 'scad_n13', 'scad_n15' or 'bridge', got {setting!r}")


def population_objective(beta, eps, penalty, design=DESIGN, _drop_constant=False):
    r"""Population Generalized-FGSM risk of the linear design with centred exponential noise,
    :math:`E\,\tfrac12(|r| + \varepsilon P(\beta))^2 = \tfrac12(E r^2 + 2\varepsilon P E|r| + \varepsilon^2P^2)`,
    :math:`r = e + Z`, :math:`Z = X'(\beta_0 - \beta) \sim N(\mu, \tau^2)`, :math:`e = \sigma(E-1)`,
    :math:`E \sim` Exp(1).  In closed form, with :math:`a = (\sigma - \mu)/\tau`,
    :math:`E|r| = \mu(1 - 2\Phi(a)) + 2\tau\phi(a) + 2\sigma e^{\mu/\sigma + \tau^2/(2\sigma^2) - 1}\Phi(a - \tau/\sigma)`
    (from :math:`E|E - c| = c - 1 + 2e^{-c}` for :math:`c \ge 0` and :math:`1 - c` for :math:`c < 0`)."""
    from scipy.special import ndtr
    if design.family != "gaussian" or design.noise.kind != "exponential" or design.has_intercept:
        raise ValueError("population_objective needs the linear design with centred exponential "
                         "noise and no intercept")
    beta = np.asarray(beta, float)
    d = design.beta - beta
    cov = design.covariates
    mu = float(cov.mean_vector @ d)
    tau = math.sqrt(max(float(d @ cov.cov @ d), 0.0))
    sig = design.noise.sigma
    if tau == 0.0:
        c = 1.0 - mu / sig
        eabs = sig * (c - 1.0 + 2.0 * math.exp(-c) if c >= 0 else 1.0 - c)
    else:
        a = (sig - mu) / tau
        eabs = (mu * (1.0 - 2.0 * ndtr(a)) + 2.0 * tau * math.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
                + 2.0 * sig * math.exp(mu / sig + tau ** 2 / (2.0 * sig ** 2) - 1.0) * ndtr(a - tau / sig))
    P = float(penalty.value(beta))
    # the constant sigma^2 / 2 is kept apart so that minimizers can drop it (no cancellation)
    varying = 0.5 * (mu ** 2 + tau ** 2) + eps * P * float(eabs) + 0.5 * eps ** 2 * P ** 2
    return varying if _drop_constant else 0.5 * sig ** 2 + varying


def population_support_bias(setting, n, design=DESIGN):
    r""":math:`\sqrt n(\beta^*_{n,S} - \beta_{0S})`, :math:`\beta^*_n` the minimizer of
    :func:`population_objective` over the support with the zero coefficients held at 0 (the event
    :math:`\hat\beta_{S^c} = 0`); started at :math:`\beta_0`, BFGS then Nelder–Mead polish."""
    from scipy import optimize
    pen, eps = setting_penalty(setting, n)
    S = np.flatnonzero(SUPPORT)

    rn = math.sqrt(n)
    scale = None

    def f(u):          # in u = sqrt(n)(beta_S - beta0_S), without the constant sigma^2/2
        b = np.zeros(design.p)
        b[S] = design.beta[S] + u / rn
        return population_objective(b, eps, pen, design, _drop_constant=True) / scale

    scale = 1.0
    scale = abs(f(np.zeros(S.size))) or 1.0     # objective values of order 1 for the tolerances
    r1 = optimize.minimize(f, np.zeros(S.size), method="BFGS", options={"gtol": 1e-12, "maxiter": 1000})
    r2 = optimize.minimize(f, r1.x, method="Nelder-Mead",
                           options={"xatol": 1e-11, "fatol": 1e-16, "maxiter": 20000})
    return r2.x


def settings():
    return [Setting("scad_n13", DESIGN, functools.partial(fit_scad, c=C13, power=1 / 3)),
            Setting("scad_n15", DESIGN, functools.partial(fit_scad, c=C15, power=1 / 5)),
            Setting("bridge", DESIGN, functools.partial(fit_bridge, lam0=LAM0_BRIDGE, r=R_BRIDGE)),
            Setting("bridge_thmC", DESIGN, functools.partial(fit_bridge_rate, lam0=LAM0_BRIDGE, r=R_BRIDGE,
                                                             gamma=R_BRIDGE / 2)),
            Setting("oracle", DESIGN, fit_oracle)]


def verdict(value, tol, note=""):
    return {"value": float(value), "tolerance": float(tol), "passed": bool(value <= tol), "note": note}


@dataclass
class OracleResult:
    ns: np.ndarray
    reps: int
    scale: str
    p_zero: dict            # setting -> (len(ns),) P(beta_hat_3 = 0)
    p_zero_se: dict
    p_support: dict         # setting -> P(both support coefficients nonzero)
    sd: dict                # setting -> (len(ns), 2) sd of sqrt(n)(b - b0) on the support
    sd_ratio: dict          # setting -> (len(ns), 2) sd / oracle sd
    sd_ratio_se: dict       # bootstrap SE of the ratio
    bias: dict              # setting -> (len(ns), 2) mean sqrt(n)(b - b0) on the support
    bias_se: dict
    paired_bias: dict       # setting -> (len(ns), 2) mean sqrt(n)(b - b_oracle) on the support
    paired_bias_se: dict
    predicted_bias: dict    # setting -> (len(ns), 2) first-order prediction
    lam: dict               # setting -> (len(ns),) lam_n (SCAD) or n eps_n (bridge)
    population_bias: dict = field(default_factory=dict)    # setting -> (len(ns), 2) population-minimizer prediction
    zero_found_bias: dict = field(default_factory=dict)    # setting -> paired bias on the event b3 = 0
    zero_found_se: dict = field(default_factory=dict)
    zero_found_fraction: dict = field(default_factory=dict)
    first_order_gap: dict = field(default_factory=dict)    # setting -> {n: max relative gap first-order vs population}
    sd_ratio_zero_found: dict = field(default_factory=dict)  # sd / oracle sd on the event b3 = 0 (same data sets)
    sd_ratio_zero_found_se: dict = field(default_factory=dict)
    conditional_bias: dict = field(default_factory=dict)   # SCAD: paired bias on the "good" event
    conditional_se: dict = field(default_factory=dict)
    good_fraction: dict = field(default_factory=dict)
    minimizers: dict = field(default_factory=dict)
    thm_c_limit_p_zero: dict = field(default_factory=dict)   # rule -> P(u_3 = 0) in the Theorem C limit
    pq: object = None
    verdicts: dict = field(default_factory=dict)

    def summary_lines(self):
        return [f"{k:44s} {v['value']:.3g} <= {v['tolerance']:.3g}  {'PASS' if v['passed'] else 'FAIL'}"
                for k, v in self.verdicts.items()]


def _boot_sd_ratio(a, b, rng, B=400):
    """Bootstrap SE (paired resampling of replications) of sd(a)/sd(b), column-wise."""
    m = a.shape[0]
    out = np.empty((B, a.shape[1]))
    for k in range(B):
        i = rng.integers(0, m, m)
        out[k] = a[i].std(axis=0, ddof=1) / b[i].std(axis=0, ddof=1)
    return out.std(axis=0, ddof=1)


def _objective(X, y, coef, eps, pen):
    from ..solver import fgsm_objective
    return float(fgsm_objective(X, y, coef, 0.0, eps, "gaussian", pen))


def minimizer_check(n, reps, seed=2018):
    r"""LLA from the L1 start (what the estimator returns) against the best of three LLA runs
    (from the L1 start, the full least-squares fit and the oracle fit): the best objective value is
    our proxy for the global minimizer.  Returns, per estimator, the fraction of replications where
    the default is beaten and :math:`P(\hat\beta_3 = 0)` under both rules."""
    from ..designs import replication_rng
    from ..penalties import SCAD, Bridge
    from ..solver import _fit_fgsm
    out = {}
    cases = {"scad_n15": (SCAD(lam_scad(n, C15, 1 / 5), A_SCAD), 1.0),
             "bridge": (Bridge(R_BRIDGE), eps_bridge(n))}
    for name, (pen, eps) in cases.items():
        beaten, z_def, z_best, gain = 0, 0, 0, []
        for k in range(reps):
            X, y = DESIGN.sample(n, replication_rng(DESIGN, n, k, seed))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cands = [_fit_fgsm(X, y, eps, "gaussian", pen, fit_intercept=False, max_iter=500).coef]
                for start in (np.linalg.lstsq(X, y, rcond=None)[0], fit_oracle(X, y)):
                    cands.append(_fit_fgsm(X, y, eps, "gaussian", pen, fit_intercept=False, max_iter=500,
                                           coef0=start).coef)
            vals = [_objective(X, y, c, eps, pen) for c in cands]
            b = int(np.argmin(vals))
            if vals[0] - vals[b] > 1e-9 * (1 + abs(vals[b])):
                beaten += 1
                gain.append((vals[0] - vals[b]) / n)
            z_def += cands[0][2] == 0
            z_best += cands[b][2] == 0
        out[name] = {"n": n, "reps": reps, "beaten": beaten / reps, "p_zero_lla": z_def / reps,
                     "p_zero_best": z_best / reps, "mean_gain": float(np.mean(gain)) if gain else 0.0}
    return out


def run(scale=None, n_jobs=None, cache_dir=CACHE_DIR):
    """Run (or load from the on-disk cache) the Monte Carlo and compute the verdicts."""
    scale = scale or os.environ.get("COMPANION_SCALE", "quick")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    n_jobs = int(n_jobs if n_jobs is not None else os.environ.get("COMPANION_N_JOBS", 2))
    cfg = SCALES[scale]
    with warnings.catch_warnings():   # tqdm warns about missing ipywidgets inside notebooks
        warnings.simplefilter("ignore")
        mc = run_experiment(settings(), ns=cfg["ns"], reps=cfg["reps"], seed=2018, scale=scale,
                            n_jobs=n_jobs, chunk_size=25, cache_dir=cache_dir, salt=SALT, progress=False)
    ns = mc.ns
    pq = population_quantities(DESIGN)
    rng = np.random.default_rng(7)
    S = SUPPORT
    E = {s: mc.scaled_errors(s) for s in mc.settings}       # (len(ns), reps, 3)
    res = dict(p_zero={}, p_zero_se={}, p_support={}, sd={}, sd_ratio={}, sd_ratio_se={}, bias={},
               bias_se={}, paired_bias={}, paired_bias_se={}, predicted_bias={}, lam={})
    R = mc.reps
    for s in mc.settings:
        est = mc.estimates[s]
        pz = (est[:, :, 2] == 0).mean(axis=1)
        res["p_zero"][s] = pz
        res["p_zero_se"][s] = np.sqrt(np.maximum(pz * (1 - pz), 1.0 / R) / R)
        res["p_support"][s] = np.all(est[:, :, S] != 0, axis=2).mean(axis=1)
        e = E[s][:, :, S]
        res["sd"][s] = e.std(axis=1, ddof=1)
        res["bias"][s] = e.mean(axis=1)
        res["bias_se"][s] = e.std(axis=1, ddof=1) / math.sqrt(R)
        d = e - E["oracle"][:, :, S]
        res["paired_bias"][s] = d.mean(axis=1)
        res["paired_bias_se"][s] = d.std(axis=1, ddof=1) / math.sqrt(R)
        res["sd_ratio"][s] = res["sd"][s] / E["oracle"][:, :, S].std(axis=1, ddof=1)
        res["sd_ratio_se"][s] = np.array([_boot_sd_ratio(e[k], E["oracle"][k][:, S], rng)
                                          for k in range(ns.size)])
    for s, (c, pw) in {"scad_n13": (C13, 1 / 3), "scad_n15": (C15, 1 / 5)}.items():
        lams = np.array([lam_scad(n, c, pw) for n in ns])
        res["lam"][s] = lams
        res["predicted_bias"][s] = np.array([scad_support_bias(pq, int(n), lam, A_SCAD)[S]
                                             for n, lam in zip(ns, lams)])
    res["lam"]["bridge"] = np.array([n * eps_bridge(n) for n in ns])
    # Theorem C's leftover bias with lam0_eff(n) = n eps_n / n^(r/2)
    res["predicted_bias"]["bridge"] = np.array([
        theorem_c_leftover_bias(pq, int(n), n * eps_bridge(n) / n ** (R_BRIDGE / 2), R_BRIDGE,
                                support_only=True)[S]
        for n in ns])
    res["predicted_bias"]["oracle"] = np.zeros((ns.size, 2))
    out = OracleResult(ns=ns, reps=R, scale=scale, pq=pq, **res)
    for s, (c, pw) in {"scad_n13": (C13, 1 / 3), "scad_n15": (C15, 1 / 5)}.items():
        cb, cs, gf = [], [], []
        for k, n in enumerate(ns):
            e = mc.estimates[s][k]
            good = (e[:, 2] == 0) & np.all(np.abs(e[:, S]) > A_SCAD * lam_scad(n, c, pw), axis=1)
            d = (E[s][k] - E["oracle"][k])[good][:, S]
            gf.append(good.mean())
            cb.append(d.mean(axis=0))
            cs.append(d.std(axis=0, ddof=1) / math.sqrt(max(good.sum(), 1)))
        out.conditional_bias[s], out.conditional_se[s], out.good_fraction[s] = map(np.array, (cb, cs, gf))
    for s in ("scad_n13", "scad_n15", "bridge"):
        zb, zs, zf = [], [], []
        for k in range(ns.size):
            keep = mc.estimates[s][k][:, 2] == 0
            d = (E[s][k] - E["oracle"][k])[keep][:, S]
            zf.append(keep.mean())
            zb.append(d.mean(axis=0) if keep.sum() else np.full(2, np.nan))
            zs.append(d.std(axis=0, ddof=1) / math.sqrt(keep.sum()) if keep.sum() > 1 else np.full(2, np.nan))
        out.zero_found_bias[s], out.zero_found_se[s], out.zero_found_fraction[s] = map(np.array, (zb, zs, zf))
        rz, rzs = [], []
        for k in range(ns.size):
            keep = mc.estimates[s][k][:, 2] == 0
            a, b = E[s][k][keep][:, S], E["oracle"][k][keep][:, S]
            rz.append(a.std(axis=0, ddof=1) / b.std(axis=0, ddof=1))
            rzs.append(_boot_sd_ratio(a, b, rng))
        out.sd_ratio_zero_found[s], out.sd_ratio_zero_found_se[s] = np.array(rz), np.array(rzs)
        out.population_bias[s] = np.array([population_support_bias(s, int(n)) for n in ns])
        first = {"scad_n13": lambda n: scad_support_bias(pq, n, lam_scad(n, C13, 1 / 3), A_SCAD)[S],
                 "scad_n15": lambda n: scad_support_bias(pq, n, lam_scad(n, C15, 1 / 5), A_SCAD)[S],
                 "bridge": lambda n: theorem_c_leftover_bias(pq, n, n * eps_bridge(n) / n ** (R_BRIDGE / 2),
                                                             R_BRIDGE, support_only=True)[S]}[s]
        out.first_order_gap[s] = {}
        for n in (10 ** 3, 10 ** 5, 10 ** 7):
            pop = population_support_bias(s, n)
            out.first_order_gap[s][n] = float(np.max(np.abs(first(n) / pop - 1.0)))
    out.minimizers = minimizer_check(int(ns[1]), 100)
    for rule in ("global", "local"):
        draws = limit_draws(pq, LAM0_BRIDGE, r=R_BRIDGE, estimator="fgsm", n_draws=20000, seed=1, rule=rule)
        out.thm_c_limit_p_zero[rule] = float(np.mean(draws[:, 2] == 0))

    v = {}
    last = -1
    for s in ("scad_n13", "scad_n15", "bridge"):
        pz, se = out.p_zero[s], out.p_zero_se[s]
        # P(zero) increases from the smallest to the largest n (one-sided, 3 SE of the difference)
        z = (pz[0] - pz[last]) / math.hypot(se[0], se[last])
        v[f"{s}: P(b3=0) increases with n"] = verdict(z, -3.0, "(P_first - P_last)/SE <= -3")
    v["scad_n15: P(b3=0) at largest n >= 0.9"] = verdict(
        (0.9 - out.p_zero["scad_n15"][last]) / out.p_zero_se["scad_n15"][last], 3.0,
        "(0.9 - P)/SE <= 3")
    big = ns >= 300   # at n = 100 the formula's preconditions hold in under half the replications
    for s in ("scad_n13", "scad_n15", "bridge"):
        z = np.abs(out.zero_found_bias[s] - out.population_bias[s])[big] / out.zero_found_se[s][big]
        v[f"{s}: bias | b3=0 = population minimizer (n >= 300)"] = verdict(
            z.max(), 3.0, "max |sim - pred| / SE")
        gaps = out.first_order_gap[s]
        g = [gaps[n] for n in sorted(gaps)]
        v[f"{s}: first-order formula = limit of exact bias"] = verdict(
            g[-1] if all(a > b for a, b in zip(g, g[1:])) else float("inf"), 0.01,
            "relative gap at n = 1e7 (gaps decreasing over 1e3, 1e5, 1e7)")
    for s in ("scad_n13", "scad_n15", "bridge"):
        # relative efficiency on the event the oracle statement is about (zero found); its SE is
        # ~1e-4 at paper scale, below the known O(eps_n P_n) finite-n departures, so the question
        # asked is "efficient to within 1 %", not "exactly equal"
        dev = np.abs(out.sd_ratio_zero_found[s][last] - 1.0).max()
        v[f"{s}: oracle sd at largest n (b3=0, within 1%)"] = verdict(dev, 0.01, "max |sd/sd_oracle - 1| on b3 = 0")
    # weak oracle vs oracle rate: at the largest n the n^-1/5 bias is larger than the n^-1/3 bias
    d = np.abs(out.paired_bias["scad_n15"][last]) - np.abs(out.paired_bias["scad_n13"][last])
    se = np.hypot(out.paired_bias_se["scad_n15"][last], out.paired_bias_se["scad_n13"][last])
    v["|bias| n^-1/5 > n^-1/3 at largest n"] = verdict(-(d / se).min(), -3.0, "-(difference)/SE <= -3")
    d = out.p_zero["bridge"][last] - out.p_zero["bridge_thmC"][last]
    se = math.hypot(out.p_zero_se["bridge"][last], out.p_zero_se["bridge_thmC"][last])
    v["P(b3=0): n^3/8 rate > Theorem C rate, largest n"] = verdict(-d / se, -3.0, "-(difference)/SE <= -3")
    out.verdicts = v
    return out
