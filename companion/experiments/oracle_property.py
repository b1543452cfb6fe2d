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
  limit keeps a point mass below one at zero (shown for contrast);
* ``oracle``: least squares on the true support (the known-support MLE), zero elsewhere.

Bias on the support is predicted twice: to first order (``companion.asymptotics.scad_support_bias``
and ``theorem_c_leftover_bias``) and exactly at each ``n`` by the *population* minimizer
:func:`population_support_bias`, :math:`\sqrt n(\beta^*_n - \beta_0)` with
:math:`\beta^*_n = \arg\min_{\beta_3 = 0} E\,\tfrac12(|Y - X'\beta| + \varepsilon_nP_n(\beta))^2`.
The sample sizes at which the finite-``n`` formulas are tested follow a rule (:func:`formula_grid`),
and the criteria on the event :math:`\hat\beta_3 = 0` are evaluated both on the design seeds and on
fresh seeds (``FRESH_SEED``).  ``run()`` returns an :class:`OracleResult`; ``summarize`` and the
command line ``python -m companion.experiments.oracle_property --scale full`` write the summary.
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
from ..report import verdict as report_verdict, verdict_table

__all__ = ["run", "summarize", "config", "OracleResult", "DESIGN", "SCALES", "SEED", "FRESH_SEED", "fit_scad",
           "fit_bridge", "fit_bridge_rate", "fit_oracle", "lam_scad", "eps_bridge", "population_objective",
           "population_support_bias", "setting_penalty", "settings", "spot_setting", "formula_grid", "bias_slope"]

DESIGN = linear_design((1.0, 0.5, 0.0), noise="exponential", sigma=1.0, mean=1.0,
                       name="oracle: linear, Exp(1)-1 noise, X ~ N(1, I)")
SUPPORT = np.array([True, True, False])
A_SCAD = 3.7
C13, C15 = 0.553, 0.3          # lam_n = C * n^-power; both give lam_100 = 0.119 (a*lam < 0.5)
LAM0_BRIDGE, R_BRIDGE = 1.0, 0.5
#: ``contrast``: include the L_1/2 fit at the Theorem C rate (``bridge_thmC``); it is left out at paper
#: scale, where its fits would double the run time on the shared machine
SCALES = {"quick": {"reps": 200, "fresh_reps": 200, "ns": (100, 300, 1000, 3000), "contrast": True},
          "full": {"reps": 2000, "fresh_reps": 200, "ns": (100, 300, 1000, 3000, 10000), "contrast": False}}
CACHE_DIR = default_cache_dir() / "oracle_property"
SALT = "oracle-2"   # bump when the solver changes
SEED = 2018         # the data sets the criteria were designed on
FRESH_SEED = 4711   # data sets no criterion was designed on


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


@functools.lru_cache(maxsize=256)
def _population_support_bias(setting, n):
    return population_support_bias(setting, n)


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


def spot_setting(name: str) -> Setting:
    """The :class:`~companion.montecarlo.Setting` called ``name`` (one of :func:`settings`), to
    recompute a committed spot check."""
    for st in settings():
        if st.name == name:
            return st
    raise ValueError(f"unknown setting name {name!r}; known: {[s.name for s in settings()]}")


def settings(contrast=True):
    out = [Setting("scad_n13", DESIGN, functools.partial(fit_scad, c=C13, power=1 / 3)),
           Setting("scad_n15", DESIGN, functools.partial(fit_scad, c=C15, power=1 / 5)),
           Setting("bridge", DESIGN, functools.partial(fit_bridge, lam0=LAM0_BRIDGE, r=R_BRIDGE)),
           Setting("bridge_thmC", DESIGN, functools.partial(fit_bridge_rate, lam0=LAM0_BRIDGE, r=R_BRIDGE,
                                                            gamma=R_BRIDGE / 2)),
           Setting("oracle", DESIGN, fit_oracle)]
    return out if contrast else [s for s in out if s.name != "bridge_thmC"]


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
    grid: dict = field(default_factory=dict)               # setting -> bool mask of the n where the formulas apply
    slopes: dict = field(default_factory=dict)             # seed label -> setting -> slope record
    fresh: dict = field(default_factory=dict)              # bias on b3 = 0 on the fresh seeds (same keys as above)
    minimizers: dict = field(default_factory=dict)
    thm_c_limit_p_zero: dict = field(default_factory=dict)   # rule -> P(u_3 = 0) in the Theorem C limit
    thm_c_position: list = field(default_factory=list)       # per n: "below both", "between", "above both"
    pq: object = None
    mc: object = None
    mc_fresh: object = None
    verdicts: dict = field(default_factory=dict)

    def summary_lines(self):
        return str(verdict_table(self.verdicts)).splitlines()


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


