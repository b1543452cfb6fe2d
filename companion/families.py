r"""GLM families in canonical form (book: *FGSM on a linear model is a Lasso inside the loss*, eq. ``glm-loss``).

Per-observation negative log-likelihood :math:`\ell(y,\theta) = b(\theta) - y\theta`
(up to terms free of :math:`\theta`), mean :math:`\mu = b'(\theta)`, variance function
:math:`b''(\theta)` and score :math:`\psi(y, \theta) = \partial\ell/\partial\theta = \mu(\theta) - y`.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit
from sklearn.utils.multiclass import check_classification_targets

from ._validation import as_float_array


def _softplus(t):
    """Numerically stable :math:`\\log(1+e^t)`."""
    t = np.asarray(t, dtype=float)
    return np.logaddexp(0.0, t)


class Family:
    """Base class: a canonical exponential family used as a GLM datafit."""

    name = "family"

    def loss(self, y, theta):  # pragma: no cover - abstract
        raise NotImplementedError

    def mean(self, theta):  # pragma: no cover - abstract
        raise NotImplementedError

    def variance(self, theta):  # pragma: no cover - abstract
        raise NotImplementedError

    def score(self, y, theta):
        r""":math:`\psi(y, \theta) = \mu(\theta) - y`, the derivative of the loss in :math:`\theta`."""
        return self.mean(theta) - y

    def derivatives(self, y, theta):
        r"""Loss, first and second derivative in :math:`\theta`, elementwise (what the solver
        uses): :math:`(b(\theta) - y\theta,\ b'(\theta) - y,\ b''(\theta))`."""
        mu = self.mean(theta)
        return self.loss(y, theta), mu - y, self.variance(theta)

    def link(self, mu):  # pragma: no cover - abstract
        r"""Canonical link :math:`\theta = (b')^{-1}(\mu)` (the intercept-only fit at the mean)."""
        raise NotImplementedError

    def validate_y(self, y, name: str = "y"):
        """Check ``y`` and return it encoded as floats in this family's natural coding."""
        return as_float_array(y, name, ndim=1)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Gaussian(Family):
    r"""Linear model: :math:`\ell = (y-\theta)^2/2`, :math:`\mu = \theta`, :math:`b'' = 1`."""

    name = "gaussian"

    def loss(self, y, theta):
        return 0.5 * (np.asarray(y, float) - theta) ** 2

    def mean(self, theta):
        return np.asarray(theta, dtype=float)

    def variance(self, theta):
        return np.ones_like(np.asarray(theta, dtype=float))

    def derivatives(self, y, theta):
        return 0.5 * (y - theta) ** 2, theta - y, np.ones_like(theta)

    def link(self, mu):
        return float(mu)


class Bernoulli(Family):
    r"""Logistic regression: :math:`\ell = \log(1+e^\theta) - y\theta`, :math:`y \in \{0,1\}`.

    ``validate_y`` accepts {0,1}, {-1,1}, booleans or any two class labels and returns
    0/1 floats (the larger label, in sorted order, is coded 1).
    """

    name = "bernoulli"

    def loss(self, y, theta):
        return _softplus(theta) - np.asarray(y, float) * theta

    def mean(self, theta):
        return expit(theta)

    def variance(self, theta):
        mu = expit(theta)
        return mu * (1.0 - mu)

    def derivatives(self, y, theta):
        s = expit(theta)
        return np.logaddexp(0.0, theta) - y * theta, s - y, s * (1.0 - s)

    def link(self, mu):
        mu = min(max(float(mu), 1e-10), 1 - 1e-10)
        return float(np.log(mu / (1.0 - mu)))

    def validate_y(self, y, name: str = "y"):
        arr = np.asarray(y)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
        if arr.size == 0:
            raise ValueError(f"{name} is empty; at least one label is required")
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or inf; labels must be finite")
        try:
            check_classification_targets(arr)
        except ValueError as exc:
            raise ValueError(f"{name} must hold two class labels for the Bernoulli family: "
                             f"{exc}") from exc
        classes = np.unique(arr)
        if classes.size == 1:
            raise ValueError(f"{name} contains only one class ({classes[0]!r}); the Bernoulli "
                             "family needs exactly two classes")
        if classes.size > 2:
            raise ValueError(f"Only binary classification is supported: {name} must contain "
                             f"exactly two classes for the Bernoulli family, got {classes.size}: "
                             f"{classes[:10].tolist()}")
        return (arr == classes[1]).astype(np.float64)


class Poisson(Family):
    r"""Poisson log-linear model: :math:`\ell = e^\theta - y\theta`, :math:`y \in \{0, 1, 2, \dots\}`."""

    name = "poisson"

    def loss(self, y, theta):
        return np.exp(theta) - np.asarray(y, float) * theta

    def mean(self, theta):
        return np.exp(theta)

    def variance(self, theta):
        return np.exp(theta)

    def derivatives(self, y, theta):
        with np.errstate(over="ignore"):
            e = np.exp(theta)
        with np.errstate(invalid="ignore"):
            return e - y * theta, e - y, e

    def link(self, mu):
        return float(np.log(max(float(mu), 1e-10)))

    def validate_y(self, y, name: str = "y"):
        arr = as_float_array(y, name, ndim=1)
        if np.any(arr < 0):
            raise ValueError(f"{name} must hold non-negative counts for the Poisson family")
        return arr


FAMILIES = {"gaussian": Gaussian, "bernoulli": Bernoulli, "poisson": Poisson}
_ALIASES = {"linear": "gaussian", "normal": "gaussian", "logistic": "bernoulli",
            "binomial": "bernoulli"}


def get_family(family) -> Family:
    """Return a :class:`Family` instance from an instance or a name
    (``"gaussian"``/``"linear"``, ``"bernoulli"``/``"logistic"``, ``"poisson"``)."""
    if isinstance(family, Family):
        return family
    if isinstance(family, str):
        key = _ALIASES.get(family.lower(), family.lower())
        if key in FAMILIES:
            return FAMILIES[key]()
        raise ValueError(
            f"family must be one of {sorted(FAMILIES)} (or an alias {sorted(_ALIASES)}), got {family!r}")
    raise TypeError(f"family must be a string or a companion Family, got {type(family).__name__}")
