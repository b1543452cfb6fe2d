"""Chapter *Gradient regularization (Lyu et al.)*: every verdict of ``companion.related.lyu.run`` must
hold, and the building blocks (dual-norm maximizer, projections, PGA, the GLM closed form) are checked
against independent computations.  Tolerances are explained in the chapter's *Verdicts* section."""
import numpy as np
import pytest
from scipy.optimize import minimize

from companion.related import lyu

NAMES = ["glm_closed_form_equals_pga_max", "glm_closed_form_equals_vertex_max", "glm_maximizer_is_lyu_r_star",
         "glm_penalty_is_abs_psi_times_dual_norm", "p_inf_is_zuo_shifted_margin", "glm_first_order_maximizer_exact",
         "glm_remainder_coefficient_gaussian", "glm_remainder_coefficient_bernoulli", "mlp_remainder_slope_p2",
         "mlp_first_order_maximizer_not_exact_p2", "mlp_remainder_slope_pinf",
         "mlp_first_order_maximizer_not_exact_pinf"]


@pytest.fixture(scope="module")
def result():
    return lyu.run()


def test_verdict_names(result):
    assert set(result.verdicts) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_verdict(result, name):
    v = result.verdicts[name]
    assert v["passed"], f"{name}: value {v['value']:.4g}, tolerance {v['tolerance']:.4g} ({v['note']})"


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0, np.inf])
def test_dual_norm_maximizer(p):
    rng = np.random.default_rng(1)
    g = rng.normal(size=(20, 7))
    s = 0.7
    r = lyu.dual_norm_maximizer(g, s, p)
    assert np.allclose(lyu.lp_norm(r, p), s, rtol=1e-12)
    assert np.allclose(np.sum(g * r, -1), s * lyu.lp_norm(g, lyu.dual_exponent(p)), rtol=1e-12)
    # no point of the ball does better (random feasible points)
    R = rng.normal(size=(2000, 7))
    R = s * R / lyu.lp_norm(R, p)[:, None]
    assert np.all(g @ R.T <= np.sum(g * r, -1)[:, None] + 1e-12)


@pytest.mark.parametrize("p", [1.0, 2.0, np.inf])
def test_projection_is_euclidean(p):
    rng = np.random.default_rng(2)
    v = rng.normal(size=(5, 6)) * 2
    s = 0.8
    P = lyu.project_ball(v, s, p)
    assert np.all(lyu.lp_norm(P, p) <= s + 1e-12)
    for i in range(5):  # compare with a generic constrained solver
        cons = {"type": "ineq", "fun": lambda z: s - lyu.lp_norm(z, p)}
        z = minimize(lambda z: np.sum((z - v[i]) ** 2), np.zeros(6), constraints=[cons], method="SLSQP",
                     options={"ftol": 1e-14, "maxiter": 500}).x
        assert np.sum((P[i] - v[i]) ** 2) <= np.sum((z - v[i]) ** 2) * (1 + 1e-6)  # SLSQP may be slightly infeasible


@pytest.mark.parametrize("family", ["gaussian", "bernoulli"])
@pytest.mark.parametrize("p", [1.0, 2.0, np.inf])
def test_glm_closed_form_vs_generic_optimizer(family, p):
    """Closed form vs scipy maximizing the loss over the ball from several starts, with smooth
    formulations of the constraint: bounds (l_inf), ||r||^2 <= s^2 (l2), r = u - w with u, w >= 0 and
    sum(u + w) <= s (l1).  Solver points are scaled back into the ball before evaluation."""
    X, y, beta = lyu.random_glm(family, n=6, d=4, seed=7)
    s, d = 0.4, 4
    closed, rstar = lyu.glm_worst_case(X, y, beta, s, p, family)
    fg = lyu.glm_loss_of_r(X, y, beta, family)
    rng = np.random.default_rng(3)
    opts = {"ftol": 1e-15, "maxiter": 1000}
    for i in range(len(y)):
        def loss(r):
            R = np.zeros_like(X)
            R[i] = r
            return fg(R)[0][i]
        vals = []
        for _ in range(5):
            z0 = rng.uniform(-s, s, d) / (2 * d)
            if np.isinf(p):
                r = minimize(lambda r: -loss(r), z0, bounds=[(-s, s)] * d, method="L-BFGS-B",
                             options={"ftol": 1e-15, "gtol": 1e-12}).x
            elif p == 2.0:
                r = minimize(lambda r: -loss(r), z0, method="SLSQP", options=opts,
                             constraints=[{"type": "ineq", "fun": lambda r: s ** 2 - r @ r}]).x
            else:
                uw = minimize(lambda z: -loss(z[:d] - z[d:]), np.abs(np.r_[z0, -z0]), method="SLSQP", options=opts,
                              bounds=[(0, None)] * (2 * d),
                              constraints=[{"type": "ineq", "fun": lambda z: s - z.sum()}]).x
                r = uw[:d] - uw[d:]
            r = r * min(1.0, s / lyu.lp_norm(r, p))
            vals.append(loss(r))
        assert max(vals) <= closed[i] + 1e-12
        assert max(vals) >= closed[i] - 1e-6
    assert np.allclose(fg(rstar)[0], closed, rtol=0, atol=1e-13)


def test_vertex_max_linf_equals_fgsm_vertex():
    X, y, beta = lyu.random_glm("bernoulli", n=10, d=5, seed=4)
    closed, rstar = lyu.glm_worst_case(X, y, beta, 0.2, np.inf, "bernoulli")
    theta = X @ beta
    from companion.families import get_family
    fam = get_family("bernoulli")
    vmax, varg = lyu.vertex_max(lambda V: fam.loss(y[:, None], theta[:, None] + (V @ beta)[None, :]), 5, 0.2, np.inf)
    assert np.allclose(vmax, closed, atol=1e-14)
    assert np.array_equal(varg, rstar)


def test_mlp_input_gradient_matches_finite_differences():
    Xtr, Xte, ytr, yte = lyu.digits_data()
    params, losses = lyu.train_mlp(Xtr[:300], ytr[:300], steps=20)
    assert losses[-1] < losses[0]
    x, y = Xte[:3], yte[:3]
    L, g = lyu.mlp_loss_grad(params, x, y)
    h = 1e-6
    for j in (0, 10, 37, 63):
        e = np.zeros(64)
        e[j] = h
        fd = (lyu.mlp_loss_grad(params, x + e, y)[0] - lyu.mlp_loss_grad(params, x - e, y)[0]) / (2 * h)
        assert np.allclose(fd, g[:, j], atol=1e-6)


def test_mlp_inner_max_at_least_first_order_point():
    Xtr, Xte, ytr, yte = lyu.digits_data()
    params, _ = lyu.train_mlp(Xtr, ytr, steps=50)
    best, L, gn, Lstar = lyu.mlp_inner_max(params, Xte[:20], yte[:20], 0.01, np.inf, steps=30)
    assert np.all(best >= Lstar) and np.all(best >= L)


def test_loglog_slope():
    s = np.geomspace(1e-3, 1e-1, 5)
    assert abs(lyu.loglog_slope(s, 3 * s ** 2) - 2) < 1e-12
