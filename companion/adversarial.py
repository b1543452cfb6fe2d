r"""FGSM adversarial examples for GLMs and the closed-form shifted-margin loss.

Book chapter *FGSM on a linear model is a Lasso inside the loss*, eqs. ``fgsm-example``,
``fgsm-margin`` and ``fgsm-closed-forms``:

* :math:`\nabla_x \ell = \psi\,\beta`, so the FGSM example with :math:`\ell_\infty` radius
  :math:`\varepsilon` is :math:`x^{adv} = x + \varepsilon\, s\, \mathrm{sign}(\beta)` with
  :math:`s = \mathrm{sign}(\mu - y)`;
* hence :math:`x^{adv\prime}\beta = x'\beta + \varepsilon s \lVert\beta\rVert_1`;
* Gaussian: :math:`\ell(x^{adv}) = (|r| + \varepsilon\lVert\beta\rVert_1)^2/2`, :math:`r = y - x'\beta`;
* Bernoulli: :math:`\ell(x^{adv}) = \log(1 + e^{-\tilde y x'\beta + \varepsilon\lVert\beta\rVert_1})`,
  :math:`\tilde y = 2y - 1`.

The intercept is never perturbed.  Ties (:math:`\mu = y`, possible for Gaussian and Poisson)
are broken towards :math:`s = +1`, which attains the worst case over the ball, so the loss at the
generated examples always equals the continuous closed form.
"""
from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_scalar, check_X_coef, check_y_length
from .families import Bernoulli, Gaussian, get_family


def _prepare(X, y, coef, eps, family, intercept):
    fam = get_family(family)
    X, coef, intercept = check_X_coef(X, coef, intercept)
    y = fam.validate_y(y)
    check_y_length(y, X.shape[0])
    eps = check_scalar(eps, "eps", low=0.0)
    return X, y, coef, eps, fam, intercept


def score_sign(y, theta, family) -> np.ndarray:
    r""":math:`s = \mathrm{sign}(\mu(\theta) - y)` with ties set to +1 (the worst case)."""
    fam = get_family(family)
    psi = fam.score(y, theta)
    return np.where(psi >= 0, 1.0, -1.0)


def fgsm_examples(X, y, coef, eps, family="gaussian", intercept=0.0) -> np.ndarray:
    r"""FGSM examples :math:`x_i + \varepsilon s_i \mathrm{sign}(\beta)` (eq. ``fgsm-example``).

    ``y`` is given in any coding the family accepts (e.g. two class labels for Bernoulli).
    Returns an array of the shape of ``X``.
    """
    X, y, coef, eps, fam, intercept = _prepare(X, y, coef, eps, family, intercept)
    s = score_sign(y, X @ coef + intercept, fam)
    return X + eps * s[:, None] * np.sign(coef)[None, :]


def fgsm_loss(X, y, coef, eps, family="gaussian", intercept=0.0) -> np.ndarray:
    """Per-observation loss evaluated at the generated FGSM examples (generate, then evaluate)."""
    X, y, coef, eps, fam, intercept = _prepare(X, y, coef, eps, family, intercept)
    X_adv = fgsm_examples(X, y, coef, eps, fam, intercept)
    return fam.loss(y, X_adv @ coef + intercept)


def shifted_margin_loss(X, y, coef, eps, family="gaussian", intercept=0.0) -> np.ndarray:
    r"""Closed form of the FGSM loss (eq. ``fgsm-closed-forms``), per observation.

    Gaussian :math:`(|r| + \varepsilon\lVert\beta\rVert_1)^2/2`; Bernoulli
    :math:`\mathrm{softplus}(-\tilde y\,\theta + \varepsilon\lVert\beta\rVert_1)`; Poisson
    :math:`\ell(y, \theta + \varepsilon s \lVert\beta\rVert_1)` with :math:`s = \mathrm{sign}(e^\theta - y)`.
    """
    X, y, coef, eps, fam, intercept = _prepare(X, y, coef, eps, family, intercept)
    theta = X @ coef + intercept
    T = np.abs(coef).sum()
    if isinstance(fam, Gaussian):
        return 0.5 * (np.abs(y - theta) + eps * T) ** 2
    if isinstance(fam, Bernoulli):
        return np.logaddexp(0.0, -(2.0 * y - 1.0) * theta + eps * T)
    return fam.loss(y, theta + eps * score_sign(y, theta, fam) * T)


def goodfellow_printed_loss(X, y_pm, coef, eps, intercept=0.0) -> np.ndarray:
    r"""Goodfellow et al. (2015, Sec. 5) as printed: :math:`\zeta(y(\varepsilon\lVert w\rVert_1 - w'x - b))`,
    with :math:`y \in \{-1, +1\}` and :math:`\zeta` the softplus.  Correct for ``y = +1`` only; the
    general form is :math:`\zeta(\varepsilon\lVert w\rVert_1 - y(w'x + b))`.
    """
    X, coef, intercept = check_X_coef(X, coef, intercept)
    y_pm = as_float_array(y_pm, "y_pm", ndim=1)
    check_y_length(y_pm, X.shape[0])
    if not np.all(np.isin(y_pm, (-1.0, 1.0))):
        raise ValueError("y_pm must contain only -1 and +1")
    eps = check_scalar(eps, "eps", low=0.0)
    return np.logaddexp(0.0, y_pm * (eps * np.abs(coef).sum() - X @ coef - intercept))
