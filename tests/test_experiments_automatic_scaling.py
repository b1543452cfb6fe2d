"""Quick-scale run of the *Automatic penalty scaling* experiment: every verdict must hold.

Tolerances are Monte Carlo standard errors (3 SE) fixed before looking at the results; the three
sanity checks (exact equivariance by algebra, the law of large numbers for sum|r_i|/n) are labelled
as such."""
import numpy as np
import pytest

from companion.experiments import automatic_scaling as exp

NAMES = ["fgsm_p_zero_constant_in_sigma", "fgsm_bias_sd_constant_in_sigma",
         "lasso_p_zero_changes_with_sigma", "lasso_bias_sd_changes_with_sigma",
         "fgsm_p_zero_matches_limit", "fgsm_bias_sd_matches_limit",
         "lasso_p_zero_matches_limit", "lasso_bias_sd_matches_limit",
         "sqrt_lasso_p_zero_constant_in_sigma", "sqrt_lasso_bias_sd_constant_in_sigma",
         "sqrt_lasso_p_zero_matches_limit", "sqrt_lasso_bias_sd_matches_limit",
         "fgsm_minus_sqrt_lasso_p_zero_second_order",
         "mean_abs_residual_estimates_kappa", "fgsm_exactly_scale_equivariant", "lasso_not_scale_equivariant"]
SANITY = {"mean_abs_residual_estimates_kappa", "fgsm_exactly_scale_equivariant", "lasso_not_scale_equivariant"}


@pytest.fixture(scope="module")
def result():
    return exp.run(scale="quick")


def test_verdict_names(result):
    assert set(result.verdicts) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_verdict(result, name):
    v = result.verdicts[name]
    assert v.passed, f"{name}: value {v.value:.4g}, tolerance {v.tolerance:.4g} ({v.statement})"
    assert v.kind == ("sanity" if name in SANITY else "test")


def test_design_spans_eightfold_noise(result):
    assert len(result.sigmas) >= 4 and result.sigmas.max() / result.sigmas.min() >= 8


def test_limit_predictions_closed_form(result):
    # Lasso: P(zero) = P(|Z| <= lam0/sigma), bias/sd = -lam0/sigma; FGSM: sigma-free
    from scipy import stats
    s = result.sigmas
    assert np.allclose(result.pred_p_zero["lasso"], 2 * stats.norm.cdf(result.lam0 / s) - 1)
    assert np.allclose(result.pred_bias_sd["lasso"], -result.lam0 / s)
    k = np.sqrt(2 / np.pi)
    assert np.allclose(result.pred_p_zero["fgsm"], 2 * stats.norm.cdf(result.lam0 * k) - 1)
    assert np.allclose(result.pred_bias_sd["fgsm"], -result.lam0 * k)


def test_constancy_check_would_fail_for_the_lasso(result):
    """The 'constant in sigma' rule is able to fail: applied to the Lasso it rejects."""
    a = len(result.ns) - 1
    rng, tol = exp._constant_across(result.p_zero["lasso"][a], result.p_zero_se["lasso"][a])
    assert rng > tol


def test_results_table_shape(result):
    t1, t2 = exp.results_table(result)
    assert len(t1.rows) == len(result.sigmas) and len(t1.header) == 7
    assert "(" in t1.rows[0][1]                                  # value with its SE


def test_setting_lookup():
    assert exp.spot_setting("sqrt_lasso|2.0").name == "sqrt_lasso|2.0"
    with pytest.raises(ValueError, match="noise level"):
        exp.spot_setting("fgsm|3.0")
    with pytest.raises(ValueError, match="must start with"):
        exp.spot_setting("ridge|1.0")


def test_sqrt_lasso_fixed_point_solves_its_problem():
    """The scaled-Lasso fixed point satisfies the square-root Lasso KKT conditions."""
    from companion.designs import linear_design
    des = linear_design(exp.BETA0, sigma=2.0)
    X, y = des.sample(300, np.random.default_rng(1))
    b = exp.fit_sqrt_lasso(X, y, 1.0)
    r = y - X @ b
    lam = np.sqrt(2 / np.pi) / np.sqrt(300)
    g = X.T @ r / (np.sqrt(300) * np.linalg.norm(r))          # = lam * subgradient of ||b||_1
    nz = b != 0
    assert np.allclose(g[nz], lam * np.sign(b[nz]), rtol=1e-6, atol=1e-9)
    assert np.all(np.abs(g[~nz]) <= lam * (1 + 1e-6))
