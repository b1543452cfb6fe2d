"""Asymptotics: population quantities vs Monte Carlo, limit draws vs KKT and closed forms."""
import itertools
import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

from companion._qp import bridge_1d, bridge_min, bridge_objective, lasso_kkt_violation, lasso_qp
from companion.asymptotics import (draw_W, limit_draws, limit_objective_terms, orthogonal_limit,
                                   population_quantities, scad_support_bias, summarize_draws,
                                   theorem_b_moments, theorem_c_leftover_bias, v_term_shift)
from companion.designs import linear_design, logistic_design, poisson_design, sparse_beta

DESIGNS = {
    "lin-exp-intercept-ar1": linear_design([1.0, 0.0, -0.5], noise="exponential", sigma=1.5, mean=0.7,
                                           intercept=0.3, covariates="ar1", rho=0.4),
    "lin-t": linear_design([1.0, 0.0, -0.5], noise="t", df=4.0, sigma=1.2, mean=0.5),
    "lin-laplace": linear_design([0.5, 0.0], noise="laplace", sigma=0.8, covariates="equicorrelated", rho=0.3),
    "logit-10pc": logistic_design([1.0, 0.0, -0.5], positive_fraction=0.1, covariates="equicorrelated",
                                  rho=0.3, mean=0.5),
    "logit-50pc": logistic_design([1.5, 0.0], positive_fraction=0.5),
    "poisson": poisson_design([0.3, 0.0, -0.2], intercept=0.5, mean=0.2),
}


@pytest.mark.parametrize("name", list(DESIGNS))
def test_closed_form_vs_monte_carlo(name):
    d = DESIGNS[name]
    a = population_quantities(d)
    b = population_quantities(d, "mc", n_mc=400_000, seed=1)
    assert abs(a.kappa - b.kappa) < 4.5 * b.se["kappa"]
    assert np.all(np.abs(a.V - b.V) < 4.5 * b.se["V"] + 1e-12)
    scale = np.abs(a.I).max()
    assert np.abs(a.I - b.I).max() < 0.02 * scale
    assert np.abs(a.Sigma_W - b.Sigma_W).max() < 0.05 * np.abs(a.Sigma_W).max()
    assert np.allclose(a.theta0, d.theta0) and np.array_equal(a.penalized, d.penalized)


def test_linear_closed_forms():
    d = DESIGNS["lin-exp-intercept-ar1"]
    pq = population_quantities(d)
    m = np.r_[1.0, d.covariates.mean_vector]
    assert np.allclose(pq.V, -(2 / math.e - 1) * m)                   # -E[sign e] E[X]
    assert pq.kappa == pytest.approx(1.5 * 2 / math.e)
    assert np.allclose(pq.Sigma_W, 1.5 ** 2 * pq.I)
    for name in ("lin-t", "lin-laplace"):                             # symmetric noise: V = 0
        assert np.array_equal(population_quantities(DESIGNS[name]).V, np.zeros(DESIGNS[name].dim))


def test_logistic_quadrature_vs_direct_integral():
    # p = 1, x ~ N(0.4, 1), intercept -0.7: every quantity is a 1-d integral over x
    d = logistic_design([1.3], intercept=-0.7, mean=0.4)
    pq = population_quantities(d)
    dens = lambda x: math.exp(-(x - 0.4) ** 2 / 2) / math.sqrt(2 * math.pi)
    mu = lambda x: special.expit(-0.7 + 1.3 * x)
    q = lambda f: integrate.quad(lambda x: f(x) * dens(x), -12, 12, epsabs=1e-13, epsrel=1e-12)[0]
    assert pq.kappa == pytest.approx(q(lambda x: 2 * mu(x) * (1 - mu(x))), abs=1e-10)
    g = lambda x: (1 - 2 * mu(x)) * mu(x) * (1 - mu(x))
    assert np.allclose(pq.V, [q(g), q(lambda x: g(x) * x)], atol=1e-10)
    w = lambda x: mu(x) * (1 - mu(x))
    I = np.array([[q(w), q(lambda x: w(x) * x)], [q(lambda x: w(x) * x), q(lambda x: w(x) * x * x)]])
    assert np.allclose(pq.I, I, atol=1e-10) and np.array_equal(pq.Sigma_W, pq.I)


