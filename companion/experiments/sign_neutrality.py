r"""Experiment of the chapter *Sign neutrality* (``notebooks/sign_neutrality.ipynb``).

FGSM at :math:`\lambda_0` and its penalized twin at :math:`\lambda_0\kappa` have the same effective
penalty; when every penalized coefficient is nonzero their limits differ in mean by exactly
:math:`-\lambda_0\lVert\beta_0\rVert_1 I^{-1}V` (:func:`companion.asymptotics.v_term_shift`).  Both are
fitted on the same data sets (common random numbers through :mod:`companion.montecarlo`), so the
difference :math:`D = \sqrt n(\hat\theta_{FGSM} - \hat\theta_{twin})` is measured with paired
standard errors.

Settings: linear model with Gaussian vs centred-exponential noise (covariates with mean 1, no
intercept, so that :math:`V = -E[\mathrm{sign}(e)]E[x] \ne 0` under skewed noise); logistic with an
intercept and 10%, 25%, 50% positives; and the breast-cancer data of scikit-learn by bootstrap
(the empirical distribution is the population, the full-sample maximum-likelihood fit the truth and
:math:`I, \kappa, V` their plug-in values, which are exact in the bootstrap world).

The difference has a finite-``n`` part of order :math:`n^{-1/2}` (in :math:`\sqrt n` units; e.g. for the
linear model :math:`-\lambda_0^2\lVert\beta_0\rVert_1 I^{-1}\mathrm{sign}(\beta_0)/\sqrt n` from the term
:math:`n\varepsilon^2\lVert\beta\rVert_1^2/2`).  Each setting is therefore run at two sample sizes and
the limit is estimated by extrapolation: least squares of the mean differences on
:math:`(1, n^{-1/2})` for two sample sizes (linear settings, where the :math:`n^{-1/2}` term is derived
in :func:`gaussian_second_order`) and on :math:`(1, n^{-1/2}, n^{-1})` for three or more (logistic and
bootstrap settings, whose :math:`n^{-1}` terms are visible at ``n = 400``), with the paired SE.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from .. import asymptotics as asy
from ..designs import canonical_config, config_hash, linear_design, logistic_design
from ..montecarlo import Setting, run_experiment
from .automatic_scaling import SALT, _lean_fit, cache_dir, fit_fgsm_l1, fit_lasso

__all__ = ["LAM0", "SCALES", "FEATURES", "EmpiricalDesign", "SignNeutralityResult", "designs",
           "breast_cancer_design", "empirical_quantities", "extrapolate", "gaussian_second_order",
           "gaussian_finite_n", "run"]

LAM0 = 1.0
SEED = 2020
SCALES = {"quick": {"reps": 300, "ns_linear": (400, 1600), "ns_logistic": (400, 1600, 6400),
                    "boot_mult": (1, 4, 16)},
          "full": {"reps": 2000, "ns_linear": (400, 1600, 6400), "ns_logistic": (400, 1600, 6400, 25600),
                   "boot_mult": (1, 4, 16, 64)}}
FEATURES = ("mean texture", "mean smoothness", "mean concave points")


# --------------------------------------------------------------------------- designs
def designs() -> dict:
    """The five simulated populations, keyed by a short label."""
    lin = dict(mean=1.0, sigma=1.0)
    out = {"linear, Gaussian noise": linear_design((1.0, 0.5, -0.5), noise="gaussian", **lin),
           "linear, exponential noise": linear_design((1.0, 0.5, -0.5), noise="exponential", **lin)}
    for f in (0.10, 0.25, 0.50):
        out[f"logistic, {int(round(100 * f))}% positives"] = logistic_design((1.0, -0.5), positive_fraction=f)
    return out


@dataclass(frozen=True)
class EmpiricalDesign:
    """The empirical distribution of ``(X, y)`` as a population for :mod:`companion.montecarlo`:
    ``sample(m, rng)`` draws ``m`` rows with replacement (the pairs bootstrap); the truth is
    ``theta_hat`` (intercept first), the maximum-likelihood fit on the full data.  Only the data hash
    and ``theta_hat`` enter the cache key."""

    data_key: str
    theta_hat: tuple
    family: str = "bernoulli"
    X_: np.ndarray = field(default=None, compare=False, repr=False)
    y_: np.ndarray = field(default=None, compare=False, repr=False)
    name: str = field(default="", compare=False)

    has_intercept = True

    @property
    def theta0(self):
        return np.asarray(self.theta_hat, float)

    @property
    def dim(self):
        return len(self.theta_hat)

    @property
    def p(self):
        return self.dim - 1

    @property
    def beta(self):
        return self.theta0[1:]

    @property
    def penalized(self):
        m = np.ones(self.dim, bool)
        m[0] = False
        return m

    def sample(self, n, rng, add_intercept=False):
        idx = rng.integers(0, self.X_.shape[0], int(n))
        X, y = self.X_[idx], self.y_[idx]
        if add_intercept:
            X = np.column_stack([np.ones(len(idx)), X])
        return X, y

    def config(self):
        return canonical_config(self)

    def key(self):
        return config_hash(self.config())


def _round12(a):
    """Round to 12 significant digits: the bootstrap truth and plug-in kappa enter cache keys and
    seeds, which must not move with last-digit changes of linear algebra or solvers."""
    return np.array([float(f"{v:.12g}") for v in np.ravel(a)])


def _logistic_mle(X, y, tol=1e-14, max_iter=100):
    """Unpenalized logistic maximum likelihood (intercept first) by Newton-Raphson."""
    X1 = np.column_stack([np.ones(X.shape[0]), X])
    th = np.zeros(X1.shape[1])
    for _ in range(max_iter):
        mu = special.expit(X1 @ th)
        step = np.linalg.solve((X1 * (mu * (1 - mu))[:, None]).T @ X1, X1.T @ (y - mu))
        th = th + step
        if np.max(np.abs(step)) <= tol * (1 + np.max(np.abs(th))):
            return th
    raise RuntimeError("logistic MLE did not converge (separation?)")


def breast_cancer_design(features=FEATURES) -> EmpiricalDesign:
    """Standardized breast-cancer features (``sklearn.datasets.load_breast_cancer``), y = 1 for
    malignant; truth = unpenalized logistic fit (Newton-Raphson), rounded to 12 significant digits."""
    from sklearn.datasets import load_breast_cancer
    data = load_breast_cancer()
    cols = [list(data.feature_names).index(f) for f in features]
    X = data.data[:, cols]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = (data.target == 0).astype(float)           # 0 = malignant in scikit-learn's coding
    theta = _round12(_logistic_mle(X, y))
    h = hashlib.sha256(np.ascontiguousarray(X).tobytes() + y.tobytes()).hexdigest()
    return EmpiricalDesign(h, tuple(float(t) for t in theta), "bernoulli", X, y, "breast cancer (bootstrap)")


def empirical_quantities(des: EmpiricalDesign) -> asy.PopulationQuantities:
    r"""Plug-in :math:`I, \Sigma_W, \kappa, V` under the empirical distribution at ``theta_hat``
    (exact for the bootstrap world): :math:`V = n^{-1}\sum_i \mathrm{sign}(\mu_i - y_i)\mu_i(1-\mu_i)x_i`."""
    X1 = np.column_stack([np.ones(des.X_.shape[0]), des.X_])
    mu = special.expit(X1 @ des.theta0)
    w = mu * (1.0 - mu)
    y = des.y_
    n = X1.shape[0]
    I = (X1 * w[:, None]).T @ X1 / n
    Sw = (X1 * ((mu - y) ** 2)[:, None]).T @ X1 / n
    kappa = float(_round12(np.mean(np.abs(y - mu)))[0])
    V = ((np.sign(mu - y) * w)[:, None] * X1).mean(axis=0)
    return asy.PopulationQuantities(I, Sw, kappa, V, des.theta0, des.penalized, "bernoulli",
                                    "empirical plug-in at the full-sample MLE")


def gaussian_second_order(pq, lam0: float, n) -> np.ndarray:
    r"""Finite-``n`` mean of :math:`\sqrt n(\hat\beta_{FGSM} - \hat\beta_{twin})` for the linear model with
    Gaussian noise (where :math:`V = 0`):
    :math:`-(1 - 2/\pi)\lambda_0^2\lVert\beta_0\rVert_1 I^{-1}\mathrm{sign}(\beta_0)/\sqrt n`.

    Two terms of order :math:`n^{-1/2}`: the extra penalty :math:`n\varepsilon^2\lVert\beta\rVert_1^2/2`
    gives :math:`-\lambda_0^2\lVert\beta_0\rVert_1 I^{-1}\mathrm{sign}(\beta_0)/\sqrt n`, and the curvature of
    :math:`\varepsilon\lVert\beta\rVert_1\sum_i|r_i|` (:math:`E|e - x'\delta| = \kappa + f(0)\delta'I\delta + \dots`)
    multiplies FGSM's Hessian by :math:`1 + 2\lambda_0\lVert\beta_0\rVert_1 f(0)/\sqrt n`, which shrinks its
    shrinkage bias :math:`-\lambda_0\kappa I^{-1}\mathrm{sign}(\beta_0)` by that factor; with
    :math:`\kappa f(0) = 1/\pi` the two combine as stated (all coefficients nonzero)."""
    th = pq.theta0
    l1 = float(np.sum(np.abs(th[pq.penalized])))
    s = np.where(pq.penalized, np.sign(th), 0.0)
    base = -(1.0 - 2.0 / math.pi) * lam0 ** 2 * l1 * np.linalg.solve(pq.I, s)
    return base[None, :] / np.sqrt(np.asarray(n, float))[:, None]


def gaussian_finite_n(design, pq, lam0: float, n) -> np.ndarray:
    r"""Finite-``n`` mean of :math:`\sqrt n(\hat\beta_{FGSM} - \hat\beta_{twin})` for the linear model
    with Gaussian noise, exact in its deterministic part and with the leading stochastic correction:

    .. math::
        \sqrt n(\beta^*_{FGSM} - \beta^*_{twin}) + \frac{\lambda_0\,p\,\kappa}{2n}I^{-1}\mathrm{sign}(\beta_0).

    :math:`\beta^*_{FGSM}` minimizes the population FGSM risk :math:`E\tfrac12(|r| + \varepsilon\lVert\beta\rVert_1)^2`
    at :math:`\varepsilon = \lambda_0/\sqrt n` (folded-normal closed form,
    :func:`companion.experiments.root_n_consistency.population_minimizer`); the twin's population minimizer is
    :math:`\beta_0 - \alpha n^{-1} I^{-1}\mathrm{sign}(\beta_0)` with :math:`\alpha = \lambda_0\kappa\sqrt n`.
    The last term is a degrees-of-freedom effect: at the fitted coefficients
    :math:`E\sum_i|r_i| \approx nE|r| - p(\kappa - f(0)\sigma^2) = nE|r| - p\kappa/2` (Gaussian noise), so
    FGSM's multiplier :math:`\sum_i|r_i|/n` of :math:`\lVert\beta\rVert_1` is smaller than its population
    value by :math:`p\kappa/(2n)` and FGSM shrinks correspondingly less.  Both corrections to
    :func:`gaussian_second_order` are of order :math:`n^{-1}` (all coefficients nonzero)."""
    from .root_n_consistency import population_minimizer
    if design.family != "gaussian" or design.noise.kind != "gaussian" or design.has_intercept:
        raise ValueError("gaussian_finite_n needs the linear design with Gaussian noise and no intercept")
    th = pq.theta0
    sgn = np.sign(th)
    if np.any(sgn == 0):
        raise ValueError("gaussian_finite_n needs every coefficient of beta0 nonzero")
    Is = np.linalg.solve(pq.I, sgn)
    out = []
    for m in np.atleast_1d(np.asarray(n, float)):
        rn = math.sqrt(m)
        b_fgsm = population_minimizer(design, lam0 / rn)
        b_twin = th - lam0 * pq.kappa / rn * Is
        out.append(rn * (b_fgsm - b_twin) + lam0 * design.p * pq.kappa / (2.0 * m) * Is)
    return np.array(out)


def extrapolate(ns, D):
    r"""Least-squares fit of ``D[a] = d_inf + c1 n^{-1/2} (+ c2 n^{-1} when len(ns) >= 3)`` per coordinate.

    ``D`` has shape ``(len(ns), reps, d)`` (paired differences); returns ``(d_inf, se)``.  The
    replications at different ``n`` are independent, so the SE combines the per-``n`` SEs with the
    least-squares weights."""
    ns = np.asarray(ns, float)
    cols = [np.ones(ns.size), 1.0 / np.sqrt(ns)] + ([1.0 / ns] if ns.size >= 3 else [])
    A = np.column_stack(cols)
    L = np.linalg.pinv(A)[0]                          # weights of d_inf
    means = D.mean(axis=1)
    ses = D.std(axis=1, ddof=1) / math.sqrt(D.shape[1])
    return L @ means, np.sqrt((L[:, None] ** 2 * ses ** 2).sum(axis=0))


# --------------------------------------------------------------------------- result
@dataclass
class SignNeutralityResult:
    labels: list
    ns: dict                  # label -> sample sizes
    reps: int
    scale: str
    lam0: float
    pq: dict                  # label -> PopulationQuantities
    predicted: dict           # label -> -lam0 ||b0||_1 I^-1 V
    diff_mean: dict           # label -> (len(ns), d) mean of sqrt(n)(fgsm - twin)
    diff_se: dict
    diff_inf: dict            # label -> extrapolated limit (d,)
    diff_inf_se: dict
    coord_names: dict
    verdicts: dict = field(default_factory=dict)
    computed_chunks: int = 0
    second_order_gaussian: np.ndarray = None   # (len(ns), d) second-order term, Gaussian noise
    finite_n_gaussian: np.ndarray = None       # (len(ns), d) exact-at-n prediction, Gaussian noise


def _verdict(value, tol, passed, note=""):
    return {"value": float(value), "tolerance": float(tol), "passed": bool(passed), "note": note}


def _settings(label, des, pq, fit_intercept, family):
    f = functools.partial(fit_fgsm_l1, lam0=LAM0, family=family, fit_intercept=fit_intercept)
    t = functools.partial(fit_lasso, lam0=LAM0 * pq.kappa, family=family, fit_intercept=fit_intercept)
    return [Setting(f"fgsm|{label}", des, f), Setting(f"twin|{label}", des, t)]


def run(scale=None, n_jobs=None) -> SignNeutralityResult:
    """Run (or load from the cache) the paired Monte Carlo and the bootstrap; compute the verdicts."""
    from .automatic_scaling import resolve
    scale, n_jobs = resolve(scale, n_jobs)
    if scale not in SCALES:
        raise ValueError(scale)
    cfg = SCALES[scale]
    reps = cfg["reps"]
    des = designs()
    pqs, ns_of, names = {}, {}, {}
    sim_settings = {"gaussian": [], "bernoulli": []}
    for label, d in des.items():
        pq = asy.population_quantities(d)
        pqs[label] = pq
        fam = d.family
        fi = d.has_intercept
        sim_settings[fam] += _settings(label, d, pq, fi, fam)
        ns_of[label] = np.asarray(cfg["ns_linear"] if fam == "gaussian" else cfg["ns_logistic"])
        names[label] = (["intercept"] if fi else []) + [f"beta{j + 1}" for j in range(d.p)]
    mcs = {fam: run_experiment(st, ns=cfg["ns_linear"] if fam == "gaussian" else cfg["ns_logistic"], reps=reps,
                               seed=SEED, scale="quick", n_jobs=n_jobs, cache_dir=cache_dir(), progress=False, salt=SALT)
           for fam, st in sim_settings.items()}
    bc = breast_cancer_design()
    bc_label = "breast cancer (bootstrap)"
    pq_bc = empirical_quantities(bc)
    pqs[bc_label] = pq_bc
    n_bc = bc.X_.shape[0]
    ns_of[bc_label] = np.asarray([m * n_bc for m in cfg["boot_mult"]])
    names[bc_label] = ["intercept"] + [f.replace("mean ", "") for f in FEATURES]
    mc_bc = run_experiment(_settings(bc_label, bc, pq_bc, True, "bernoulli"), ns=ns_of[bc_label], reps=reps,
                           seed=SEED, scale="quick", n_jobs=n_jobs, cache_dir=cache_dir(), progress=False, salt=SALT)
    labels = list(des) + [bc_label]
    pred, dm, dse, dinf, dinf_se = {}, {}, {}, {}, {}
    for label in labels:
        m = mc_bc if label == bc_label else mcs[des[label].family]
        D = m.scaled_errors(f"fgsm|{label}") - m.scaled_errors(f"twin|{label}")
        pred[label] = asy.v_term_shift(pqs[label], LAM0)
        dm[label] = D.mean(axis=1)
        dse[label] = D.std(axis=1, ddof=1) / math.sqrt(D.shape[1])
        dinf[label], dinf_se[label] = extrapolate(ns_of[label], D)

    v = {}
    for label in labels:
        z = np.abs(dinf[label] - pred[label]) / dinf_se[label]
        v[f"difference_matches_prediction: {label}"] = _verdict(
            z.max(), 3.0, z.max() <= 3.0,
            "max over coordinates of |extrapolated mean difference - prediction| / paired SE")
    # symmetric noise: no V term; skewed noise: a V term that is really there
    g = "linear, Gaussian noise"
    z0 = np.abs(dinf[g]) / dinf_se[g]
    v["gaussian_noise_no_v_shift"] = _verdict(z0.max(), 3.0, z0.max() <= 3.0,
                                              "Gaussian noise: max |extrapolated difference| / SE (V = 0)")
    so = gaussian_second_order(pqs[g], LAM0, ns_of[g])
    fn = gaussian_finite_n(des[g], pqs[g], LAM0, ns_of[g])
    zfn = np.abs(dm[g] - fn) / dse[g]
    v["gaussian_noise_finite_n_matches"] = _verdict(
        zfn.max(), 3.0, zfn.max() <= 3.0,
        "Gaussian noise: max over n and coordinates of |mean difference - finite-n prediction| / SE")
    big = gaussian_finite_n(des[g], pqs[g], LAM0, [1e4, 1e5])
    so_big = gaussian_second_order(pqs[g], LAM0, [1e4, 1e5])
    gaps = np.max(np.abs(big / so_big - 1.0), axis=1)
    v["gaussian_second_order_is_leading_term"] = _verdict(
        gaps[1], 0.02, bool(gaps[1] <= 0.02 and gaps[1] < gaps[0] / 2),
        "relative gap finite-n prediction vs (1-2/pi) term at n = 1e5 (<= 0.02, and below half the gap at 1e4:"
        " the corrections are O(n^-1/2) relative)")
    e = "linear, exponential noise"
    ze = np.abs(dinf[e]) / dinf_se[e]
    v["exponential_noise_v_shift_detected"] = _verdict(ze.min(), 3.0, ze.min() > 3.0,
                                                       "exponential noise: min |extrapolated difference| / SE (> 3)")
    h = "logistic, 50% positives"
    V50 = pqs[h].V
    v["balanced_logistic_intercept_V_zero"] = _verdict(abs(V50[0]), 1e-10, abs(V50[0]) <= 1e-10,
                                                       "|V_intercept| at 50% positives (quadrature)")
    v["balanced_logistic_slope_V_nonzero"] = _verdict(np.min(np.abs(V50[1:])), 1e-3, np.min(np.abs(V50[1:])) > 1e-3,
                                                      "min |V_slope| at 50% positives (quadrature)")
    zs = np.abs(dinf[h][1:]) / dinf_se[h][1:]
    v["balanced_logistic_slope_shift_detected"] = _verdict(zs.min(), 3.0, zs.min() > 3.0,
                                                           "50% positives: min over slopes |extrapolated difference| / SE (> 3)")
    return SignNeutralityResult(labels, ns_of, reps, scale, LAM0, pqs, pred, dm, dse, dinf, dinf_se, names, v,
                                sum(m.chunks_computed for m in mcs.values()) + mc_bc.chunks_computed,
                                second_order_gaussian=so, finite_n_gaussian=fn)
