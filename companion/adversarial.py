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

Generalized FGSM (keyword ``penalty=``, default L1): for a penalty :math:`P(\beta)=\sum_j p(|\beta_j|)`
the perturbation direction is :math:`d_j(\beta) = \mathrm{sign}(\beta_j)p(|\beta_j|)/|\beta_j|`, so
:math:`x^{adv} = x + \varepsilon s\, d(\beta)` moves the margin by :math:`\varepsilon s P(\beta)`
(:func:`generalized_examples`, :func:`adversarial_loss`).  For the L1 penalty and a linear model the
FGSM example is also the exact worst case over the :math:`\ell_\infty` ball
(:func:`worst_case_examples`).  For Poisson the FGSM sign :math:`s = \mathrm{sign}(e^\theta - y)` is
not always the worst sign (the FGSM objective jumps where :math:`\theta = \log y`); the estimators
therefore use the worst sign, :math:`\max_{s=\pm1}\ell(y, \theta + s\varepsilon P)`, which for a
convex loss is the worst case over the whole interval of margins (``sign="worst"`` below).

The intercept is never perturbed.  Ties (:math:`\mu = y`, possible for Gaussian and Poisson)
are broken towards :math:`s = +1`, which attains the worst case over the ball, so the loss at the
generated examples always equals the continuous closed form.
"""
from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_scalar, check_X_coef, check_y_length
from .families import Bernoulli, Gaussian, get_family
from .penalties import get_penalty

__all__ = ["score_sign", "worst_sign", "fgsm_examples", "fgsm_loss", "shifted_margin_loss",
           "goodfellow_printed_loss", "generalized_examples", "worst_case_examples",
           "adversarial_loss"]


def _prepare(X, y, coef, eps, family, intercept):
    fam = get_family(family)
    X, coef, intercept = check_X_coef(X, coef, intercept)
    y = fam.validate_y(y)
    check_y_length(y, X.shape[0])
    eps = check_scalar(eps, "eps", low=0.0)
    return X, y, coef, eps, fam, intercept


def _pen(penalty):
    return get_penalty("l1" if penalty is None else penalty)


def worst_sign(y, theta, shift, family) -> np.ndarray:
    r"""Sign :math:`s \in \{-1, +1\}` maximising :math:`\ell(y, \theta + s\,\mathrm{shift})` (ties: +1).

    For Gaussian and Bernoulli this coincides with the FGSM sign :math:`\mathrm{sign}(\mu - y)`."""
    fam = get_family(family)
    up = fam.loss(y, theta + shift)
    down = fam.loss(y, theta - shift)
    return np.where(up >= down, 1.0, -1.0)


def _signs(y, theta, shift, fam, sign):
    if sign == "fgsm":
        return score_sign(y, theta, fam)
    if sign == "worst":
        return worst_sign(y, theta, shift, fam)
    raise ValueError(f"sign must be 'fgsm' or 'worst', got {sign!r}")


def score_sign(y, theta, family) -> np.ndarray:
    r""":math:`s = \mathrm{sign}(\mu(\theta) - y)` with ties set to +1 (the worst case)."""
    fam = get_family(family)
    psi = fam.score(y, theta)
    return np.where(psi >= 0, 1.0, -1.0)


def fgsm_examples(X, y, coef, eps, family="gaussian", intercept=0.0, penalty=None) -> np.ndarray:
    r"""FGSM examples :math:`x_i + \varepsilon s_i \mathrm{sign}(\beta)` (eq. ``fgsm-example``).

    ``y`` is given in any coding the family accepts (e.g. two class labels for Bernoulli).
    Returns an array of the shape of ``X``.  With ``penalty`` (a name or a
    :class:`companion.penalties.Penalty`) the direction is the generalized :math:`d(\beta)`, see
    :func:`generalized_examples`; the default is L1 (:math:`d = \mathrm{sign}(\beta)`).
    """
    X, y, coef, eps, fam, intercept = _prepare(X, y, coef, eps, family, intercept)
    s = score_sign(y, X @ coef + intercept, fam)
    d = np.sign(coef) if penalty is None else _pen(penalty).direction(coef)
    return X + eps * s[:, None] * d[None, :]


def generalized_examples(X, y, coef, eps, family="gaussian", intercept=0.0, penalty="l1",
                         sign="fgsm") -> np.ndarray:
    r"""Generalized FGSM examples :math:`x_i + \varepsilon s_i d(\beta)` for any family and penalty.

    :math:`d_j = \mathrm{sign}(\beta_j) p(|\beta_j|)/|\beta_j|` so that the margin moves by
    :math:`\varepsilon s_i P(\beta)`.  ``sign="fgsm"`` uses :math:`s = \mathrm{sign}(\mu - y)`
    (ties +1), ``sign="worst"`` the sign maximising the loss (they differ only for Poisson)."""
    X, y, coef, eps, fam, intercept = _prepare(X, y, coef, eps, family, intercept)
    pen = _pen(penalty)
    theta = X @ coef + intercept
    s = _signs(y, theta, eps * pen.value(coef), fam, sign)
    return X + eps * s[:, None] * pen.direction(coef)[None, :]


def worst_case_examples(X, y, coef, eps, family="gaussian", intercept=0.0) -> np.ndarray:
    r"""Exact maximiser of :math:`\ell(y, (x+\delta)'\beta + b_0)` over :math:`\lVert\delta\rVert_\infty \le \varepsilon`.

    :math:`\delta'\beta` ranges over :math:`[-\varepsilon\lVert\beta\rVert_1, \varepsilon\lVert\beta\rVert_1]`
    and a convex loss is maximised at an end point, attained by :math:`\delta = \pm\varepsilon\,\mathrm{sign}(\beta)`.
    For the linear (and logistic) model this is exactly the FGSM example; for Poisson it can differ
    from FGSM (which uses :math:`\mathrm{sign}(e^\theta - y)`)."""
    X, y, coef, eps, fam, intercept = _prepare(X, y, coef, eps, family, intercept)
    theta = X @ coef + intercept
    s = worst_sign(y, theta, eps * np.abs(coef).sum(), fam)
    return X + eps * s[:, None] * np.sign(coef)[None, :]


def fgsm_loss(X, y, coef, eps, family="gaussian", intercept=0.0, penalty=None) -> np.ndarray:
    """Per-observation loss evaluated at the generated FGSM examples (generate, then evaluate)."""
    X, y, coef, eps, fam, intercept = _prepare(X, y, coef, eps, family, intercept)
    X_adv = fgsm_examples(X, y, coef, eps, fam, intercept, penalty=penalty)
    return fam.loss(y, X_adv @ coef + intercept)


def adversarial_loss(X, y, coef, eps, family="gaussian", intercept=0.0, penalty="l1",
                     sign="worst") -> np.ndarray:
    r"""Closed form :math:`\ell(y_i, \theta_i + \varepsilon s_i P(\beta))` per observation.

    ``sign="worst"`` (default) is the estimator's objective term; ``sign="fgsm"`` the literal FGSM
    sign.  Gaussian: :math:`(|r| + \varepsilon P)^2/2` (continuous form, no ``sign(r)``);
    Bernoulli: :math:`\mathrm{softplus}(-\tilde y\theta + \varepsilon P)`."""
    X, y, coef, eps, fam, intercept = _prepare(X, y, coef, eps, family, intercept)
    pen = _pen(penalty)
    theta = X @ coef + intercept
    P = pen.value(coef)
    if isinstance(fam, Gaussian):
        return 0.5 * (np.abs(y - theta) + eps * P) ** 2
    if isinstance(fam, Bernoulli):
        return np.logaddexp(0.0, -(2.0 * y - 1.0) * theta + eps * P)
    return fam.loss(y, theta + eps * _signs(y, theta, eps * P, fam, sign) * P)


def shifted_margin_loss(X, y, coef, eps, family="gaussian", intercept=0.0, penalty=None) -> np.ndarray:
    r"""Closed form of the FGSM loss (eq. ``fgsm-closed-forms``), per observation.

    Gaussian :math:`(|r| + \varepsilon\lVert\beta\rVert_1)^2/2`; Bernoulli
    :math:`\mathrm{softplus}(-\tilde y\,\theta + \varepsilon\lVert\beta\rVert_1)`; Poisson
    :math:`\ell(y, \theta + \varepsilon s \lVert\beta\rVert_1)` with :math:`s = \mathrm{sign}(e^\theta - y)`.
    With ``penalty`` the margin shift :math:`\lVert\beta\rVert_1` is replaced by :math:`P(\beta)`.
    """
    X, y, coef, eps, fam, intercept = _prepare(X, y, coef, eps, family, intercept)
    theta = X @ coef + intercept
    T = np.abs(coef).sum() if penalty is None else _pen(penalty).value(coef)
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