def minimizer_check(n, reps, seed=SEED):
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


# --------------------------------------------------------------------------- pre-specified rules
def formula_grid(setting, ns, pq=None):
    r"""The sample sizes at which the finite-``n`` bias formulas are tested, fixed by a rule from the
    theory rather than by the data.  SCAD: the formulas need every support estimate in SCAD's flat
    part, :math:`|\hat\beta_j| > a\lambda_n`; an ``n`` is kept when
    :math:`a\lambda_n + 2\,\mathrm{sd}_{oracle}(\hat\beta_j) < |\beta_{0j}|` for every :math:`j \in S`
    (the oracle sd from :math:`I_{SS}^{-1}\Sigma_{W,SS}I_{SS}^{-1}/n`).  Bridge: no threshold, every ``n``."""
    ns = np.asarray(ns, int)
    if setting == "bridge":
        return np.ones(ns.size, bool)
    if setting not in ("scad_n13", "scad_n15"):
        raise ValueError(f"setting must be 'scad_n13', 'scad_n15' or 'bridge', got {setting!r}")
    pq = pq or population_quantities(DESIGN)
    S = np.flatnonzero(SUPPORT)
    Ii = np.linalg.inv(pq.I[np.ix_(S, S)])
    sd1 = np.sqrt(np.diag(Ii @ pq.Sigma_W[np.ix_(S, S)] @ Ii))
    c, pw = {"scad_n13": (C13, 1 / 3), "scad_n15": (C15, 1 / 5)}[setting]
    b0 = np.abs(DESIGN.beta[S])
    return np.array([bool(np.all(A_SCAD * lam_scad(n, c, pw) + 2 * sd1 / math.sqrt(n) < b0)) for n in ns])


def _zero_found(est_s, est_o, ns):
    """Paired bias sqrt(n)(b - b_oracle) on the support on the event b3 = 0: mean, SE, fraction."""
    zb, zs, zf = [], [], []
    for k, n in enumerate(ns):
        keep = est_s[k][:, 2] == 0
        d = math.sqrt(n) * (est_s[k] - est_o[k])[keep][:, SUPPORT]
        zf.append(keep.mean())
        zb.append(d.mean(axis=0) if keep.sum() else np.full(2, np.nan))
        zs.append(d.std(axis=0, ddof=1) / math.sqrt(keep.sum()) if keep.sum() > 1 else np.full(2, np.nan))
    return np.array(zb), np.array(zs), np.array(zf)


def _log_slope(ns, y):
    """Least-squares slope of log|y| on log n."""
    return float(np.polyfit(np.log(np.asarray(ns, float)), np.log(np.abs(np.asarray(y, float))), 1)[0])


def bias_slope(est_s, est_o, ns, pop, rng, B=400):
    r"""Slope of :math:`\log|\text{bias}|` against :math:`\log n`, the bias being the paired bias on
    the event :math:`\hat\beta_3 = 0` averaged over the two support coefficients (their predictions
    coincide), with its bootstrap SE (replications resampled within each ``n``, the event recomputed
    on each resample), and the slope of the exact prediction ``pop`` over the same ``ns``."""
    def mean_bias(k, idx):
        e_s, e_o = est_s[k][idx], est_o[k][idx]
        keep = e_s[:, 2] == 0
        return float(np.mean(math.sqrt(ns[k]) * (e_s - e_o)[keep][:, SUPPORT]))
    R = est_s.shape[1]
    allidx = np.arange(R)
    b = np.array([mean_bias(k, allidx) for k in range(len(ns))])
    boot = np.empty((B, len(ns)))
    for j in range(B):
        boot[j] = [mean_bias(k, rng.integers(0, R, R)) for k in range(len(ns))]
    slopes = [_log_slope(ns, row) for row in boot]
    return {"ns": np.asarray(ns, int), "bias": b, "bias_se": boot.std(axis=0, ddof=1),
            "exact": np.mean(pop, axis=1), "slope": _log_slope(ns, b), "slope_se": float(np.std(slopes, ddof=1)),
            "slope_exact": _log_slope(ns, np.mean(pop, axis=1))}


FIRST_ORDER_SLOPE = {"scad_n13": 0.5 - 2 / 3, "scad_n15": 0.5 - 2 / 5}


