"""Quick-scale run of the *Sign neutrality* experiment: every verdict must hold.

Tolerances: 3 paired Monte Carlo standard errors (fixed in advance); the two deterministic
quadrature checks on V use 1e-10 (zero) and 1e-3 (clearly nonzero)."""
import numpy as np
import pytest

from companion import asymptotics as asy
from companion.experiments import sign_neutrality as exp

LABELS = ["linear, Gaussian noise", "linear, exponential noise", "logistic, 10% positives",
          "logistic, 25% positives", "logistic, 50% positives", "breast cancer (bootstrap)"]
NAMES = [f"difference_matches_prediction: {l}" for l in LABELS] + [
    "gaussian_noise_no_v_shift", "gaussian_noise_finite_n_matches", "gaussian_second_order_is_leading_term", "exponential_noise_v_shift_detected",
    "balanced_logistic_intercept_V_zero", "balanced_logistic_slope_V_nonzero",
    "balanced_logistic_slope_shift_detected"]


@pytest.fixture(scope="module")
def result():
    return exp.run(scale="quick")


def test_verdict_names(result):
    assert result.labels == LABELS
    assert set(result.verdicts) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_verdict(result, name):
    v = result.verdicts[name]
    assert v["passed"], f"{name}: value {v['value']:.4g}, tolerance {v['tolerance']:.4g} ({v['note']})"


def test_prediction_is_v_term_shift(result):
    for l in LABELS:
        assert np.allclose(result.predicted[l], asy.v_term_shift(result.pq[l], result.lam0))
        th = result.pq[l].theta0
        assert np.all(th[result.pq[l].penalized] != 0), "the formula is exact only without zero coefficients"


def test_extrapolation_is_exact_on_its_model():
    ns = np.array([400, 1600, 6400])
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(3, 50, 2)) * 1e-3
    D = 0.7 + 2.0 / np.sqrt(ns)[:, None, None] - 5.0 / ns[:, None, None] + noise
    d, se = exp.extrapolate(ns, D)
    assert np.all(np.abs(d - 0.7) < 5 * se + 1e-12)


def test_bootstrap_truth_is_the_mle(result):
    bc = exp.breast_cancer_design()
    X1 = np.column_stack([np.ones(bc.X_.shape[0]), bc.X_])
    from scipy.special import expit
    score = X1.T @ (expit(X1 @ bc.theta0) - bc.y_) / X1.shape[0]
    assert np.max(np.abs(score)) < 1e-8
