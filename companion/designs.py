r"""Simulation designs for the asymptotic chapters: seeded, reproducible bit for bit.

A :class:`Design` is a *population*: a GLM family, the true coefficients :math:`\beta_0`,
an optional intercept, a covariate law (:class:`Covariates`) and, for the linear model,
a noise law (:class:`Noise`).  ``design.sample(n, rng)`` draws ``(X, y)``;
:mod:`companion.asymptotics` reads the same description to compute the population
quantities :math:`I, \Sigma_W, \kappa, V`.

Conventions
-----------
* ``X`` returned by :meth:`Design.sample` holds the covariates only (``n`` by ``p``); pass
  ``add_intercept=True`` to get a leading column of ones.  The full parameter vector used by
  the asymptotics is :attr:`Design.theta0` = ``(intercept, beta0)`` when the design has an
  intercept, else ``beta0``; the intercept is never penalized (:attr:`Design.penalized`).
* Noise scale ``sigma`` is the *standard deviation* of the noise for every noise law, so
  :math:`\Sigma_W = \sigma^2 E[XX']` whatever the law.
* Sampling uses only element-wise operations (no BLAS), so the same ``Generator`` state gives
  identical arrays on any machine configuration, thread count or worker.
* :func:`replication_rng` gives the generator of replication ``k`` of a design at sample size
  ``n``: it is ``SeedSequence(seed).spawn(...)``-equivalent, keyed by ``(design hash, n, k)``, so
  replication ``k`` does not depend on how many replications run nor on how they are chunked,
  and two estimators run on the same design see the same data (common random numbers).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

from ._validation import as_float_array, check_scalar


def check_count(x, name: str, *, low: int = 1) -> int:
    """An integer argument ``>= low`` (a sample size, a number of replications, a seed); bools and
    non-integral numbers are refused with an error naming ``name``."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        if isinstance(x, (float, np.floating)) and float(x).is_integer():
            x = int(x)
        else:
            raise TypeError(f"{name} must be an integer, got {x!r} ({type(x).__name__})")
    x = int(x)
    if x < low:
        raise ValueError(f"{name} must be >= {low}, got {x}")
    return x


def _check_rng(rng, name: str = "rng") -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        raise TypeError(f"{name} must be a numpy.random.Generator or an integer seed, got {type(rng).__name__}")
    if isinstance(rng, (int, np.integer)) and rng < 0:
        raise ValueError(f"{name} as a seed must be >= 0, got {rng}")
    return np.random.default_rng(rng)

__all__ = [
    "Covariates", "Noise", "Design", "linear_design", "logistic_design", "poisson_design",
    "sparse_beta", "intercept_for_balance", "positive_fraction", "replication_rng", "replication_seedsequence",
    "config_hash", "canonical_config",
]

_COV_KINDS = ("independent", "ar1", "equicorrelated")
_NOISE_KINDS = ("gaussian", "laplace", "t", "exponential")
_FAMILIES = {"gaussian": "gaussian", "linear": "gaussian", "normal": "gaussian",
             "bernoulli": "bernoulli", "logistic": "bernoulli", "binomial": "bernoulli",
             "poisson": "poisson"}