def test_balanced_logistic_is_not_sign_neutral():
    # 50% positives, symmetric covariates: V_intercept = 0 but V on the active slope is not
    pq = population_quantities(DESIGNS["logit-50pc"])
    assert abs(pq.V[0]) < 1e-12 and abs(pq.V[1]) > 1e-3 and abs(pq.V[2]) < 1e-12


# --------------------------------------------------------------------------- Theorem A / Lasso
@pytest.mark.parametrize("name", ["lin-exp-intercept-ar1", "logit-10pc", "poisson"])
@pytest.mark.parametrize("estimator", ["fgsm", "lasso"])
def test_theorem_a_draws_satisfy_kkt(name, estimator):
    pq = population_quantities(DESIGNS[name])
    W = draw_W(pq, 3000, seed=5)
    lam0 = 1.2 if estimator == "fgsm" else 1.2 * pq.kappa      # comparable thresholds
    U = limit_draws(pq, lam0, estimator=estimator, W=W)
    ell, t = limit_objective_terms(pq, lam0, 1.0, estimator)
    assert lasso_kkt_violation(pq.I, W - ell, t, U).max() < 1e-8
    zero = pq.penalized & (pq.theta0 == 0)
    assert np.all((U[:, ~zero] != 0))                                 # only zero coefficients can vanish
    assert 0.05 < (U[:, zero] == 0).mean() < 0.99


def test_lasso_qp_matches_enumeration():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((4, 4))
    S = A @ A.T + 0.5 * np.eye(4)
    t = np.array([0.0, 0.7, 1.1, 0.4])
    H = 2 * rng.standard_normal((300, 4))
    U = lasso_qp(S, H, t)
    obj = lambda u, h: 0.5 * u @ S @ u - h @ u + t @ np.abs(u)
    for i in range(0, 300, 7):
        best = np.inf
        for s in itertools.product([-1, 0, 1], repeat=3):          # sign patterns of coordinates 1..3
            s = np.r_[1, s]
            act = np.flatnonzero(s != 0)
            act = np.r_[0, act[act > 0]]
            u = np.zeros(4)
            u[act] = np.linalg.solve(S[np.ix_(act, act)], H[i, act] - t[act] * s[act])
            if np.all(np.sign(u[act[1:]]) == s[act[1:]]):
                best = min(best, obj(u, H[i]))
        assert obj(U[i], H[i]) <= best + 1e-10


def test_orthogonal_closed_forms_vs_draws():
    # intercept + independent mean-zero covariates: I diagonal, V != 0 (on the intercept)
    d = linear_design([1.0, 0.0, -0.5, 0.0], noise="exponential", sigma=1.5, intercept=0.3)
    pq = population_quantities(d)
    assert pq.V[0] != 0
    for estimator, lam0 in [("fgsm", 1.3), ("lasso", 0.9)]:
        s = summarize_draws(limit_draws(pq, lam0, estimator=estimator, n_draws=100_000, seed=2))
        o = orthogonal_limit(pq, lam0, estimator)
        assert np.all(np.abs(s["bias"] - o["bias"]) < 4.5 * s["bias_se"])
        assert np.all(np.abs(s["p_zero"] - o["p_zero"]) <= 4.5 * s["p_zero_se"] + 1e-12)
        # variance of a sample variance ~ (m4 - s^4)/n: 5% is > 10 SE for these light tails at 1e5 draws
        assert np.allclose(s["variance"], o["variance"], rtol=0.03)
    # hand formula: zero coordinates are soft-thresholded N(0, Sigma_jj) at lam0*kappa
    o = orthogonal_limit(pq, 1.3)
    sd = math.sqrt(pq.Sigma_W[2, 2])
    assert o["p_zero"][2] == pytest.approx(2 * special.ndtr(1.3 * pq.kappa / sd) - 1, abs=1e-14)
    assert o["bias"][2] == pytest.approx(0.0, abs=1e-14)
    # nonzero coordinates: bias -I^-1 (lam0 kappa sign + lam0 ||b||_1 V)
    l1 = 1.5
    assert o["bias"][0] == pytest.approx(-1.3 * l1 * pq.V[0] / pq.I[0, 0], abs=1e-14)
    assert o["bias"][3] == pytest.approx(-(1.3 * pq.kappa * -1 + 1.3 * l1 * pq.V[3]) / pq.I[3, 3], abs=1e-14)
    with pytest.raises(ValueError):
        orthogonal_limit(population_quantities(DESIGNS["lin-t"]), 1.0)


