"""Quick-scale run of the *Sign neutrality* experiment and the pre-specified extrapolation model.

Tolerances: 3 paired Monte Carlo standard errors for single coordinates and the level
``exp.ALPHA`` (the 3-SE level) for the Wald tests, all fixed in advance; the two ``original_...``
verdicts are the chapter's first analyses and may fail only with the status "fails, explained"."""
import numpy as np
import pytest

from companion import asymptotics as asy
from companion.experiments import sign_neutrality as exp

LABELS = ["linear, Gaussian noise", "linear, exponential noise", "logistic, 10% positives",
          "logistic, 25% positives", "logistic, 50% positives", "breast cancer (bootstrap)"]
PER_SEED = ["prediction_matches", "extrapolation_model_fits", "balanced_slopes_joint_wald",
            "gaussian_finite_n_matches", "exponential_noise_shift_detected", "balanced_slope_shift_detected"]
NAMES = (["original_two_point_extrapolation", "original_gaussian_second_order_only", "balanced_intercept_V_zero",
          "balanced_slope_V_nonzero", "gaussian_second_order_is_leading_term"]
         + [f"{n} (seed {s})" for s in (exp.SEED, exp.SEED_FRESH) for n in PER_SEED])


@pytest.fixture(scope="module")
def result():
    return exp.run(scale="quick")


def test_verdict_names(result):
    assert result.labels == LABELS
    assert set(result.verdicts) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_verdict(result, name):
    v = result.verdicts[name]
    if name.startswith("original_"):
        assert v.passed or v.status == "fails, explained"
    else:
        assert v.passed, f"{name}: value {v.value:.4g}, tolerance {v.tolerance:.4g} ({v.statement})"


def test_sanity_and_test_kinds(result):
    assert result.verdicts["balanced_intercept_V_zero"].kind == "sanity"
    assert all(v.kind == "test" for k, v in result.verdicts.items() if k != "balanced_intercept_V_zero")


def test_seeds_differ_and_data_differ(result):
    assert result.design.seed == exp.SEED != exp.SEED_FRESH == result.fresh.seed
    lab = "logistic, 50% positives"
    assert not np.allclose(result.design.diff_mean[lab], result.fresh.diff_mean[lab])


def test_prediction_is_v_term_shift(result):
    for l in LABELS:
        assert np.allclose(result.predicted[l], asy.v_term_shift(result.pq[l], result.lam0))
        th = result.pq[l].theta0
        assert np.all(th[result.pq[l].penalized] != 0), "the formula is exact only without zero coefficients"


def _synthetic(extra=0.0, reps=400, seed=0):
    ns = np.array([400, 1600, 6400, 25600])
    rng = np.random.default_rng(seed)
    sd = np.array([0.2, 0.1, 0.05, 0.025])[:, None, None]
    mean = 0.7 + 2.0 / np.sqrt(ns) - 50.0 / ns + extra / ns ** 1.5
    D = mean[:, None, None] + sd * rng.normal(size=(4, reps, 2)) + np.array([0.0, 1.0])
    return ns, D


def test_extrapolation_recovers_its_model():
    ns, D = _synthetic()
    e = exp.fit_extrapolation(ns, D)
    assert np.all(np.abs(e.d_inf - np.array([0.7, 1.7])) < 4 * e.se)
    assert e.lof_df == 2 and e.lof_p > 0.001
    assert np.allclose(e.curve(ns)[:, 0], D.mean(axis=1)[:, 0], atol=5 * D[:, :, 0].std(axis=1).max() / 20)


def test_extrapolation_lack_of_fit_detects_a_missing_term():
    ns, D = _synthetic(extra=-2.0e5)            # an n^-3/2 term the model does not have
    assert exp.fit_extrapolation(ns, D).lof_p < 1e-6


def test_extrapolation_needs_four_sizes():
    ns, D = _synthetic()
    with pytest.raises(ValueError, match="four sample sizes"):
        exp.fit_extrapolation(ns[:3], D[:3])
    with pytest.raises(ValueError, match="shape"):
        exp.fit_extrapolation(ns, D[:, :, 0])


def test_wald_matches_z_in_one_dimension():
    ns, D = _synthetic()
    e = exp.fit_extrapolation(ns, D)
    w, df, p = e.wald(np.zeros(2), [0])
    assert df == 1 and np.isclose(w, (e.d_inf[0] / e.se[0]) ** 2)


def test_setting_lookup():
    s = exp.spot_setting("twin|logistic, 50% positives")
    assert s.name == "twin|logistic, 50% positives"
    with pytest.raises(ValueError, match="fgsm"):
        exp.spot_setting("lasso|logistic, 50% positives")
    with pytest.raises(ValueError, match="unknown setting label"):
        exp.spot_setting("fgsm|probit")


def test_bootstrap_truth_is_the_mle():
    bc = exp.breast_cancer_design()
    X1 = np.column_stack([np.ones(bc.X_.shape[0]), bc.X_])
    from scipy.special import expit
    score = X1.T @ (expit(X1 @ bc.theta0) - bc.y_) / X1.shape[0]
    assert np.max(np.abs(score)) < 1e-8
