"""Families: losses, means, scores and label validation."""
import numpy as np
import pytest

from companion.families import Bernoulli, Gaussian, Poisson, get_family


@pytest.mark.parametrize("fam", [Gaussian(), Bernoulli(), Poisson()])
def test_score_is_derivative_of_loss(fam):
    rng = np.random.default_rng(0)
    theta = rng.normal(size=50)
    y = {"gaussian": rng.normal(size=50), "bernoulli": (rng.random(50) < 0.5) * 1.0,
         "poisson": rng.poisson(2.0, 50) * 1.0}[fam.name]
    h = 1e-6
    num = (fam.loss(y, theta + h) - fam.loss(y, theta - h)) / (2 * h)
    np.testing.assert_allclose(fam.score(y, theta), num, atol=1e-6)
    num2 = (fam.score(y, theta + h) - fam.score(y, theta - h)) / (2 * h)
    np.testing.assert_allclose(fam.variance(theta), num2, atol=1e-6)


def test_bernoulli_labels_and_errors():
    fam = Bernoulli()
    np.testing.assert_array_equal(fam.validate_y(["b", "a", "b"]), [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(fam.validate_y([-1, 1]), [0.0, 1.0])
    with pytest.raises(ValueError, match="y"):
        fam.validate_y([1, 1, 1])
    with pytest.raises(ValueError, match="two classes"):
        fam.validate_y([0, 1, 2])


def test_poisson_rejects_negative_counts():
    with pytest.raises(ValueError, match="y"):
        Poisson().validate_y([1.0, -1.0])


def test_get_family_aliases_and_errors():
    assert get_family("logistic").name == "bernoulli"
    assert get_family("linear").name == "gaussian"
    with pytest.raises(ValueError, match="family"):
        get_family("gamma")
    with pytest.raises(TypeError, match="family"):
        get_family(3)


def test_bernoulli_loss_is_softplus_of_negative_margin():
    theta = np.linspace(-30, 30, 7)
    for y in (0.0, 1.0):
        ytil = 2 * y - 1
        np.testing.assert_allclose(Bernoulli().loss(y, theta), np.logaddexp(0, -ytil * theta),
                                   rtol=1e-12, atol=1e-12)