def test_v_term_isolated_when_all_coefficients_nonzero():
    d = linear_design([1.0, -0.5, 0.25], noise="exponential", mean=0.6, intercept=0.5, covariates="ar1", rho=0.5)
    pq = population_quantities(d)
    W = draw_W(pq, 500, seed=1)
    f = limit_draws(pq, 0.8, estimator="fgsm", W=W)
    l = limit_draws(pq, 0.8 * pq.kappa, estimator="lasso", W=W)
    assert np.allclose(f - l, v_term_shift(pq, 0.8), atol=1e-12, rtol=0)
    assert np.abs(v_term_shift(pq, 0.8)).max() > 0.05


# --------------------------------------------------------------------------- Theorem B
@pytest.mark.parametrize("name", ["lin-exp-intercept-ar1", "logit-10pc"])
@pytest.mark.parametrize("r", [1.5, 2.0])
def test_theorem_b_mean_and_cov(name, r):
    pq = population_quantities(DESIGNS[name])
    mean, cov = theorem_b_moments(pq, 0.7, r)
    U = limit_draws(pq, 0.7, r=r, n_draws=60_000, seed=4)
    se = np.sqrt(np.diag(cov) / U.shape[0])
    assert np.all(np.abs(U.mean(0) - mean) < 4.5 * se)
    sd = np.sqrt(np.diag(cov))
    assert np.abs((np.cov(U.T) - cov) / np.outer(sd, sd)).max() < 0.03
    # hand formula
    th, pen = pq.theta0, pq.penalized
    g = np.where(pen, r * np.sign(th) * np.abs(th) ** (r - 1), 0.0)
    expect = -0.7 * np.linalg.solve(pq.I, pq.kappa * g + np.sum(np.abs(th[pen]) ** r) * pq.V)
    assert np.allclose(mean, expect, atol=1e-13)
    m_pen, _ = theorem_b_moments(pq, 0.7, r, estimator="penalized")
    assert np.allclose(m_pen, -0.7 * np.linalg.solve(pq.I, g), atol=1e-13)


# --------------------------------------------------------------------------- Theorem C
def test_bridge_1d_global_rule_vs_scalar_minimization():
    rng = np.random.default_rng(0)
    g = 3 * rng.standard_normal(400)
    a, c, r = 1.7, 1.1, 0.5
    v = bridge_1d(a, g, c, r)
    q = lambda x, gi: a * x * x / 2 - gi * x + c * abs(x) ** r
    for gi, vi in zip(g[:120], v[:120]):
        grid = np.linspace(-6, 6, 24001)
        gv = a * grid ** 2 / 2 - gi * grid + c * np.abs(grid) ** r
        assert q(vi, gi) <= gv.min() + 1e-12
    # threshold: v = 0 for small |g|, nonzero beyond; the jump is discontinuous (bridge thresholding)
    gg = np.linspace(0, 4, 4001)
    vv = bridge_1d(a, gg, c, r)
    jump = np.flatnonzero(vv > 0)[0]
    assert vv[jump] > 0.3 and np.all(vv[:jump] == 0) and np.all(vv[jump:] > 0)


def test_theorem_c_global_vs_brute_force_and_local_rule():
    d = logistic_design([1.0, 0.0, 0.0], positive_fraction=0.25, covariates="ar1", rho=0.5)
    pq = population_quantities(d)
    W = draw_W(pq, 400, seed=3)
    for r in (0.3, 0.6):
        Ug = limit_draws(pq, 1.0, r=r, W=W)
        Ul = limit_draws(pq, 1.0, r=r, W=W, rule="local")
        ell, t = limit_objective_terms(pq, 1.0, r)
        fg = bridge_objective(pq.I, W - ell, t, r, Ug)
        fl = bridge_objective(pq.I, W - ell, t, r, Ul)
        assert np.all(fg <= fl + 1e-12) and np.any(fl > fg + 1e-6)
        assert np.all(Ug[:, :2] != 0)                                # intercept and active slope
        # brute force over the two zero coordinates on a grid, intercept/slope minimized exactly
        grid = np.linspace(-4, 4, 321)
        G2, G3 = [a.ravel() for a in np.meshgrid(grid, grid, indexing="ij")]
        Z = np.column_stack([G2, G3])
        I = pq.I
        F, P = [0, 1], [2, 3]
        for i in range(0, 400, 25):
            h = W[i] - ell
            uF = np.linalg.solve(I[np.ix_(F, F)], (h[F][:, None] - I[np.ix_(F, P)] @ Z.T)).T
            U = np.zeros((Z.shape[0], 4))
            U[:, F], U[:, P] = uF, Z
            fb = bridge_objective(I, np.broadcast_to(h, U.shape), t, r, U).min()
            assert fg[i] <= fb + 1e-12
    # orthogonal case: separable, the global argmin is the coordinate-wise 1-d rule
    S = np.diag([1.0, 2.0, 0.5])
    H = np.random.default_rng(1).standard_normal((200, 3)) * 2
    t = np.array([0.0, 1.0, 0.8])
    U = bridge_min(S, H, t, 0.5)
    assert np.allclose(U[:, 0], H[:, 0])
    assert np.array_equal(U[:, 1], bridge_1d(2.0, H[:, 1], 1.0, 0.5))
    assert np.array_equal(U[:, 2], bridge_1d(0.5, H[:, 2], 0.8, 0.5))