# --------------------------------------------------------------------------- covariates
@dataclass(frozen=True)
class Covariates:
    r"""Gaussian covariates :math:`x \sim N(m, \Sigma)` with unit-variance-times-``scale`` margins.

    ``kind``: ``"independent"`` (:math:`\Sigma = s^2 I`), ``"ar1"``
    (:math:`\Sigma_{jk} = s^2\rho^{|j-k|}`, :math:`|\rho|<1`) or ``"equicorrelated"``
    (:math:`\Sigma_{jk} = s^2\rho` off the diagonal, :math:`0 \le \rho < 1`).
    ``mean``: a scalar (same mean for every covariate) or a length-``p`` tuple.
    """

    p: int
    kind: str = "independent"
    rho: float = 0.0
    mean: float | tuple = 0.0
    scale: float = 1.0

    def __post_init__(self):
        if isinstance(self.p, bool) or not isinstance(self.p, (int, np.integer)) or self.p < 1:
            raise ValueError(f"p must be a positive integer, got {self.p!r}")
        object.__setattr__(self, "p", int(self.p))
        if self.kind not in _COV_KINDS:
            raise ValueError(f"kind must be one of {_COV_KINDS}, got {self.kind!r}")
        rho = check_scalar(self.rho, "rho")
        if self.kind == "ar1" and not -1.0 < rho < 1.0:
            raise ValueError(f"ar1 needs -1 < rho < 1, got {rho}")
        if self.kind == "equicorrelated" and not 0.0 <= rho < 1.0:
            raise ValueError(f"equicorrelated needs 0 <= rho < 1, got {rho}")
        if self.kind == "independent" and rho != 0.0:
            raise ValueError("independent covariates take rho = 0")
        object.__setattr__(self, "rho", rho)
        object.__setattr__(self, "scale", check_scalar(self.scale, "scale", low=0.0, low_inclusive=False))
        if np.ndim(self.mean) == 0:
            object.__setattr__(self, "mean", check_scalar(self.mean, "mean"))
        else:
            m = as_float_array(self.mean, "mean", ndim=1)
            if m.shape[0] != self.p:
                raise ValueError(f"mean has {m.shape[0]} entries, expected p = {self.p}")
            object.__setattr__(self, "mean", tuple(float(v) for v in m))
        mv = np.broadcast_to(np.asarray(self.mean, float), (self.p,)).copy()
        object.__setattr__(self, "_mean_vec", mv if np.any(mv != 0.0) else None)

    @property
    def mean_vector(self) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.mean, float), (self.p,)).copy()

    @property
    def cov(self) -> np.ndarray:
        j = np.arange(self.p)
        if self.kind == "independent":
            c = np.eye(self.p)
        elif self.kind == "ar1":
            c = self.rho ** np.abs(j[:, None] - j[None, :])
        else:
            c = np.full((self.p, self.p), self.rho)
            np.fill_diagonal(c, 1.0)
        return self.scale ** 2 * c

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` rows (element-wise operations only: bit-reproducible)."""
        n = check_count(n, "n")
        rng = _check_rng(rng)
        z = rng.standard_normal((n, self.p))
        if self.kind == "ar1" and self.rho != 0.0:
            a, b = self.rho, math.sqrt(1.0 - self.rho ** 2)
            for j in range(1, self.p):
                z[:, j] = a * z[:, j - 1] + b * z[:, j]
        elif self.kind == "equicorrelated" and self.rho != 0.0:
            z0 = rng.standard_normal((n, 1))
            z = math.sqrt(self.rho) * z0 + math.sqrt(1.0 - self.rho) * z
        if self.scale != 1.0:
            z *= self.scale
        if self._mean_vec is not None:
            z += self._mean_vec
        return z


# --------------------------------------------------------------------------- noise
@dataclass(frozen=True)
class Noise:
    r"""Additive noise of the linear model, with standard deviation ``sigma``.

    ``kind``: ``"gaussian"``, ``"laplace"``, ``"t"`` (``df > 2`` degrees of freedom, rescaled to
    standard deviation ``sigma``) or ``"exponential"`` (centred: :math:`\sigma(E - 1)`,
    :math:`E\sim\mathrm{Exp}(1)`, right-skewed, :math:`P(e>0) = e^{-1}`).
    """

    kind: str = "gaussian"
    sigma: float = 1.0
    df: float = 5.0

    def __post_init__(self):
        if self.kind not in _NOISE_KINDS:
            raise ValueError(f"noise kind must be one of {_NOISE_KINDS}, got {self.kind!r}")
        object.__setattr__(self, "sigma", check_scalar(self.sigma, "sigma", low=0.0, low_inclusive=False))
        object.__setattr__(self, "df", check_scalar(self.df, "df", low=2.0, low_inclusive=False))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` noise draws from ``rng``."""
        n = check_count(n, "n")
        rng = _check_rng(rng)
        s = self.sigma
        if self.kind == "gaussian":
            return s * rng.standard_normal(n)
        if self.kind == "laplace":
            return rng.laplace(0.0, s / math.sqrt(2.0), n)
        if self.kind == "t":
            return s * math.sqrt((self.df - 2.0) / self.df) * rng.standard_t(self.df, n)
        return s * (rng.standard_exponential(n) - 1.0)

    @property
    def abs_mean(self) -> float:
        r""":math:`\kappa = E|e|` (closed form)."""
        s = self.sigma
        if self.kind == "gaussian":
            return s * math.sqrt(2.0 / math.pi)
        if self.kind == "laplace":
            return s / math.sqrt(2.0)
        if self.kind == "t":
            nu = self.df
            scale = s * math.sqrt((nu - 2.0) / nu)
            return scale * 2.0 * math.sqrt(nu) * math.exp(
                special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2)) / (math.sqrt(math.pi) * (nu - 1.0))
        return s * 2.0 / math.e

    @property
    def mean_sign(self) -> float:
        r""":math:`E[\mathrm{sign}(e)] = P(e>0) - P(e<0)` (0 for symmetric laws, :math:`2e^{-1}-1` for the
        centred exponential)."""
        return 2.0 / math.e - 1.0 if self.kind == "exponential" else 0.0


# --------------------------------------------------------------------------- design
@dataclass(frozen=True)
class Design:
    r"""A GLM population: ``family`` in {``"gaussian"``, ``"bernoulli"``, ``"poisson"``},
    true slopes ``beta0``, optional ``intercept`` (``None``: no intercept column), covariate law
    and (linear model only) noise law.

    For the Gaussian family :math:`y = \text{intercept} + x'\beta_0 + e`; for Bernoulli
    :math:`y \sim \mathrm{Bernoulli}(\mathrm{expit}(\eta))`; for Poisson
    :math:`y \sim \mathrm{Poisson}(e^\eta)`, with :math:`\eta = \text{intercept} + x'\beta_0`.
    """

    family: str
    beta0: tuple
    covariates: Covariates
    noise: Noise | None = None
    intercept: float | None = None
    name: str = field(default="", compare=False)

    def __post_init__(self):
        fam = _FAMILIES.get(str(self.family).lower())
        if fam is None:
            raise ValueError(f"family must be one of {sorted(_FAMILIES)}, got {self.family!r}")
        object.__setattr__(self, "family", fam)
        b = as_float_array(self.beta0, "beta0", ndim=1)
        if b.shape[0] != self.covariates.p:
            raise ValueError(f"beta0 has {b.shape[0]} entries but covariates.p = {self.covariates.p}")
        object.__setattr__(self, "beta0", tuple(float(v) for v in b))
        if fam == "gaussian":
            if self.noise is None:
                object.__setattr__(self, "noise", Noise())
        elif self.noise is not None:
            raise ValueError(f"the {fam} family takes no noise law (noise=None)")
        if self.intercept is not None:
            object.__setattr__(self, "intercept", check_scalar(self.intercept, "intercept"))
        object.__setattr__(self, "_beta", np.asarray(self.beta0, float))

    # -- population description -------------------------------------------------------
    @property
    def p(self) -> int:
        return self.covariates.p

    @property
    def has_intercept(self) -> bool:
        return self.intercept is not None

    @property
    def beta(self) -> np.ndarray:
        return np.asarray(self.beta0, float)

    @property
    def theta0(self) -> np.ndarray:
        """Full true parameter: ``(intercept, beta0)`` if there is an intercept, else ``beta0``."""
        return np.r_[self.intercept, self.beta] if self.has_intercept else self.beta.copy()

    @property
    def penalized(self) -> np.ndarray:
        """Boolean mask over :attr:`theta0`: ``False`` for the intercept."""
        m = np.ones(self.p + self.has_intercept, bool)
        if self.has_intercept:
            m[0] = False
        return m

    @property
    def dim(self) -> int:
        return self.p + int(self.has_intercept)

    def linear_predictor(self, X: np.ndarray) -> np.ndarray:
        eta = (X * self._beta).sum(axis=1)  # element-wise: no BLAS, bit-reproducible
        return eta + self.intercept if self.has_intercept else eta

    def sample(self, n: int, rng, add_intercept: bool = False):
        """Draw ``(X, y)`` with ``n`` rows from ``rng`` (a ``numpy.random.Generator`` or a seed)."""
        rng = _check_rng(rng)
        n = check_count(n, "n")
        if not isinstance(add_intercept, (bool, np.bool_)):
            raise TypeError(f"add_intercept must be True or False, got {add_intercept!r}")
        X = self.covariates.sample(n, rng)
        eta = self.linear_predictor(X)
        if self.family == "gaussian":
            y = eta + self.noise.sample(n, rng)
        elif self.family == "bernoulli":
            y = (rng.random(n) < special.expit(eta)).astype(float)
        else:
            y = rng.poisson(np.exp(eta)).astype(float)
        if add_intercept:
            X = np.column_stack([np.ones(n), X])
        return X, y

    def with_(self, **changes) -> "Design":
        """A copy with some fields replaced (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def config(self) -> dict:
        """Canonical, JSON-able description (used for cache keys and seeds)."""
        return canonical_config(self)

    def key(self) -> str:
        """Stable hex hash of :meth:`config` (the ``name`` is not part of it)."""
        return config_hash(self.config())


# --------------------------------------------------------------------------- hashing / seeds
def canonical_config(obj):
    """A JSON-able canonical form of dataclasses, tuples, arrays, floats (``repr``-exact)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        d = {"__class__": type(obj).__qualname__}
        for f in dataclasses.fields(obj):
            if f.compare:
                d[f.name] = canonical_config(getattr(obj, f.name))
        return d
    if isinstance(obj, dict):
        return {str(k): canonical_config(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [canonical_config(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": [canonical_config(v) for v in obj.tolist()], "shape": list(obj.shape)}
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return {"__float__": float(obj).hex()}
    if obj is None or isinstance(obj, str):
        return obj
    return {"__repr__": repr(obj)}


def config_hash(config) -> str:
    """SHA-256 (hex) of the canonical JSON of ``config``."""
    blob = json.dumps(canonical_config(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _key_words(hexkey: str, nwords: int = 4) -> tuple:
    return tuple(int(hexkey[8 * i: 8 * i + 8], 16) for i in range(nwords))


def replication_seedsequence(design: Design, n: int, seed: int = 0) -> np.random.SeedSequence:
    """Parent ``SeedSequence`` of all replications of ``design`` at sample size ``n``: entropy
    ``(seed, 128-bit design hash, n)``."""
    n, seed = check_count(n, "n"), check_count(seed, "seed", low=0)
    return np.random.SeedSequence([seed, *_key_words(design.key()), n])


def replication_rng(design: Design, n: int, k: int, seed: int = 0) -> np.random.Generator:
    """Generator of replication ``k`` at sample size ``n``: the ``k``-th child,
    ``replication_seedsequence(design, n, seed).spawn(k + 1)[k]``, computed in O(1).  It depends
    only on ``(seed, design, n, k)``."""
    n, k, seed = check_count(n, "n"), check_count(k, "k", low=0), check_count(seed, "seed", low=0)
    ss = np.random.SeedSequence([seed, *_key_words(design.key()), n], spawn_key=(k,))
    return np.random.Generator(np.random.PCG64(ss))


# --------------------------------------------------------------------------- helpers
def sparse_beta(p: int, k: int, value: float | tuple = 1.0, alternate_signs: bool = False) -> tuple:
    """``beta0`` with ``k`` leading nonzero entries ``value`` (a scalar or a length-``k`` tuple)
    and ``p - k`` zeros; ``alternate_signs`` flips the sign of every second nonzero entry."""
    p, k = check_count(p, "p"), check_count(k, "k", low=0)
    if k > p:
        raise ValueError(f"k must be <= p, got k={k}, p={p}")
    b = np.zeros(p)
    b[:k] = np.broadcast_to(np.asarray(value, float), (k,))
    if alternate_signs:
        b[1:k:2] *= -1.0
    return tuple(float(v) for v in b)


def _eta_law(beta0, covariates: Covariates, intercept: float):
    beta = np.asarray(beta0, float)
    mean = intercept + float(covariates.mean_vector @ beta)
    sd = float(math.sqrt(max(beta @ covariates.cov @ beta, 0.0)))
    return mean, sd


def positive_fraction(beta0, covariates: Covariates, intercept: float, n_nodes: int = 80) -> float:
    r""":math:`P(Y=1) = E[\mathrm{expit}(a + x'\beta_0)]` by Gauss–Hermite quadrature over the
    (Gaussian) linear predictor."""
    m, s = _eta_law(beta0, covariates, intercept)
    t, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    return float(np.sum(w * special.expit(m + s * t)) / math.sqrt(2.0 * math.pi))


def intercept_for_balance(beta0, covariates: Covariates, target: float) -> float:
    """Intercept giving a fraction ``target`` of positives (``0 < target < 1``) in the logistic
    model with these slopes and covariates (root of :func:`positive_fraction`, to 1e-12)."""
    target = check_scalar(target, "target")
    if not 0.0 < target < 1.0:
        raise ValueError(f"target must be strictly between 0 and 1, got {target}")
    m0, s = _eta_law(beta0, covariates, 0.0)
    lo, hi = -m0 - 10.0 * (s + 1.0) - 40.0, -m0 + 10.0 * (s + 1.0) + 40.0
    return float(optimize.brentq(lambda a: positive_fraction(beta0, covariates, a) - target,
                                 lo, hi, xtol=1e-13, rtol=1e-13))


def _covariates(p, covariates, rho, mean, scale):
    if isinstance(covariates, Covariates):
        return covariates
    return Covariates(p=p, kind=covariates, rho=rho, mean=mean, scale=scale)


def linear_design(beta0, *, noise: str = "gaussian", sigma: float = 1.0, df: float = 5.0,
                  covariates="independent", rho: float = 0.0, mean=0.0, scale: float = 1.0,
                  intercept: float | None = None, name: str = "") -> Design:
    """Linear model ``y = intercept + x'beta0 + e`` with the given noise law (sd ``sigma``)."""
    beta0 = tuple(np.atleast_1d(np.asarray(beta0, float)).tolist())
    cov = _covariates(len(beta0), covariates, rho, mean, scale)
    return Design("gaussian", beta0, cov, Noise(noise, sigma, df), intercept, name)


def logistic_design(beta0, *, positive_fraction: float | None = None, intercept: float | None = None,
                    covariates="independent", rho: float = 0.0, mean=0.0, scale: float = 1.0,
                    name: str = "") -> Design:
    """Logistic model; give either ``intercept`` or a target ``positive_fraction`` (e.g. 0.1, 0.25,
    0.5), in which case the intercept is found by :func:`intercept_for_balance`."""
    beta0 = tuple(np.atleast_1d(np.asarray(beta0, float)).tolist())
    cov = _covariates(len(beta0), covariates, rho, mean, scale)
    if positive_fraction is not None:
        if intercept is not None:
            raise ValueError("give intercept or positive_fraction, not both")
        frac = check_scalar(positive_fraction, "positive_fraction")
        if not 0.0 < frac < 1.0:
            raise ValueError(f"positive_fraction must be strictly between 0 and 1, got {frac}")
        intercept = intercept_for_balance(beta0, cov, frac)
    return Design("bernoulli", beta0, cov, None, intercept, name)


def poisson_design(beta0, *, intercept: float | None = 0.0, covariates="independent",
                   rho: float = 0.0, mean=0.0, scale: float = 1.0, name: str = "") -> Design:
    """Poisson log-linear model."""
    beta0 = tuple(np.atleast_1d(np.asarray(beta0, float)).tolist())
    cov = _covariates(len(beta0), covariates, rho, mean, scale)
    return Design("poisson", beta0, cov, None, intercept, name)