def _first_order(setting, n, pq):
    if setting == "scad_n13":
        return scad_support_bias(pq, n, lam_scad(n, C13, 1 / 3), A_SCAD)[SUPPORT]
    if setting == "scad_n15":
        return scad_support_bias(pq, n, lam_scad(n, C15, 1 / 5), A_SCAD)[SUPPORT]
    return theorem_c_leftover_bias(pq, n, n * eps_bridge(n) / n ** (R_BRIDGE / 2), R_BRIDGE,
                                   support_only=True)[SUPPORT]


GAP_NS = (10 ** 3, 10 ** 4, 10 ** 5, 10 ** 6)
#: display floor of the relative gap first order vs exact: the population minimizer
#: (``population_support_bias``) is accurate to about 1e-5 in this gap, so two significant digits
#: are reproducible above this floor and only a bound below it
GAP_FLOOR = 3e-4


def _mc(names, ns, reps, seed, scale, n_jobs, cache_dir):
    with warnings.catch_warnings():   # tqdm warns about missing ipywidgets inside notebooks
        warnings.simplefilter("ignore")
        return run_experiment([s for s in settings() if s.name in names], ns=ns, reps=reps, seed=seed,
                              scale=scale, n_jobs=n_jobs, chunk_size=25, cache_dir=cache_dir, salt=SALT,
                              progress=False)


def run(scale=None, n_jobs=None, cache_dir=CACHE_DIR):
    """Run (or load from the on-disk cache) the Monte Carlo and compute the verdicts."""
    scale = scale or os.environ.get("COMPANION_SCALE", "quick")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    n_jobs = int(n_jobs if n_jobs is not None else os.environ.get("COMPANION_N_JOBS", 2))
    cfg = SCALES[scale]
    mc = _mc([s.name for s in settings(cfg["contrast"])], cfg["ns"], cfg["reps"], SEED, scale, n_jobs, cache_dir)
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
        res["lam"][s] = np.array([lam_scad(n, c, pw) for n in ns])
    res["lam"]["bridge"] = np.array([n * eps_bridge(n) for n in ns])
    for s in ("scad_n13", "scad_n15", "bridge"):
        res["predicted_bias"][s] = np.array([_first_order(s, int(n), pq) for n in ns])
    res["predicted_bias"]["oracle"] = np.zeros((ns.size, 2))
    out = OracleResult(ns=ns, reps=R, scale=scale, pq=pq, mc=mc, **res)

    # fresh seeds: the revised bias criterion and the slope verdicts on data sets they were not designed on
    names = ("scad_n13", "scad_n15", "bridge")
    mcf = _mc(names + ("oracle",), cfg["ns"], cfg["fresh_reps"], FRESH_SEED, scale, n_jobs, cache_dir)
    out.mc_fresh = mcf
    for s in names:
        out.zero_found_bias[s], out.zero_found_se[s], out.zero_found_fraction[s] = _zero_found(
            mc.estimates[s], mc.estimates["oracle"], ns)
        rz, rzs = [], []
        for k in range(ns.size):
            keep = mc.estimates[s][k][:, 2] == 0
            a, b = E[s][k][keep][:, S], E["oracle"][k][keep][:, S]
            rz.append(a.std(axis=0, ddof=1) / b.std(axis=0, ddof=1))
            rzs.append(_boot_sd_ratio(a, b, rng))
        out.sd_ratio_zero_found[s], out.sd_ratio_zero_found_se[s] = np.array(rz), np.array(rzs)
        out.population_bias[s] = np.array([_population_support_bias(s, int(n)) for n in ns])
        out.grid[s] = formula_grid(s, ns, pq)
        zb, zs, zf = _zero_found(mcf.estimates[s], mcf.estimates["oracle"], mcf.ns)
        pop_f = np.array([_population_support_bias(s, int(n)) for n in mcf.ns])
        out.fresh[s] = {"ns": mcf.ns, "bias": zb, "se": zs, "fraction": zf, "exact": pop_f,
                        "grid": formula_grid(s, mcf.ns, pq)}
        out.first_order_gap[s] = {n: float(np.max(np.abs(_first_order(s, n, pq) / _population_support_bias(s, n)
                                                          - 1.0))) for n in GAP_NS}
    for label, m in (("design", mc), ("fresh", mcf)):
        out.slopes[label] = {}
        for s in ("scad_n13", "scad_n15"):
            g = formula_grid(s, m.ns, pq)
            k = np.flatnonzero(g)
            pop = np.array([_population_support_bias(s, int(n)) for n in m.ns[k]])
            out.slopes[label][s] = bias_slope(m.estimates[s][k], m.estimates["oracle"][k], m.ns[k], pop, rng)
            out.slopes[label][s]["first_order"] = FIRST_ORDER_SLOPE[s]
    out.minimizers = minimizer_check(int(ns[1]), 100)
    for rule in ("global", "local"):
        draws = limit_draws(pq, LAM0_BRIDGE, r=R_BRIDGE, estimator="fgsm", n_draws=20000, seed=1, rule=rule)
        out.thm_c_limit_p_zero[rule] = float(np.mean(draws[:, 2] == 0))
    lo, hi = sorted(out.thm_c_limit_p_zero.values())
    if "bridge_thmC" in out.p_zero:
        out.thm_c_position = ["below both" if p < lo else "above both" if p > hi else "between"
                              for p in out.p_zero["bridge_thmC"]]
    out.verdicts = _verdicts(out)
    return out