def test_theorem_c_leftover_bias_rates():
    d = linear_design([1.0, 0.0, -0.5], noise="exponential", mean=0.5, intercept=0.2)
    pq = population_quantities(d)
    b1, b2 = theorem_c_leftover_bias(pq, 100, 1.0, 0.5), theorem_c_leftover_bias(pq, 10_000, 1.0, 0.5)
    assert np.allclose(b2, b1 * (10_000 / 100) ** (-0.25), rtol=1e-12)
    # at r = 1 (n^0) with every coefficient nonzero it is the Theorem A mean
    d1 = linear_design([1.0, 0.3, -0.5], noise="exponential", mean=0.5, intercept=0.2)
    pq1 = population_quantities(d1)
    ell, _ = limit_objective_terms(pq1, 0.9, 1.0)
    assert np.allclose(theorem_c_leftover_bias(pq1, 500, 0.9, 1.0), -np.linalg.solve(pq1.I, ell), atol=1e-13)


def test_scad_support_bias():
    d = logistic_design([1.0, 0.0, -0.6], positive_fraction=0.2, mean=0.3)
    pq = population_quantities(d)
    b = scad_support_bias(pq, 400, 0.1)
    S = [0, 1, 3]
    expect = -math.sqrt(400) * 2 * 4.7 * 0.01 / 2 * np.linalg.solve(pq.I[np.ix_(S, S)], pq.V[S])
    assert np.allclose(b[S], expect, atol=1e-14) and b[2] == 0
    with pytest.raises(ValueError):
        scad_support_bias(pq, 400, 0.5)                             # |beta_j| <= a lam_n


def test_limit_draws_reproducible_and_validated():
    pq = population_quantities(DESIGNS["lin-t"])
    assert np.array_equal(limit_draws(pq, 1.0, n_draws=50, seed=9), limit_draws(pq, 1.0, n_draws=50, seed=9))
    with pytest.raises(ValueError):
        limit_draws(pq, 1.0, estimator="ridge")
    with pytest.raises(ValueError):
        theorem_b_moments(pq, 1.0, 1.0)
    # lam0 = 0 gives the unpenalized Gaussian limit
    W = draw_W(pq, 20, 0)
    assert np.allclose(limit_draws(pq, 0.0, W=W), np.linalg.solve(pq.I, W.T).T)
    assert optimize  # noqa: keep import


def test_theorem_c_leftover_bias_support_only_uses_the_support_block():
    d = linear_design((1.0, 0.5, 0.0), noise="exponential", sigma=1.0, mean=1.0)
    pq = population_quantities(d)
    full = theorem_c_leftover_bias(pq, 1000, 1.0, 0.5)
    sup = theorem_c_leftover_bias(pq, 1000, 1.0, 0.5, support_only=True)
    assert sup[2] == 0.0 and full[2] != 0.0
    # with correlated covariates (E xx' has off-diagonal 1) the two blocks differ
    assert np.max(np.abs(sup[:2] - full[:2])) > 1e-3
    g = 0.5 * pq.kappa * np.array([1.0, 0.5 ** -0.5]) + (1 + 0.5 ** 0.5) * pq.V[:2]
    assert np.allclose(sup[:2], -1000 ** -0.25 * np.linalg.solve(pq.I[:2, :2], g), atol=1e-14)
