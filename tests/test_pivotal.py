"""The pivotal FGSM radius: false-positive rate by simulation at two sample sizes, scale
invariance, the sympy checks of the derivation, the estimator hook and bad inputs.

Tolerances (fixed before the simulations were run): a simulated family-wise false-positive rate
from R replications is compared with its target with 3 binomial standard errors
``3 sqrt(a (1 - a) / R)``."""
import math

import numpy as np
import pytest

from companion import GeneralizedFGSM, eps_max, pivotal_eps
from companion.pivotal import (abs_sd_ratio, abs_sd_ratio_check, noise_only_pivot, second_order_fwer,
                               zero_condition_check)

ALPHA, P, R = 0.1, 20, 4000


def _tol(a, reps=R):
    return 3.0 * math.sqrt(a * (1 - a) / reps)


def _noise(law, size, rng):
    if law == "gaussian":
        return rng.standard_normal(size)
    if law == "laplace":
        return rng.laplace(0.0, 1.0, size)
    return rng.standard_t(5.0, size)


@pytest.mark.parametrize("n", [60, 400])
@pytest.mark.parametrize("law", ["gaussian", "laplace", "t"])
def test_false_positive_rate_asymptotic_rule(n, law):
    """Noise-only data: the fit is all zero iff eps >= max_j |X_j'e| / ||e||_1 (centred).  The
    Bonferroni rule's family-wise rate is at most alpha within 3 binomial SE, and equals its
    first-order (normal, column-by-column) value within 3 SE (plus 0.02 for the CLT error at n = 60)."""
    rng = np.random.default_rng(100 + n)
    X = rng.standard_normal((n, P))
    eps = pivotal_eps(X, ALPHA, noise=law)
    piv = noise_only_pivot(X, 3.7 * _noise(law, (n, R), rng))
    fwer = float(np.mean(piv > eps))
    assert fwer <= ALPHA + _tol(ALPHA)
    # first order, column by column (the rule uses the largest column norm for all columns)
    first_order = second_order_fwer(eps, X, 0.0, noise=law)
    assert abs(fwer - first_order) <= _tol(first_order) + (0.02 if n == 60 else 0.0)


@pytest.mark.parametrize("n", [60, 400])
def test_false_positive_rate_simulated_rule(n):
    """The simulated quantile (law known) gives family-wise rate alpha within 3 SE (fresh seeds)."""
    rng = np.random.default_rng(7 + n)
    X = rng.standard_normal((n, P))
    eps = pivotal_eps(X, ALPHA, method="simulation", n_sim=8000, random_state=11)
    piv = noise_only_pivot(X, 0.3 * rng.standard_normal((n, R)))
    fwer = float(np.mean(piv > eps))
    # the quantile itself carries Monte Carlo error from n_sim draws: add it to the tolerance
    assert abs(fwer - ALPHA) <= _tol(ALPHA) + _tol(ALPHA, 8000)


def test_pivot_is_the_fit_zero_threshold():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 10))
    for k in range(5):
        y = 2.0 * rng.standard_normal(80)
        assert noise_only_pivot(X, y) == pytest.approx(eps_max(X, y), rel=1e-12)
        e = eps_max(X, y)
        assert np.all(GeneralizedFGSM(eps=1.001 * e).fit(X, y).coef_ == 0)
        assert np.any(GeneralizedFGSM(eps=0.95 * e).fit(X, y).coef_ != 0)


def test_scale_invariance():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((120, 15))
    y = X[:, 0] - X[:, 1] + rng.laplace(size=120)
    for c in (1e-3, 7.0):
        assert pivotal_eps(X, noise="estimate", y=c * y) == pytest.approx(pivotal_eps(X, noise="estimate", y=y), rel=1e-9)
        a = pivotal_eps(X, noise="estimate", y=y, method="simulation", n_sim=500)
        b = pivotal_eps(X, noise="estimate", y=c * y, method="simulation", n_sim=500)
        assert b == pytest.approx(a, rel=1e-9)
        m1 = GeneralizedFGSM(eps="pivotal").fit(X, y)
        mc = GeneralizedFGSM(eps="pivotal").fit(X, c * y)
        assert mc.eps_ == m1.eps_
        np.testing.assert_allclose(mc.coef_, c * m1.coef_, rtol=1e-6, atol=1e-9 * c)


def test_estimated_shape_tracks_the_law():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((4000, 5))
    for law in ("gaussian", "laplace"):
        y = X[:, 0] + _noise(law, 4000, rng)
        est = pivotal_eps(X, noise="estimate", y=y)
        assert est == pytest.approx(pivotal_eps(X, noise=law), rel=0.05)


def test_constants_and_sympy():
    assert abs_sd_ratio("gaussian") == pytest.approx(math.sqrt(2 / math.pi))
    assert abs_sd_ratio("laplace") == pytest.approx(1 / math.sqrt(2))
    assert abs_sd_ratio("t", 5.0) == pytest.approx(4 * math.sqrt(3) / (3 * math.pi))
    assert zero_condition_check(2)
    assert all(v[2] for v in abs_sd_ratio_check().values())


def test_second_order_prediction():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, P))
    eps = pivotal_eps(X, ALPHA)
    f0 = second_order_fwer(eps, X, 0.0)
    assert f0 <= ALPHA
    assert second_order_fwer(eps, X, 0.5) < f0
    assert second_order_fwer(eps, X, 5.0) < second_order_fwer(eps, X, 0.5)


def test_logistic_null_level():
    """eps='pivotal' for the logistic model under the null: family-wise rate <= alpha + 3 SE."""
    rng = np.random.default_rng(21)
    n, p, reps = 300, 10, 600
    X = rng.standard_normal((n, p))
    hits = 0
    for _ in range(reps):
        y = (rng.random(n) < 0.3).astype(float)
        eps = GeneralizedFGSM(family="bernoulli", eps="pivotal").fit(X, y).eps_
        hits += eps_max(X, y, "bernoulli") > eps
    assert hits / reps <= 0.05 + _tol(0.05, reps)


def test_bad_inputs():
    X = np.random.default_rng(0).standard_normal((30, 4))
    for a in (0.0, 1.0, -0.2, 1.5):
        with pytest.raises(ValueError, match="alpha must lie in"):
            pivotal_eps(X, a)
    with pytest.raises(TypeError, match="alpha"):
        pivotal_eps(X, True)
    with pytest.raises(ValueError, match="c must be > 0"):
        pivotal_eps(X, c=0.0)
    with pytest.raises(ValueError, match="method must be one of"):
        pivotal_eps(X, method="bootstrap")
    with pytest.raises(ValueError, match="noise must be one of"):
        pivotal_eps(X, noise="cauchy")
    with pytest.raises(ValueError, match="needs y"):
        pivotal_eps(X, noise="estimate")
    with pytest.raises(ValueError, match="noise must be <= 1"):
        pivotal_eps(X, noise=1.5)
    with pytest.raises(TypeError, match="'eps' parameter .* or a str among {'pivotal'}"):
        GeneralizedFGSM(eps="auto").fit(X, X[:, 0])
    with pytest.raises(ValueError, match="gaussian and bernoulli"):
        GeneralizedFGSM(family="poisson", eps="pivotal").fit(X, np.arange(30) % 3)
