"""Agreement with independent solvers: cvxpy + Clarabel, scikit-learn and skglm.

Parameter mappings (our objective sum_i l_i + alpha P versus theirs):
* sklearn ``Lasso(alpha=alpha / n)`` ((1/2n)||r||^2 + a||b||_1);
* sklearn ``LogisticRegression(l1_ratio=1, C=1/alpha)`` (C * sum_i l_i + ||b||_1);
* skglm (datafit divided by n): ``MCPenalty(alpha=lam/n, gamma=gamma*n)`` equals P_{lam,gamma}/n
  exactly; SCAD is not closed under that scaling, so the quadratic datafit is compared on
  (sqrt(n) X, sqrt(n) y), for which skglm's datafit equals ours.
"""
import warnings

import numpy as np
import pytest

from companion import GeneralizedFGSM, PenalizedGLM

cp = pytest.importorskip("cvxpy")

CLARABEL = dict(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12,
                tol_ktratio=1e-10, max_iter=500)


def _problem(seed, n, p, family):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 2.0, size=p)
    beta = np.zeros(p)
    beta[: max(1, p // 3)] = rng.normal(scale=1.0, size=max(1, p // 3))
    theta = X @ beta + 0.3
    if family == "gaussian":
        y = theta + rng.normal(size=n)
    else:
        y = (rng.random(n) < 1 / (1 + np.exp(-theta))).astype(float)
    return X, y


def _cvx_fgsm(X, y, eps, family):
    n, p = X.shape
    b = cp.Variable(p)
    b0 = cp.Variable()
    if family == "gaussian":
        obj = cp.sum_squares(cp.abs(y - X @ b - b0) + eps * cp.norm1(b)) / 2
    else:
        yt = 2 * y - 1
        obj = cp.sum(cp.logistic(-cp.multiply(yt, X @ b + b0) + eps * cp.norm1(b)))
    cp.Problem(cp.Minimize(obj)).solve(**CLARABEL)
    return b.value, float(b0.value)


def _cvx_lasso(X, y, alpha, family):
    n, p = X.shape
    b = cp.Variable(p)
    b0 = cp.Variable()
    if family == "gaussian":
        obj = cp.sum_squares(y - X @ b - b0) / 2 + alpha * cp.norm1(b)
    else:
        yt = 2 * y - 1
        obj = cp.sum(cp.logistic(-cp.multiply(yt, X @ b + b0))) + alpha * cp.norm1(b)
    cp.Problem(cp.Minimize(obj)).solve(**CLARABEL)
    return b.value, float(b0.value)


CASES = [(0, 60, 3), (1, 300, 8), (2, 2000, 20)]


@pytest.mark.parametrize("family", ["gaussian", "bernoulli"])
@pytest.mark.parametrize("seed,n,p", CASES)
def test_fgsm_l1_matches_cvxpy(family, seed, n, p):
    from companion import eps_max
    X, y = _problem(seed, n, p, family)
    for frac in ((0.05, 0.3) if n < 1000 else (0.1,)):
        eps = frac * eps_max(X, y, family)
        m = GeneralizedFGSM(family=family, eps=eps).fit(X, y)
        b, b0 = _cvx_fgsm(X, y, eps, family)
        assert m.converged_ and m.optimality_residual_ < 1e-6
        np.testing.assert_allclose(m.coef_, b, atol=1e-6)
        assert abs(m.intercept_ - b0) < 1e-6


@pytest.mark.parametrize("family", ["gaussian", "bernoulli"])
@pytest.mark.parametrize("seed,n,p", CASES[:2])
def test_lasso_twin_matches_cvxpy(family, seed, n, p):
    X, y = _problem(seed, n, p, family)
    from companion import alpha_max
    alpha = 0.2 * alpha_max(X, y, family)
    m = PenalizedGLM(family=family, alpha=alpha).fit(X, y)
    b, b0 = _cvx_lasso(X, y, alpha, family)
    np.testing.assert_allclose(m.coef_, b, atol=1e-6)
    assert abs(m.intercept_ - b0) < 1e-6


def test_eps_zero_is_ols_and_logistic_mle():
    from sklearn.linear_model import LinearRegression, LogisticRegression
    X, y = _problem(3, 200, 5, "gaussian")
    m = GeneralizedFGSM(eps=0.0).fit(X, y)
    ref = LinearRegression().fit(X, y)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-9)
    assert m.intercept_ == pytest.approx(ref.intercept_, abs=1e-9)
    X, y = _problem(4, 300, 5, "bernoulli")
    m = GeneralizedFGSM(family="bernoulli", eps=0.0).fit(X, y)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(m.coef_, ref.coef_.ravel(), atol=1e-5)
    assert m.intercept_ == pytest.approx(ref.intercept_[0], abs=1e-5)


def test_lasso_twin_equals_sklearn_lasso():
    from sklearn.linear_model import Lasso
    X, y = _problem(5, 400, 10, "gaussian")
    n = X.shape[0]
    alpha = 30.0
    m = PenalizedGLM(alpha=alpha).fit(X, y)
    ref = Lasso(alpha=alpha / n, tol=1e-14, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-7)
    assert m.intercept_ == pytest.approx(ref.intercept_, abs=1e-7)


def test_l1_logistic_twin_equals_sklearn():
    from sklearn.linear_model import LogisticRegression
    X, y = _problem(6, 300, 6, "bernoulli")
    alpha = 5.0
    m = PenalizedGLM(family="bernoulli", alpha=alpha).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = LogisticRegression(l1_ratio=1.0, C=1 / alpha, solver="saga", tol=1e-15,
                                 max_iter=200000).fit(X, y)
    np.testing.assert_allclose(m.coef_, ref.coef_.ravel(), atol=1e-5)
    assert m.intercept_ == pytest.approx(ref.intercept_[0], abs=1e-5)


def _skglm_fit(X, y, datafit, penalty):
    from skglm import GeneralizedLinearEstimator
    from skglm.solvers import AndersonCD
    est = GeneralizedLinearEstimator(datafit=datafit, penalty=penalty,
                                     solver=AndersonCD(tol=1e-13, max_iter=5000, fit_intercept=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return est.coef_.ravel(), float(np.ravel(est.intercept_)[0])


def test_mcp_twin_equals_skglm():
    skglm = pytest.importorskip("skglm")
    from skglm.datafits import Logistic, Quadratic
    from skglm.penalties import MCPenalty
    for family in ("gaussian", "bernoulli"):
        X, y = _problem(7, 400, 6, family)
        n = X.shape[0]
        lam, gamma = (20.0, 3.0) if family == "gaussian" else (4.0, 3.0)
        m = PenalizedGLM(family=family, penalty="mcp", lam=lam, gamma=gamma).fit(X, y)
        df = Quadratic() if family == "gaussian" else Logistic()
        yy = y if family == "gaussian" else 2 * y - 1
        b, b0 = _skglm_fit(X, yy, df, MCPenalty(alpha=lam / n, gamma=gamma * n))
        assert m.minimizer_.startswith("local")
        np.testing.assert_allclose(m.coef_, b, atol=1e-5)
        assert m.intercept_ == pytest.approx(b0, abs=1e-5)


def test_scad_twin_equals_skglm_quadratic():
    pytest.importorskip("skglm")
    from skglm.datafits import Quadratic
    from skglm.penalties import SCAD
    X, y = _problem(8, 400, 6, "gaussian")
    n = X.shape[0]
    lam = 0.5
    m = PenalizedGLM(penalty="scad", lam=lam).fit(X, y)
    s = np.sqrt(n)
    b, b0 = _skglm_fit(s * X, s * y, Quadratic(), SCAD(alpha=lam, gamma=3.7))
    np.testing.assert_allclose(m.coef_, b, atol=1e-5)
    assert m.intercept_ == pytest.approx(b0 / s, abs=1e-5)