def _verdicts(out):
    """Every verdict, its tolerance fixed by a rule written before the data were seen (3 Monte Carlo
    or bootstrap standard errors unless stated)."""
    v = {}
    ns, last = out.ns, -1

    def add(name, value, tol, statement, op="<=", kind="test", floor=None, digits=3, explained=False):
        x = report_verdict(name, value, tol, statement=statement, op=op, kind=kind, floor=floor, digits=digits)
        if explained and not x.passed:
            x.status = "fails, explained"
        v[name] = x

    # --- selection
    for s in ("scad_n13", "scad_n15", "bridge"):
        pz, se = out.p_zero[s], out.p_zero_se[s]
        add(f"{s}: P(b3=0) increases with n", (pz[last] - pz[0]) / math.hypot(se[0], se[last]), 3.0,
            "(P at largest n - P at smallest n) / SE", op=">=")
    add("scad_n15: P(b3=0) >= 0.9 at largest n",
        (out.p_zero["scad_n15"][last] - 0.9) / out.p_zero_se["scad_n15"][last], -3.0, "(P - 0.9) / SE", op=">=")
    if "bridge_thmC" in out.p_zero:
        d = out.p_zero["bridge"][last] - out.p_zero["bridge_thmC"][last]
        add("bridge: P(b3=0) at n^3/8 > at Theorem C rate", d / math.hypot(out.p_zero_se["bridge"][last],
                                                                           out.p_zero_se["bridge_thmC"][last]),
            3.0, "difference / SE at the largest n", op=">=")
    # --- bias: the original criterion (all data sets, first-order formula, every n), kept visible
    for s in ("scad_n13", "scad_n15", "bridge"):
        z = np.abs(out.paired_bias[s] - out.predicted_bias[s]) / out.paired_bias_se[s]
        add(f"{s}: bias (all data sets) = first order, every n", z.max(), 3.0,
            "original criterion: max |sim - first order| / SE", explained=True)
    # --- bias: the revised criterion (event b3 = 0, exact finite-n prediction, formula grid), both seeds
    for s in ("scad_n13", "scad_n15", "bridge"):
        g = out.grid[s]
        z = np.abs(out.zero_found_bias[s] - out.population_bias[s])[g] / out.zero_found_se[s][g]
        add(f"{s}: bias | b3=0 = exact (design seeds)", z.max(), 3.0, "max |sim - exact| / SE over the formula grid")
        f = out.fresh[s]
        z = np.abs(f["bias"] - f["exact"])[f["grid"]] / f["se"][f["grid"]]
        add(f"{s}: bias | b3=0 = exact (fresh seeds)", z.max(), 3.0, "the same on fresh seeds")
    # --- weak oracle: growth rate of the bias, both seeds
    for label in ("design", "fresh"):
        sl = out.slopes[label]
        for s in ("scad_n13", "scad_n15"):
            r = sl[s]
            add(f"{s}: slope of log|bias| = exact ({label} seeds)", abs(r["slope"] - r["slope_exact"]) / r["slope_se"],
                3.0, "|slope - exact slope| / bootstrap SE")
        r15, r13 = sl["scad_n15"], sl["scad_n13"]
        add(f"n^-1/5 bias grows, n^-1/3 bias shrinks ({label} seeds)",
            min(r15["slope"] / r15["slope_se"], -r13["slope"] / r13["slope_se"]), 3.0,
            "min(slope_15, -slope_13) / bootstrap SE", op=">=")
    # --- first-order formulas as the limit of the exact bias (deterministic, numerical)
    for s in ("scad_n13", "scad_n15", "bridge"):
        g = [out.first_order_gap[s][n] for n in GAP_NS]
        ok = all(a > b for a, b in zip(g, g[1:]))
        add(f"{s}: first order = limit of exact bias", g[-1] if ok else float("inf"), 0.01,
            "relative gap at n = 1e6 (decreasing from n = 1e3)", floor=GAP_FLOOR, digits=2)
    # --- variance: oracle efficiency over all data sets (the original criterion) ...
    for s in ("scad_n13", "scad_n15", "bridge"):
        z = np.abs(out.sd_ratio[s][last] - 1.0) / out.sd_ratio_se[s][last]
        add(f"{s}: sd (all data sets) = oracle sd, largest n", z.max(), 3.0,
            "max |sd/sd_oracle - 1| / bootstrap SE", explained=True)
    # ... and on the event b3 = 0, where it holds by construction up to O(eps_n P_n)
    for s in ("scad_n13", "scad_n15", "bridge"):
        dev = np.abs(out.sd_ratio_zero_found[s][last] - 1.0).max()
        add(f"{s}: sd | b3=0 within 1% of oracle sd", dev, 0.01,
            "max |sd/sd_oracle - 1| on b3 = 0, largest n", kind="sanity", floor=1e-3)
    return v


