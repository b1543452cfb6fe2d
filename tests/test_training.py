import cvxpy as cvx
import numpy as np
import pytest

from companion import fgsm_loss
from companion.training import adversarial_training


def _data(family, n=300, p=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta = np.array([1.0, -0.5, 0.0, 0.25])[:p]
    theta = X @ beta + 0.2
    if family == "gaussian":
        y = theta + rng.normal(size=n)
    else:
        y = rng.binomial(1, 1 / (1 + np.exp(-theta))).astype(float)
    return X, y


def _cvx_fgsm(X, y, eps, family):
    n, p = X.shape
    b, b0 = cvx.Variable(p), cvx.Variable()
    theta = X @ b + b0
    T = cvx.norm1(b)
    if family == "gaussian":
        obj = cvx.sum(cvx.square(cvx.abs(y - theta) + eps * T)) / 2
    else:
        obj = cvx.sum(cvx.logistic(cvx.multiply(-(2 * y - 1), theta) + eps * T))
    cvx.Problem(cvx.Minimize(obj)).solve(solver=cvx.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10,
                                         tol_feas=1e-10)
    return b.value, float(b0.value), obj.value / n


@pytest.mark.parametrize("family", ["gaussian", "bernoulli"])
def test_training_on_regenerated_fgsm_examples_minimizes_the_closed_form(family):
    X, y = _data(family)
    eps = 0.05
    ref_coef, ref_b0, ref_obj = _cvx_fgsm(X, y, eps, family)
    res = adversarial_training(X, y, eps, family=family, n_steps=20000, decay=1e-3)
    obj = fgsm_loss(X, y, res.coef, eps, family=family, intercept=res.intercept).mean()
    assert obj >= ref_obj - 1e-9            # the reference is the minimum
    assert obj - ref_obj < 5e-5            # subgradient method: slow O(1/sqrt(k)) rate near kinks
    assert np.max(np.abs(res.coef - ref_coef)) < 5e-3
    # the recorded objective decreases overall
    assert res.objective_history[-1] < res.objective_history[0]


def test_step_uses_the_noise_direction_not_the_penalty_gradient():
    """For l_r with r != 1, training on fixed examples follows eps*s*d, not eps*s*grad P = r*eps*s*d."""
    X, y = _data("gaussian")

    class Bridge2:
        def direction(self, b):
            return np.sign(b) * np.abs(b)

    start = np.array([0.8, -0.4, 0.1, 0.3])
    one = adversarial_training(X, y, 0.1, penalty=Bridge2(), fit_intercept=False, n_steps=1,
                               coef_init=start, step=0.5)
    # closed-form objective sum (|r| + eps*P)^2/2 with P = ||b||_2^2 ; its gradient uses grad P = 2b
    r = y - X @ start
    P = np.sum(start ** 2)
    s = -np.sign(r)
    psi = -(r - 0.1 * s * P)
    true_grad = X.T @ psi + 0.1 * 2 * start * (s @ psi)
    fixed_grad = X.T @ psi + 0.1 * start * (s @ psi)
    step_taken = (start - one.coef) / 0.5 * len(y)
    assert np.allclose(step_taken, fixed_grad)
    assert not np.allclose(step_taken, true_grad)


def test_bad_arguments():
    X, y = _data("gaussian")
    with pytest.raises(ValueError, match="eps"):
        adversarial_training(X, y, -1.0)
    with pytest.raises(ValueError, match="n_steps"):
        adversarial_training(X, y, 0.1, n_steps=0)
    with pytest.raises(ValueError, match="clean_weight"):
        adversarial_training(X, y, 0.1, clean_weight=2.0)
    with pytest.raises(TypeError, match="penalty"):
        adversarial_training(X, y, 0.1, penalty=3)
