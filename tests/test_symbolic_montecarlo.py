"""Monte Carlo checks of the closed forms of kappa = E|psi| and V = E[sign(mu0 - Y) b''(X'beta0) X]
(derivation ``kappa_v``) and of the soft-thresholded Gaussian moments (derivation ``orthogonal``).

Each estimate uses n = 10^6 seeded draws; the tolerance is 4 Monte Carlo standard errors."""
import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from companion.symbolic import logistic_kappa_v, soft_threshold_moments

N_MC = 1_000_000
Z_TOL = 4.0


def _assert_mc(samples, closed, what):
    samples = np.asarray(samples, dtype=float)
    est = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / math.sqrt(samples.shape[0])
    closed = np.broadcast_to(np.asarray(closed, dtype=float), est.shape)
    z = np.abs(est - closed) / se
    assert np.all(z < Z_TOL), f"{what}: MC {est} vs closed form {closed} (SE {se}, z {z})"


def _design(rng, n):
    """X = (1, Z + 1/2): an intercept and a non-centred covariate, so E[X] = (1, 1/2)."""
    return np.column_stack([np.ones(n), rng.normal(size=n) + 0.5])


BETA0 = np.array([0.3, -0.8])
EX = np.array([1.0, 0.5])


def _linear_kappa_v_samples(rng, noise):
    X = _design(rng, N_MC)
    mu0 = X @ BETA0
    y = mu0 + noise
    psi = mu0 - y                                   # score at beta0 (b'' = 1)
    return np.abs(psi), np.sign(psi)[:, None] * X


@pytest.mark.parametrize("sigma", [1.0, 2.5])
def test_gaussian_noise(sigma):
    rng = np.random.default_rng(101)
    a, v = _linear_kappa_v_samples(rng, sigma * rng.normal(size=N_MC))
    _assert_mc(a, sigma * math.sqrt(2 / math.pi), "gaussian kappa")
    _assert_mc(v, [0.0, 0.0], "gaussian V")


@pytest.mark.parametrize("scale", [0.5, 1.7])
def test_laplace_noise(scale):
    rng = np.random.default_rng(202)
    a, v = _linear_kappa_v_samples(rng, rng.laplace(scale=scale, size=N_MC))
    _assert_mc(a, scale, "laplace kappa")
    _assert_mc(v, [0.0, 0.0], "laplace V")


def test_centred_exponential_noise():
    rng = np.random.default_rng(303)
    a, v = _linear_kappa_v_samples(rng, rng.exponential(size=N_MC) - 1.0)
    _assert_mc(a, 2 / math.e, "exponential kappa = 2/e")
    _assert_mc(v, (1 - 2 / math.e) * EX, "exponential V = (1 - 2/e) E[X]")
    # the opposite sign is far outside the Monte Carlo error
    with pytest.raises(AssertionError):
        _assert_mc(v, -(1 - 2 / math.e) * EX, "wrong sign")


@pytest.mark.parametrize("intercept", [0.0, 1.0])
def test_logistic_gaussian_covariate(intercept):
    rng = np.random.default_rng(404)
    z = rng.normal(size=N_MC)
    X = np.column_stack([np.ones(N_MC), z])
    mu0 = 1 / (1 + np.exp(-(intercept + z)))
    y = rng.binomial(1, mu0)
    psi = mu0 - y
    b2 = mu0 * (1 - mu0)
    kappa, v0, v1 = (float(t) for t in logistic_kappa_v(intercept, 1, dps=20))
    _assert_mc(np.abs(psi), kappa, "logistic kappa = E[2 mu0 (1 - mu0)]")
    _assert_mc(np.sign(psi)[:, None] * b2[:, None] * X, [v0, v1], "logistic V")
    if intercept == 0.0:
        assert abs(v0) < 1e-15 and v1 < -1e-3


def test_soft_threshold_moments():
    c, lam, s = 0.3, 0.7, 1.2
    rng = np.random.default_rng(505)
    z = c + s * rng.normal(size=N_MC)
    st = np.sign(z) * np.maximum(np.abs(z) - lam, 0.0)
    p0, mean, var = (float(sp.N(e)) for e in soft_threshold_moments(sp.Rational(3, 10), sp.Rational(7, 10),
                                                                      sp.Rational(6, 5)))
    _assert_mc(st == 0.0, p0, "P(S = 0)")
    _assert_mc(st, mean, "E S")
    _assert_mc((st - mean) ** 2, var, "Var S")
    assert mpmath.mpf(var) > 0
