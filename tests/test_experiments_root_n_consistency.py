"""The chapter *Root-n consistency*: every verdict of the quick-scale experiment must hold."""
import numpy as np
import pytest

from companion.experiments import root_n_consistency as exp


@pytest.fixture(scope="module")
def result():
    return exp.run(scale="quick")


NAMES = [f"{d}: {what}" for d in ("linear", "logistic") for what in (
    "RMSE slope", "Theorem A constant", "fixed eps targets beta_eps", "fixed eps RMSE flattens",
    "zero coefficient of beta_eps", "accuracy of R_eps", "SD halves when n quadruples")]
SANITY = {n for n in NAMES if n.endswith(("accuracy of R_eps", "SD halves when n quadruples"))}


def test_verdicts_present(result):
    assert sorted(result.verdicts) == sorted(NAMES)
    assert {k for k, v in result.verdicts.items() if v.kind == "sanity"} == SANITY


@pytest.mark.parametrize("name", NAMES)
def test_verdict(result, name):
    v = result.verdicts[name]
    assert v.passed, f"{name}: {v}"


def test_sd_halving_does_not_separate_the_schedules(result):
    """The reason the SD check is a sanity check: the inconsistent fixed-eps estimator passes it too."""
    for name in ("linear", "logistic"):
        z = np.abs(result.sd_ratio_total[f"{name}/fixed"] - 2.0) / result.sd_ratio_total_se[f"{name}/fixed"]
        assert np.all(z <= 3.0), name
        # while the RMSE slope test rejects it
        assert abs(result.slope[f"{name}/fixed"] + 0.5) > exp.SLOPE_TOL


def test_zero_coordinate_check_can_fail():
    """Holding a *nonzero* coefficient of beta_eps at 0: moving it lowers the risk, so the check fails."""
    d = exp.designs()["linear"]
    te = exp.population_minimizer(d, exp.EPS_FIXED)
    bad = te.copy()
    bad[1] = 0.0
    assert exp.zero_coordinate_check(d, bad, exp.EPS_FIXED) < -exp.ZERO_MIN_INCREASE
    assert exp.zero_coordinate_check(d, te, exp.EPS_FIXED) > exp.ZERO_MIN_INCREASE


def test_risk_error_is_far_below_the_increase():
    for d in exp.designs().values():
        te = exp.population_minimizer(d, exp.EPS_FIXED)
        assert exp.risk_error(d, te, exp.EPS_FIXED) < exp.RISK_ERROR_MAX


def test_run_rejects_bad_arguments():
    with pytest.raises(ValueError, match="scale"):
        exp.run(scale="huge")
    with pytest.raises(TypeError, match="seed"):
        exp.run(scale="quick", seed=1.5)


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
