r"""GLM families in canonical form (book: *FGSM on a linear model is a Lasso inside the loss*, eq. ``glm-loss``).

Per-observation negative log-likelihood :math:`\ell(y,\theta) = b(\theta) - y\theta`
(up to terms free of :math:`\theta`), mean :math:`\mu = b'(\theta)`, variance function
:math:`b''(\theta)` and score :math:`\psi(y, \theta) = \partial\ell/\partial\theta = \mu(\theta) - y`.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit

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

    def validate_y(self, y, name: str = "y"):
        arr = np.asarray(y)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
        if arr.size == 0:
            raise ValueError(f"{name} is empty; at least one label is required")
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or inf; labels must be finite")
        classes = np.unique(arr)
        if classes.size != 2:
            raise ValueError(
                f"{name} must contain exactly two classes for the Bernoulli family, "
                f"got {classes.size}: {classes[:10].tolist()}")
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
