"""The Bernoulli L1-type kernel has a small-design path (transposed design, hand-written loops),
a BLAS path for large designs and row-subsampled early Hessians; all must give the same fit."""
import numpy as np
import pytest

import companion._newton as N
import companion.solver as S


def _data(n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta = np.zeros(p)
    beta[:3] = [1.0, -1.0, 0.5]
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ beta + 0.3)))).astype(float)
    return X, y


@pytest.mark.parametrize("mode", ["fgsm", "pen"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_bernoulli_kernel_paths_agree(monkeypatch, mode, fit_intercept):
    X, y = _data(1200, 6)
    fit = S._fit_fgsm if mode == "fgsm" else S._fit_penalized
    strength = 0.02 if mode == "fgsm" else 5.0
    ref = fit(X, y, strength, "bernoulli", "l1", fit_intercept, tol=1e-10)
    assert ref.converged and ref.optimality_residual <= 1e-10
    for lag in (0.0, 0.5):
        for stride_rows in (None, 1):
            monkeypatch.setattr(N, "_SMALL_NP", 0)          # BLAS path
            monkeypatch.setattr(N, "_LAG_RATIO", lag)
            if stride_rows is not None:                      # subsampled early Hessians
                monkeypatch.setattr(N, "_SUB_MIN_ROWS", stride_rows)
            res = fit(X, y, strength, "bernoulli", "l1", fit_intercept, tol=1e-10)
            assert res.converged and res.optimality_residual <= 1e-10
            np.testing.assert_allclose(res.coef, ref.coef, atol=1e-7)
            assert res.intercept == pytest.approx(ref.intercept, abs=1e-7)
            assert res.objective == pytest.approx(ref.objective, rel=1e-12)
            monkeypatch.undo()


def test_bernoulli_kernel_objective_matches_closed_form():
    X, y = _data(500, 8, seed=3)
    res = S._fit_fgsm(X, y, 0.05, "bernoulli", "l1")
    assert res.objective == pytest.approx(
        S.fgsm_objective(X, y, res.coef, res.intercept, 0.05, "bernoulli", "l1"), rel=1e-12)
    w = np.linspace(0.5, 2.0, 8)
    from companion.penalties import WeightedL1
    pen = WeightedL1(w)
    res = S._fit_penalized(X, y, 3.0, "bernoulli", pen)
    assert res.objective == pytest.approx(
        S.penalized_objective(X, y, res.coef, res.intercept, 3.0, "bernoulli", pen), rel=1e-12)
    assert res.optimality_residual <= 1e-8


def test_bernoulli_kernel_zero_solution_and_warm_start():
    X, y = _data(300, 5, seed=1)
    res = S._fit_fgsm(X, y, 5.0, "bernoulli", "l1")      # huge eps: beta = 0 is optimal
    assert res.n_iter == 0 and not np.any(res.coef) and res.converged
    cold = S._fit_fgsm(X, y, 0.01, "bernoulli", "l1")
    warm = S._fit_fgsm(X, y, 0.011, "bernoulli", "l1", coef0=cold.coef, intercept0=cold.intercept)
    ref = S._fit_fgsm(X, y, 0.011, "bernoulli", "l1")
    np.testing.assert_allclose(warm.coef, ref.coef, atol=1e-7)
    assert warm.n_iter <= ref.n_iter


@pytest.mark.parametrize("n, eps", [(3000, 0.01), (60, 0.2)])
def test_gaussian_polish_generic_and_pinned_faces_match_cvxpy(n, eps):
    """n >> p (generic face, no residual at 0) and small n / large eps (residuals pinned at 0)."""
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(7)
    p = 8
    X = rng.normal(size=(n, p))
    y = X[:, :3] @ np.array([1.0, -0.5, 0.25]) + rng.normal(size=n)
    res = S._fit_fgsm(X, y, eps, "gaussian", "l1")
    assert res.converged and res.optimality_residual <= 1e-8
    b, b0 = cp.Variable(p), cp.Variable()
    obj = cp.sum_squares(cp.abs(y - X @ b - b0) + eps * cp.norm1(b)) / 2
    prob = cp.Problem(cp.Minimize(obj))
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    ours = S.fgsm_objective(X, y, res.coef, res.intercept, eps, "gaussian", "l1")
    assert ours <= prob.value * (1 + 1e-9) + 1e-9
    np.testing.assert_allclose(res.coef, b.value, atol=1e-5)
