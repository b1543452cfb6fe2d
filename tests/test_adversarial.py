"""Generated adversarial examples versus the closed-form shifted losses."""
import numpy as np
import pytest

from companion import (adversarial_loss, fgsm_examples, fgsm_loss, generalized_examples,
                       shifted_margin_loss, worst_case_examples)
from companion.families import get_family
from companion.penalties import L1, MCP, SCAD, Bridge, WeightedL1

PENS = [None, L1(), Bridge(0.5), Bridge(2.0), SCAD(0.5), MCP(0.5),
        WeightedL1(np.array([1.0, 0.5, 2.0, 0.0]))]


def _data(family, rng, n=40):
    X = rng.normal(size=(n, 4))
    if family == "gaussian":
        y = rng.normal(size=n)
    elif family == "bernoulli":
        y = (rng.random(n) < 0.5).astype(float)
    else:
        y = rng.poisson(1.5, n).astype(float)
    return X, y


@pytest.mark.parametrize("family", ["gaussian", "bernoulli", "poisson"])
@pytest.mark.parametrize("pen", PENS, ids=repr)
def test_loss_at_examples_equals_closed_form(family, pen):
    rng = np.random.default_rng(1)
    X, y = _data(family, rng)
    coef = np.array([0.7, -0.3, 0.0, 1.2])
    eps = 0.15
    np.testing.assert_allclose(fgsm_loss(X, y, coef, eps, family, 0.2, penalty=pen),
                               shifted_margin_loss(X, y, coef, eps, family, 0.2, penalty=pen),
                               rtol=1e-12, atol=1e-12)
    # generalized examples with the worst sign reproduce the estimator's objective term
    Xa = generalized_examples(X, y, coef, eps, family, 0.2, penalty=pen or "l1", sign="worst")
    fam = get_family(family)
    np.testing.assert_allclose(fam.loss(fam.validate_y(y), Xa @ coef + 0.2),
                               adversarial_loss(X, y, coef, eps, family, 0.2, penalty=pen or "l1"),
                               rtol=1e-12, atol=1e-12)


def test_gaussian_continuous_form_at_zero_residual():
    X = np.array([[1.0, 2.0]])
    coef = np.array([0.5, -1.0])
    y = X @ coef  # exact zero residual
    eps = 0.3
    assert fgsm_loss(X, y, coef, eps)[0] == pytest.approx(0.5 * (eps * 1.5) ** 2)


@pytest.mark.parametrize("family", ["gaussian", "bernoulli"])
def test_worst_case_equals_fgsm_for_linear_and_logistic(family):
    rng = np.random.default_rng(2)
    X, y = _data(family, rng)
    coef = np.array([0.7, -0.3, 0.0, 1.2])
    np.testing.assert_allclose(worst_case_examples(X, y, coef, 0.2, family),
                               fgsm_examples(X, y, coef, 0.2, family))
    # brute force over the vertices of the l_inf ball in the support of coef
    fam = get_family(family)
    yy = fam.validate_y(y)
    best = fam.loss(yy, worst_case_examples(X, y, coef, 0.2, family) @ coef)
    for signs in np.array(np.meshgrid(*[[-1, 1]] * 4)).T.reshape(-1, 4):
        lv = fam.loss(yy, (X + 0.2 * signs) @ coef)
        assert np.all(lv <= best + 1e-12)


def test_poisson_worst_sign_dominates_fgsm_sign():
    rng = np.random.default_rng(3)
    X, y = _data("poisson", rng, n=200)
    coef = np.array([0.4, -0.3, 0.2, 0.1])
    # put some margins just below log(y): FGSM pushes down, the worst case is up
    y[:5] = 3.0
    X[:5] = 0.0
    X[:5, 0] = (np.log(3.0) - 0.05) / 0.4
    worst = adversarial_loss(X, y, coef, 1.0, "poisson", sign="worst")
    fgsm = adversarial_loss(X, y, coef, 1.0, "poisson", sign="fgsm")
    assert np.all(worst >= fgsm - 1e-12) and np.any(worst > fgsm + 1e-9)


def test_direction_shift_identity():
    rng = np.random.default_rng(4)
    X, y = _data("gaussian", rng)
    coef = np.array([0.7, -0.3, 0.0, 1.2])
    pen = Bridge(0.5)
    Xa = generalized_examples(X, y, coef, 0.1, "gaussian", penalty=pen)
    shift = (Xa - X) @ coef
    np.testing.assert_allclose(np.abs(shift), 0.1 * pen.value(coef))


def test_bad_inputs():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="eps"):
        fgsm_examples(X, [1, 2, 3], [1, 1], -0.1)
    with pytest.raises(ValueError, match="coef"):
        fgsm_examples(X, [1, 2, 3], [1, 1, 1], 0.1)
    with pytest.raises(ValueError, match="sign"):
        adversarial_loss(X, [1, 2, 3], [1, 1], 0.1, "poisson", sign="best")
