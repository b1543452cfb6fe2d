"""Chapter *Operator-norm regularization (Roth et al.)*: every verdict of ``companion.related.roth.run``
must hold, and the building blocks (explicit Jacobian, power methods, PGA) are checked independently."""
import numpy as np
import pytest

from companion.related import roth

NAMES = ["linear_norm_inf_q_is_l1", "power_22_is_top_singular_value", "power_inf2_never_exceeds_bruteforce",
         "power_inf2_monotone_to_fixed_point", "pga_large_step_is_power_iterate", "region_exit_fraction_grows",
         "agreement_degrades_with_eps", "adversarial_training_shrinks_operator_norm",
         "opnorm_training_shrinks_operator_norm"]
SANITY = {"power_inf2_never_exceeds_bruteforce", "region_exit_fraction_grows"}


@pytest.fixture(scope="module")
def result():
    return roth.run()


def test_verdict_names(result):
    assert set(result.verdicts) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_verdict(result, name):
    v = result.verdicts[name]
    assert v["passed"], f"{name}: value {v['value']:.4g}, tolerance {v['tolerance']:.4g} ({v['note']})"
    assert v.kind == ("sanity" if name in SANITY else "test")


def test_training_check_shapes(result):
    tr = result.training
    assert tr.modes == ("plain", "adversarial", "opnorm") and tr.seeds == roth.TRAIN_SEEDS
    for a in (tr.opnorm, tr.sigma1, tr.test_mse, tr.robust_mse):
        assert a.shape == (len(tr.seeds), 3) and np.all(np.isfinite(a)) and np.all(a > 0)
    # ||J||_(inf,2) >= sigma_1(J): the cube contains the unit l2 ball
    assert np.all(tr.opnorm >= tr.sigma1)


def test_backprop_matches_finite_differences():
    params = roth.init_mlp(5)
    rng = np.random.default_rng(4)
    X, dout = rng.normal(size=(6, roth.SIZES[0])), rng.normal(size=(6, roth.SIZES[-1]))
    grads = roth._backprop(params, X, dout)
    flat = [a for pair in params for a in pair]
    h = 1e-6
    for k, (i) in ((0, (3, 2)), (1, (5,)), (2, (1, 7)), (3, (2,))):
        def f(delta):
            q = [a.copy() for a in flat]
            q[k][i] += delta
            return np.sum(dout * roth.forward([(q[0], q[1]), (q[2], q[3])], X)[0])
        assert abs((f(h) - f(-h)) / (2 * h) - grads[k][i]) < 1e-6
    gx = roth._input_grad(params, X, dout)
    e = np.zeros(roth.SIZES[0]); e[4] = h
    fd = [(np.sum(dout[j] * (roth.forward(params, X[j] + e)[0][0] - roth.forward(params, X[j] - e)[0][0]))) / (2 * h)
          for j in range(6)]
    assert np.allclose(fd, gx[:, 4], atol=1e-6)


def test_attack_returns_vertices_and_raises_output_change():
    params = roth.init_mlp(6)
    X = np.random.default_rng(5).normal(size=(20, roth.SIZES[0]))
    d = roth.attack(params, X, 0.01)
    assert np.array_equal(np.abs(d), np.full_like(X, 0.01))
    start = 0.01 * np.ones_like(X)
    change = lambda dd: np.linalg.norm(roth.forward(params, X + dd)[0] - roth.forward(params, X)[0], axis=1)
    assert np.mean(change(d)) >= np.mean(change(start))


def test_train_rejects_unknown_mode():
    X, Y, _, _ = roth.teacher_data(0, n_train=10, n_test=5)
    with pytest.raises(ValueError, match="mode"):
        roth.train(X, Y, "fgsm", 0, steps=1)


def test_jacobian_matches_finite_differences():
    params = roth.init_mlp()
    rng = np.random.default_rng(0)
    x = rng.normal(size=roth.SIZES[0])
    J = roth.jacobian(params, x)
    h = 1e-7
    fd = np.column_stack([(roth.forward(params, x + h * e)[0][0] - roth.forward(params, x - h * e)[0][0]) / (2 * h)
                          for e in np.eye(len(x))])
    assert np.allclose(J, fd, atol=1e-6)


def test_power_22_vs_svd():
    rng = np.random.default_rng(1)
    for _ in range(10):
        J = rng.normal(size=(4, 10))
        val, v, _ = roth.power_22(J, rng.normal(size=10))
        assert abs(val - np.linalg.svd(J, compute_uv=False)[0]) <= 1e-8 * val


def test_power_inf2_fixed_point_and_bound():
    rng = np.random.default_rng(2)
    J = rng.normal(size=(3, 8))
    brute = roth.norm_inf2_bruteforce(J)
    for _ in range(10):
        val, v, seq = roth.power_inf2(J, rng.normal(size=8))
        assert np.all(np.diff(seq) >= -1e-12) and val <= brute + 1e-12
        assert np.array_equal(np.where(J.T @ (J @ v) >= 0, 1.0, -1.0), v)


def test_linear_norm_is_l1():
    beta = np.array([0.5, -1.5, 2.0, 0.0, -0.25])
    for q in (1.0, 2.0, np.inf):
        assert abs(roth.linear_norm_inf_q(beta, q) - np.abs(beta).sum()) < 1e-14


def test_ball_region_condition():
    params = roth.init_mlp()
    x = np.random.default_rng(3).normal(size=roth.SIZES[0])
    (W1, b1), _ = params
    eps_star = np.min(np.abs(W1 @ x + b1) / np.abs(W1).sum(1))
    assert not roth.ball_leaves_region(params, x, 0.99 * eps_star)
    assert roth.ball_leaves_region(params, x, 1.01 * eps_star)
