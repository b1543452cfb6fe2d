"""Designs: reproducibility, laws of covariates and noise, class-balance intercept."""
import math
import pickle

import numpy as np
import pytest
from scipy import stats

from companion.designs import (Covariates, Design, Noise, config_hash, intercept_for_balance, linear_design,
                               logistic_design, poisson_design, positive_fraction, replication_rng,
                               replication_seedsequence, sparse_beta)


def test_same_seed_same_arrays_bit_for_bit():
    d = linear_design([1.0, 0.0, -0.5, 0.0], noise="t", covariates="ar1", rho=0.6, mean=0.3, intercept=0.2)
    X1, y1 = d.sample(257, np.random.default_rng(11))
    X2, y2 = d.sample(257, np.random.default_rng(11))
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    X3, _ = d.sample(257, np.random.default_rng(12))
    assert not np.array_equal(X1, X3)
    Xi, yi = d.sample(257, np.random.default_rng(11), add_intercept=True)
    assert np.array_equal(Xi[:, 0], np.ones(257)) and np.array_equal(Xi[:, 1:], X1) and np.array_equal(yi, y1)


def test_replication_rng_is_spawned_child_and_independent_of_count():
    d = logistic_design(sparse_beta(3, 1), positive_fraction=0.25)
    parent = replication_seedsequence(d, 100, seed=7)
    kids = parent.spawn(6)
    for k in (0, 3, 5):
        a = replication_rng(d, 100, k, seed=7).random(4)
        b = np.random.Generator(np.random.PCG64(kids[k])).random(4)
        assert np.array_equal(a, b)
    # different n, seed or design -> different streams
    base = replication_rng(d, 100, 0, 7).random(4)
    assert not np.array_equal(base, replication_rng(d, 200, 0, 7).random(4))
    assert not np.array_equal(base, replication_rng(d, 100, 0, 8).random(4))
    assert not np.array_equal(base, replication_rng(d.with_(beta0=(1.0, 0.0, 0.1)), 100, 0, 7).random(4))


def test_design_key_stable_and_sensitive():
    d = linear_design([1.0, 0.0], noise="laplace", sigma=2.0, name="a")
    d2 = pickle.loads(pickle.dumps(d))
    assert d2 == d and d2.key() == d.key()
    assert d.with_(name="b").key() == d.key()          # the name is cosmetic
    assert linear_design([1.0, 0.0], noise="laplace", sigma=2.0 + 1e-15).key() != d.key()
    assert config_hash({"a": 1.0}) != config_hash({"a": 1})


@pytest.mark.parametrize("kind,rho", [("independent", 0.0), ("ar1", 0.7), ("ar1", -0.4), ("equicorrelated", 0.5)])
def test_covariate_moments(kind, rho):
    cov = Covariates(p=4, kind=kind, rho=rho, mean=(0.0, 1.0, -2.0, 0.5), scale=1.5)
    X = cov.sample(200_000, np.random.default_rng(1))
    m_se = np.sqrt(np.diag(cov.cov) / X.shape[0])
    assert np.all(np.abs(X.mean(0) - cov.mean_vector) < 5 * m_se)
    C = np.cov(X.T)
    # SE of a sample covariance ~ sqrt((S_jj S_kk + S_jk^2)/n)
    S = cov.cov
    se = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S ** 2) / X.shape[0])
    assert np.all(np.abs(C - S) < 5 * se)


@pytest.mark.parametrize("kind", ["gaussian", "laplace", "t", "exponential"])
def test_noise_sd_kappa_and_sign(kind):
    nz = Noise(kind, sigma=1.7, df=6.0)
    e = nz.sample(400_000, np.random.default_rng(3))
    n = e.size
    assert abs(e.mean()) < 5 * e.std() / math.sqrt(n)
    assert abs(e.std() - 1.7) < 0.03 * 1.7
    a = np.abs(e)
    assert abs(a.mean() - nz.abs_mean) < 5 * a.std() / math.sqrt(n)
    s = np.sign(e)
    assert abs(s.mean() - nz.mean_sign) < 5 * s.std() / math.sqrt(n)
    if kind == "exponential":
        assert nz.mean_sign == pytest.approx(2 / math.e - 1)
        assert abs((e > 0).mean() - math.exp(-1)) < 5 * math.sqrt(math.exp(-1) * (1 - math.exp(-1)) / n)


@pytest.mark.parametrize("target", [0.1, 0.25, 0.5])
@pytest.mark.parametrize("cov", [dict(covariates="independent"), dict(covariates="ar1", rho=0.5, mean=0.4)])
def test_class_balance_intercept_hits_target(target, cov):
    beta = sparse_beta(5, 3, (1.0, -0.8, 0.5))
    d = logistic_design(beta, positive_fraction=target, **cov)
    assert positive_fraction(beta, d.covariates, d.intercept) == pytest.approx(target, abs=1e-10)
    n = 300_000
    _, y = d.sample(n, np.random.default_rng(int(target * 100)))
    assert abs(y.mean() - target) < 4.5 * math.sqrt(target * (1 - target) / n)
    if target == 0.5 and cov["covariates"] == "independent":
        assert d.intercept == pytest.approx(0.0, abs=1e-9)


def test_positive_fraction_quadrature_exact_case():
    # beta = 0: eta is the constant intercept
    cov = Covariates(p=2)
    assert positive_fraction((0.0, 0.0), cov, 0.7) == pytest.approx(1 / (1 + math.exp(-0.7)), abs=1e-14)
    a = intercept_for_balance((0.0, 0.0), cov, 0.3)
    assert a == pytest.approx(math.log(0.3 / 0.7), abs=1e-10)


def test_linear_and_poisson_models():
    d = linear_design([2.0, -1.0], noise="exponential", sigma=0.5, intercept=1.0)
    X, y = d.sample(100_000, np.random.default_rng(0))
    coef = np.linalg.lstsq(np.column_stack([np.ones(len(y)), X]), y, rcond=None)[0]
    assert np.allclose(coef, [1.0, 2.0, -1.0], atol=0.02)
    assert np.array_equal(d.theta0, [1.0, 2.0, -1.0]) and list(d.penalized) == [False, True, True]
    dp = poisson_design([0.3, 0.0], intercept=0.5)
    X, y = dp.sample(50_000, np.random.default_rng(1))
    assert np.all(y == np.round(y)) and y.min() >= 0
    assert abs(y.mean() - math.exp(0.5 + 0.3 ** 2 / 2)) < 0.03


def test_validation_errors():
    with pytest.raises(ValueError):
        Covariates(p=3, kind="ar1", rho=1.0)
    with pytest.raises(ValueError):
        Covariates(p=3, kind="equicorrelated", rho=-0.2)
    with pytest.raises(ValueError):
        Noise("cauchy")
    with pytest.raises(ValueError):
        Design("bernoulli", (1.0,), Covariates(p=1), noise=Noise())
    with pytest.raises(ValueError):
        linear_design([1.0, 2.0], covariates=Covariates(p=3))
    with pytest.raises(ValueError):
        logistic_design([1.0], positive_fraction=0.2, intercept=0.0)
    assert sparse_beta(5, 2, 3.0, alternate_signs=True) == (3.0, -3.0, 0.0, 0.0, 0.0)
    assert stats.norm.cdf(0) == 0.5  # keep scipy import honest
