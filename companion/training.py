r"""FGSM adversarial training as it is done in practice: regenerate the adversarial examples at the
current coefficients, then take a gradient step on the loss at those examples with the examples held
fixed (book chapter *FGSM on a linear model is a Lasso inside the loss*, section "Training").

For a GLM, :math:`\nabla_\beta\,\ell(y, x^{adv\prime}\beta) = \psi(y, \theta^{adv})\,x^{adv}`, and by Danskin's
theorem this is a (sub)gradient of the closed-form FGSM objective
:math:`\sum_i \ell(y_i, \theta_i + \varepsilon s_i\lVert\beta\rVert_1)` wherever that objective is
differentiable: training on regenerated FGSM examples is gradient descent on the shifted-margin
objective.  With a general noise direction :math:`d(\beta)` the same step uses :math:`\varepsilon s\,d(\beta)`
in place of the true gradient :math:`\varepsilon s\,\nabla P(\beta)`; the two agree only when
:math:`\nabla P = d`, i.e. for the 1-homogeneous :math:`\ell_1` penalty (for :math:`\ell_r`,
:math:`\nabla P = r\,d`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import as_float_array, check_scalar, check_y_length
from .families import get_family


def _direction(penalty, coef: np.ndarray) -> np.ndarray:
    if penalty is None or (isinstance(penalty, str) and penalty.lower() == "l1"):
        return np.sign(coef)
    if hasattr(penalty, "direction"):
        return np.asarray(penalty.direction(coef), dtype=float)
    raise TypeError("penalty must be 'l1', None or an object with a direction(beta) method, "
                    f"got {penalty!r}")


@dataclass
class TrainingResult:
    """Coefficients after training and the history of the clean-data FGSM objective."""

    coef: np.ndarray
    intercept: float
    objective_history: np.ndarray
    n_steps: int


def adversarial_training(X, y, eps, family="gaussian", penalty="l1", *, fit_intercept=True,
                         step=None, n_steps=2000, decay=0.0, clean_weight=0.0, coef_init=None,
                         record_every=10):
    r"""Full-batch FGSM adversarial training.

    At step :math:`k` the examples :math:`x_i^{adv} = x_i + \varepsilon s_i d(\beta^k)`,
    :math:`s_i = \mathrm{sign}(\mu_i - y_i)` (ties to +1), are generated and held fixed, and

    .. math:: \beta^{k+1} = \beta^k - \frac{\eta_k}{n}\sum_i \Bigl[(1-w)\,\psi(y_i, \theta_i^{adv})\,x_i^{adv}
              + w\,\psi(y_i, \theta_i)\,x_i\Bigr],\qquad \eta_k = \frac{\eta}{1 + \text{decay}\cdot k},

    with ``w = clean_weight`` (Goodfellow et al. mix clean and adversarial losses with w = 1/2;
    w = 0 is pure adversarial training).  The default step is :math:`1/L` with :math:`L` the largest
    eigenvalue of :math:`X'X/n` times the family's curvature bound (1 Gaussian, 1/4 Bernoulli).

    Returns a :class:`TrainingResult`; ``objective_history`` holds the mean closed-form FGSM objective
    (eq. ``fgsm-closed-forms``, averaged over observations) every ``record_every`` steps.
    """
    fam = get_family(family)
    X = as_float_array(X, "X", ndim=2)
    y = fam.validate_y(y)
    check_y_length(y, X.shape[0])
    eps = check_scalar(eps, "eps", low=0.0)
    clean_weight = check_scalar(clean_weight, "clean_weight", low=0.0, high=1.0)
    decay = check_scalar(decay, "decay", low=0.0)
    if not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    if fam.name == "poisson":
        raise ValueError("family='poisson' has no global curvature bound; use 'gaussian' or 'bernoulli'")
    n, p = X.shape
    Xa = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
    if step is None:
        curv = 1.0 if fam.name == "gaussian" else 0.25
        lmax = np.linalg.eigvalsh(Xa.T @ Xa / n)[-1]
        step = 1.0 / (curv * (lmax + p * eps * (eps + 2 * np.sqrt(lmax))))
    step = check_scalar(step, "step", low=0.0, low_inclusive=False)
    w = np.zeros(Xa.shape[1]) if coef_init is None else np.r_[as_float_array(coef_init, "coef_init", ndim=1),
                                                              [0.0] * fit_intercept].copy()
    history = []
    for k in range(n_steps):
        coef = w[:p]
        theta = Xa @ w
        s = np.where(fam.score(y, theta) >= 0, 1.0, -1.0)
        d = _direction(penalty, coef)
        shift = eps * s * (d @ coef)
        psi_adv = fam.score(y, theta + shift)
        grad = (1 - clean_weight) * (Xa.T @ psi_adv)
        grad[:p] += (1 - clean_weight) * eps * d * (s @ psi_adv)
        if clean_weight:
            grad += clean_weight * (Xa.T @ fam.score(y, theta))
        if k % record_every == 0:
            history.append(np.mean(fam.loss(y, theta + eps * s * np.abs(coef).sum())))
        w = w - step / (1 + decay * k) * grad / n
    intercept = float(w[p]) if fit_intercept else 0.0
    return TrainingResult(coef=w[:p].copy(), intercept=intercept,
                          objective_history=np.asarray(history), n_steps=n_steps)
