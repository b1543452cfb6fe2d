"""Poisson FGSM (worst sign, L1) and its penalized twin against cvxpy + Clarabel.

Reference formulation of the FGSM objective
``sum_i max(f_i(theta_i + t), f_i(theta_i - t))``, ``f_i(s) = exp(s) - y_i s``,
``theta = X b + c``, ``t = eps ||b||_1``: epigraph variables ``z_i`` for the two branches and
``T >= eps ||b||_1`` (exact: the objective is nondecreasing in ``T``).  The objective is divided
by ``n`` for Clarabel (same minimiser, better scaled exponential cones).
"""
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from companion import GeneralizedFGSM, PenalizedGLM
from companion.paths import alpha_max, eps_max
from companion.solver import fgsm_objective, penalized_objective

cp = pytest.importorskip("cvxpy")

CLARABEL = dict(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12,
                tol_ktratio=1e-10, max_iter=500)
TOL = 1e-6


def _problem(seed, n, p):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 1.5, size=p)
    beta = np.zeros(p)
    k = max(2, p // 2)
    beta[:k] = rng.normal(scale=0.4, size=k)
    y = rng.poisson(np.exp(0.3 + X @ beta)).astype(float)
    return X, y


def _solve(objective, constraints, b, c, fit_intercept):
    prob = cp.Problem(cp.Minimize(objective), constraints)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Clarabel may report "optimal_inaccurate"
        prob.solve(**CLARABEL)
    assert prob.status in ("optimal", "optimal_inaccurate"), prob.status
    return np.asarray(b.value, dtype=float), (float(c.value) if fit_intercept else 0.0)


def _cvx_fgsm(X, y, eps, fit_intercept=True):
    n, p = X.shape
    b, c, T, z = cp.Variable(p), cp.Variable(), cp.Variable(), cp.Variable(n)
    th = X @ b + c if fit_intercept else X @ b
    cons = [T >= eps * cp.norm1(b),
            z >= cp.exp(th + T) - cp.multiply(y, th + T),
            z >= cp.exp(th - T) - cp.multiply(y, th - T)]
    return _solve(cp.sum(z) / n, cons, b, c, fit_intercept)


def _cvx_twin(X, y, alpha, fit_intercept=True):
    n, p = X.shape
    b, c = cp.Variable(p), cp.Variable()
    th = X @ b + c if fit_intercept else X @ b
    obj = (cp.sum(cp.exp(th) - cp.multiply(y, th)) + alpha * cp.norm1(b)) / n
    return _solve(obj, [], b, c, fit_intercept)


def _fit_strict(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return est.fit(X, y)


# (seed, n, p, eps as a fraction of eps_max, fit_intercept)
FGSM_CASES = [
    (11, 120, 3, 0.05, True),
    (12, 250, 6, 0.3, True),
    (13, 400, 8, 0.7, True),
    (14, 500, 4, 0.5, False),
    (15, 180, 7, 0.9, False),
    (16, 350, 5, 0.15, True),
    (17, 300, 8, 0.8, True),
]


@pytest.mark.parametrize("seed,n,p,frac,fi", FGSM_CASES)
def test_fgsm_matches_clarabel(seed, n, p, frac, fi):
    X, y = _problem(seed, n, p)
    eps = frac * eps_max(X, y, family="poisson", fit_intercept=fi)
    m = _fit_strict(GeneralizedFGSM(family="poisson", eps=eps, fit_intercept=fi), X, y)
    assert m.converged_
    assert m.optimality_residual_ < TOL
    b_ref, c_ref = _cvx_fgsm(X, y, eps, fi)
    np.testing.assert_allclose(m.coef_, b_ref, atol=TOL, rtol=0)
    assert abs(m.intercept_ - c_ref) <= TOL
    if not fi:
        assert m.intercept_ == 0.0
    ours = fgsm_objective(X, y, m.coef_, m.intercept_, eps, family="poisson")
    ref = fgsm_objective(X, y, b_ref, c_ref, eps, family="poisson")
    assert ours <= ref + 1e-8 * (1.0 + abs(ref))
    if frac >= 0.5:
        # large radii: the L1 margin shift sets some slopes exactly to zero
        assert np.any(m.coef_ == 0.0)


def test_fgsm_stalling_example_is_exact():
    """The problem on which the smoothing continuation used to run into max_iter."""
    rng = np.random.default_rng(1)
    n, p = 300, 5
    X = rng.normal(size=(n, p))
    beta = np.array([0.5, -0.3, 0, 0, 0.2])
    y = rng.poisson(np.exp(0.3 + X @ beta)).astype(float)
    m = _fit_strict(GeneralizedFGSM(family="poisson", eps=0.2), X, y)
    assert m.converged_
    assert m.n_iter_ < 50
    assert m.optimality_residual_ < 1e-10
    b_ref, c_ref = _cvx_fgsm(X, y, 0.2)
    np.testing.assert_allclose(m.coef_, b_ref, atol=TOL, rtol=0)
    assert abs(m.intercept_ - c_ref) <= TOL
    assert np.count_nonzero(m.coef_ == 0.0) == 2
    ours = fgsm_objective(X, y, m.coef_, m.intercept_, 0.2, family="poisson")
    ref = fgsm_objective(X, y, b_ref, c_ref, 0.2, family="poisson")
    assert ours <= ref + 1e-8 * (1.0 + abs(ref))


@pytest.mark.parametrize("seed", range(8))
def test_fgsm_random_problems_converge_exactly(seed):
    """Default settings: no ConvergenceWarning, KKT residual at round-off level."""
    rng = np.random.default_rng(100 + seed)
    n, p = int(rng.integers(100, 501)), int(rng.integers(3, 9))
    X, y = _problem(200 + seed, n, p)
    fi = seed % 3 != 2
    eps = float(rng.choice([0.05, 0.1, 0.2, 0.3]))
    m = _fit_strict(GeneralizedFGSM(family="poisson", eps=eps, fit_intercept=fi), X, y)
    assert m.converged_
    assert m.optimality_residual_ < 1e-10


@pytest.mark.parametrize("fi", [True, False])
@pytest.mark.parametrize("factor", [1.0, 1.5])
def test_fgsm_eps_above_eps_max_gives_zero(fi, factor):
    X, y = _problem(21, 250, 5)
    eps = factor * eps_max(X, y, family="poisson", fit_intercept=fi)
    m = _fit_strict(GeneralizedFGSM(family="poisson", eps=eps, fit_intercept=fi), X, y)
    assert m.converged_
    assert np.all(m.coef_ == 0.0)
    assert m.optimality_residual_ < TOL
    if fi:
        assert m.intercept_ == pytest.approx(np.log(y.mean()), abs=1e-12)
    else:
        assert m.intercept_ == 0.0
    # and just below eps_max some slope is nonzero
    m2 = _fit_strict(GeneralizedFGSM(family="poisson", eps=0.95 * eps / factor,
                                     fit_intercept=fi), X, y)
    assert np.any(m2.coef_ != 0.0)


# (seed, n, p, alpha as a fraction of alpha_max, fit_intercept)
TWIN_CASES = [
    (31, 150, 3, 0.1, True),
    (32, 300, 6, 0.4, True),
    (33, 450, 8, 0.7, False),
    (34, 500, 5, 0.2, False),
]


@pytest.mark.parametrize("seed,n,p,frac,fi", TWIN_CASES)
def test_penalized_twin_matches_clarabel(seed, n, p, frac, fi):
    X, y = _problem(seed, n, p)
    alpha = frac * alpha_max(X, y, family="poisson", fit_intercept=fi)
    m = _fit_strict(PenalizedGLM(family="poisson", alpha=alpha, fit_intercept=fi), X, y)
    assert m.converged_
    assert m.optimality_residual_ < TOL
    b_ref, c_ref = _cvx_twin(X, y, alpha, fi)
    np.testing.assert_allclose(m.coef_, b_ref, atol=TOL, rtol=0)
    assert abs(m.intercept_ - c_ref) <= TOL
    ours = penalized_objective(X, y, m.coef_, m.intercept_, alpha, family="poisson")
    ref = penalized_objective(X, y, b_ref, c_ref, alpha, family="poisson")
    assert ours <= ref + 1e-8 * (1.0 + abs(ref))
