"""Quick-scale run of the *Automatic penalty scaling* experiment: every verdict must hold.

Tolerances are Monte Carlo standard errors (3 SE) fixed before looking at the results, except the
two deterministic equivariance checks (1e-6 relative error / at least 1e-3 for the Lasso)."""
import numpy as np
import pytest

from companion.experiments import automatic_scaling as exp


@pytest.fixture(scope="module")
def result():
    return exp.run(scale="quick")


def test_verdict_names(result):
    assert set(result.verdicts) == {
        "fgsm_p_zero_constant_in_sigma", "fgsm_bias_sd_constant_in_sigma",
        "lasso_p_zero_changes_with_sigma", "lasso_bias_sd_changes_with_sigma",
        "fgsm_p_zero_matches_limit", "fgsm_bias_sd_matches_limit",
        "lasso_p_zero_matches_limit", "lasso_bias_sd_matches_limit",
        "sqrt_lasso_p_zero_constant_in_sigma", "sqrt_lasso_bias_sd_constant_in_sigma",
        "sqrt_lasso_p_zero_matches_limit", "sqrt_lasso_bias_sd_matches_limit",
        "fgsm_minus_sqrt_lasso_p_zero_second_order",
        "mean_abs_residual_estimates_kappa", "fgsm_exactly_scale_equivariant", "lasso_not_scale_equivariant"}


@pytest.mark.parametrize("name", [
    "fgsm_p_zero_constant_in_sigma", "fgsm_bias_sd_constant_in_sigma",
    "lasso_p_zero_changes_with_sigma", "lasso_bias_sd_changes_with_sigma",
    "fgsm_p_zero_matches_limit", "fgsm_bias_sd_matches_limit",
    "lasso_p_zero_matches_limit", "lasso_bias_sd_matches_limit",
    "sqrt_lasso_p_zero_constant_in_sigma", "sqrt_lasso_bias_sd_constant_in_sigma",
    "sqrt_lasso_p_zero_matches_limit", "sqrt_lasso_bias_sd_matches_limit",
    "fgsm_minus_sqrt_lasso_p_zero_second_order",
    "mean_abs_residual_estimates_kappa", "fgsm_exactly_scale_equivariant", "lasso_not_scale_equivariant"])
def test_verdict(result, name):
    v = result.verdicts[name]
    assert v["passed"], f"{name}: value {v['value']:.4g}, tolerance {v['tolerance']:.4g} ({v['note']})"


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
