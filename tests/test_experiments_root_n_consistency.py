"""The chapter *Root-n consistency*: every verdict of the quick-scale experiment must hold."""
import numpy as np
import pytest

from companion.experiments import root_n_consistency as exp


@pytest.fixture(scope="module")
def result():
    return exp.run(scale="quick")


def test_verdicts_present(result):
    assert len(result.verdicts) == 12


@pytest.mark.parametrize("name", [
    f"{d}: {what}" for d in ("linear", "logistic") for what in (
        "log-log slope of RMSE (eps = lam0/sqrt n) within 0.05 of -1/2",
        "total SD halves when n quadruples (ratio 2 within 3 SE)",
        "fixed eps, mean estimate at n = 4000 equals the population minimizer (3 SE)",
        "fixed eps, RMSE flattens (slope over the last three n above -0.25)",
        "population minimizer keeps the zero coefficients at 0",
        "sqrt(n) RMSE at the largest n equals the Theorem A constant (3 SE)")])
def test_verdict(result, name):
    v = result.verdicts[name]
    assert v["passed"], f"{name}: {v}"


def test_population_minimizer_is_truth_without_attack():
    for d in exp.designs().values():
        np.testing.assert_allclose(exp.population_minimizer(d, 0.0), d.theta0, atol=1e-6)


def test_population_risk_matches_monte_carlo():
    """The quadrature/closed form of the population FGSM risk against a large seeded sample."""
    from companion.adversarial import shifted_margin_loss
    rng = np.random.default_rng(7)
    for d in exp.designs().values():
        th = d.theta0 + np.array([0.1, -0.2, 0.3])
        X, y = d.sample(400_000, rng)
        if d.has_intercept:
            L = shifted_margin_loss(X, y, th[1:], 0.1, family=d.family, intercept=th[0])
        else:
            L = shifted_margin_loss(X, y, th, 0.1, family=d.family)
        se = L.std() / np.sqrt(L.size)
        assert abs(L.mean() - exp.population_risk(d, th, 0.1)) < 4 * se
