"""Penalties: values, derivatives, directions and the LLA majorizer."""
import numpy as np
import pytest

from companion.penalties import L1, MCP, SCAD, Bridge, WeightedL1, get_penalty

PENS = [L1(), Bridge(0.5), Bridge(1.0), Bridge(1.7), SCAD(0.8), MCP(0.8, gamma=2.5),
        WeightedL1(np.array([0.5, 2.0, 1.0, 0.0, 3.0]))]


@pytest.mark.parametrize("pen", PENS, ids=repr)
def test_direction_dot_coef_is_margin_shift(pen):
    beta = np.array([1.5, -0.2, 0.0, 3.0, -4.0])
    d = pen.direction(beta)
    assert d[2] == 0.0
    np.testing.assert_allclose(d @ beta, pen.margin_shift(beta), rtol=1e-12)
    assert pen.value(beta) == pytest.approx(np.sum(pen.pointwise(np.abs(beta))))


@pytest.mark.parametrize("pen", [Bridge(0.5), Bridge(1.7), SCAD(0.8), MCP(0.8)], ids=repr)
def test_derivative_matches_finite_difference(pen):
    t = np.array([0.1, 0.5, 0.79, 1.2, 2.5, 4.0])
    h = 1e-7
    num = (pen.pointwise(t + h) - pen.pointwise(t - h)) / (2 * h)
    np.testing.assert_allclose(pen.derivative(t), num, rtol=1e-5, atol=1e-6)


def test_closed_forms():
    t = np.array([0.5, 2.0, 10.0])
    lam, a = 1.0, 3.7
    np.testing.assert_allclose(SCAD(lam, a).pointwise(t),
                               [0.5, (2 * a * 2 - 4 - 1) / (2 * (a - 1)), (a + 1) / 2])
    np.testing.assert_allclose(MCP(1.0, 3.0).pointwise(t), [0.5 - 0.25 / 6, 2 - 4 / 6, 1.5])
    np.testing.assert_allclose(Bridge(0.5).direction(np.array([4.0, -9.0])), [0.5, -1 / 3])


@pytest.mark.parametrize("pen", [Bridge(0.5), SCAD(0.8), MCP(0.8)], ids=repr)
def test_lla_majorizer(pen):
    rng = np.random.default_rng(0)
    bk = np.array([0.3, -1.0, 2.0, 0.05])
    w, c = pen.lla_weights(bk)
    for _ in range(50):
        b = rng.normal(scale=2, size=4)
        assert pen.value(b) <= w @ np.abs(b) + c + 1e-12
    assert pen.value(bk) == pytest.approx(w @ np.abs(bk) + c)


def test_lla_infinite_weight_at_zero_for_bridge_below_one():
    w, c = Bridge(0.5).lla_weights(np.array([0.0, 1.0]))
    assert np.isinf(w[0]) and w[1] == pytest.approx(0.5) and np.isfinite(c)


def test_get_penalty_errors_name_the_argument():
    with pytest.raises(ValueError, match="penalty"):
        get_penalty("elasticnet")
    with pytest.raises(ValueError, match="r"):
        get_penalty("bridge", r=0.0)
    with pytest.raises(ValueError, match="r"):
        Bridge(-1)
    with pytest.raises(TypeError, match="penalty"):
        get_penalty(1.0)
    assert get_penalty("lasso").name == "l1"
    assert isinstance(get_penalty("bridge", r=2), Bridge)
    assert get_penalty("scad", lam=1.0).a == 3.7
    assert get_penalty("mcp", lam=1.0).gamma == 3.0


def test_bridge_one_equals_l1():
    beta = np.array([1.0, -2.0, 0.0])
    assert Bridge(1.0).value(beta) == L1().value(beta) == 3.0
    np.testing.assert_array_equal(Bridge(1.0).direction(beta), np.sign(beta))