# --------------------------------------------------------------------------- paper-scale summary
def _r(x, d=4):
    return [float(f"{v:.{d}g}") for v in np.ravel(np.asarray(x, float))]


def summarize(res) -> dict:
    """The summary stored in ``results/<scale>/oracle_property.json``."""
    from ..report import fmt, fmt_se
    from ..results import spot
    ns = res.ns
    names = ("scad_n13", "scad_n15", "bridge")
    shown = names + (("bridge_thmC",) if "bridge_thmC" in res.p_zero else ())
    tables = {
        "p_zero": {"header": ["estimator"] + [f"n = {n}" for n in ns],
                   "rows": [[s] + [fmt_se(p, se) for p, se in zip(res.p_zero[s], res.p_zero_se[s])]
                            for s in shown]},
        "bias_zero_found": {"header": ["estimator", "n", "P(b3=0)", "bias b1 | b3=0", "bias b2 | b3=0",
                                       "exact", "first order"],
                            "rows": [[s, int(n), fmt(res.zero_found_fraction[s][k], 3),
                                      fmt_se(res.zero_found_bias[s][k][0], res.zero_found_se[s][k][0]),
                                      fmt_se(res.zero_found_bias[s][k][1], res.zero_found_se[s][k][1]),
                                      "[" + ", ".join(fmt(x, 3) for x in res.population_bias[s][k]) + "]",
                                      "[" + ", ".join(fmt(x, 3) for x in res.predicted_bias[s][k]) + "]"]
                                     for s in names for k, n in enumerate(ns)]},
        "slopes": {"header": ["schedule", "seeds", "slope", "exact", "first order"],
                   "rows": [[s, label, fmt_se(r["slope"], r["slope_se"]), fmt(r["slope_exact"], 3),
                             fmt(r["first_order"], 3)]
                            for label in ("design", "fresh") for s, r in res.slopes[label].items()]},
        "sd_ratio": {"header": ["estimator"] + [f"n = {n}" for n in ns],
                     "rows": [[s] + [fmt_se(r, se) for r, se in zip(res.sd_ratio[s][:, 0], res.sd_ratio_se[s][:, 0])]
                              for s in shown]},
    }
    figures = {
        "p_zero": {"ns": ns, **{s: res.p_zero[s] for s in shown}, **{f"{s}_se": res.p_zero_se[s] for s in shown},
                   "thm_c_global": res.thm_c_limit_p_zero["global"], "thm_c_local": res.thm_c_limit_p_zero["local"]},
        "bias_slope": {f"{s}_{label}": {k: res.slopes[label][s][k]
                                        for k in ("ns", "bias", "bias_se", "exact", "slope", "slope_se",
                                                  "slope_exact", "first_order")}
                       for label in ("design", "fresh") for s in ("scad_n13", "scad_n15")},
    }
    mc = res.mc
    spots = [spot(mc, "scad_n15", 0, 0, 20), spot(mc, "bridge", 1, 20, 40), spot(mc, "scad_n13", 1, 40, 60)]
    return {"verdicts": res.verdicts, "tables": tables, "figures": figures, "spot": spots,
            "thm_c_position": res.thm_c_position,
            "minimizers": res.minimizers}


def config(res) -> dict:
    return {"ns": res.ns, "reps": res.reps, "seed": SEED, "fresh_seed": FRESH_SEED,
            "fresh_ns": res.mc_fresh.ns, "fresh_reps": res.mc_fresh.reps, "design": DESIGN.name}


if __name__ == "__main__":
    # run the package module, not this __main__ copy: cache keys name the fit functions by module
    from companion import results
    from companion.experiments import oracle_property as _op
    results.main("oracle_property", _op.run, _op.summarize, _op.config)
