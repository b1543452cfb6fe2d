"""GeneralizedFGSM / PenalizedGLM: optimality, thresholds, invariances, LLA, validation."""
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import companion.solver as solver
from companion import (GeneralizedFGSM, PenalizedGLM, adversarial_loss, alpha_max, eps_max,
                       fgsm_path, penalized_path)
from companion.penalties import WeightedL1

FAMILIES = ["gaussian", "bernoulli", "poisson"]


def _data(family, seed=0, n=150, p=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta = np.array([1.0, -0.8, 0.5] + [0.0] * (p - 3))
    theta = X @ beta * (0.4 if family == "poisson" else 1.0) + 0.2
    if family == "gaussian":
        y = theta + rng.normal(size=n)
    elif family == "bernoulli":
        y = (rng.random(n) < 1 / (1 + np.exp(-theta))).astype(float)
    else:
        y = rng.poisson(np.exp(theta)).astype(float)
    return X, y


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("penalty,kw", [("l1", {}), ("bridge", {"r": 1.5}),
                                        ("weighted_l1", {"weights": [1, 2, 0.5, 1, 1]})])
def test_kkt_residual_small_in_convex_cases(family, penalty, kw):
    X, y = _data(family)
    e = 0.2 * eps_max(X, y, family)
    m = GeneralizedFGSM(family=family, eps=e, penalty=penalty, **kw).fit(X, y)
    assert m.converged_ and m.optimality_residual_ < 1e-6
    assert m.minimizer_.startswith("global")
    a = 0.2 * alpha_max(X, y, family)
    m = PenalizedGLM(family=family, alpha=a, penalty=penalty, **kw).fit(X, y)
    assert m.converged_ and m.optimality_residual_ < 1e-6


@pytest.mark.parametrize("family", FAMILIES)
def test_fgsm_fit_minimises_objective(family):
    """The fit beats random perturbations of itself on the closed-form FGSM objective."""
    X, y = _data(family, seed=1)
    m = GeneralizedFGSM(family=family, eps=0.05).fit(X, y)
    f0 = adversarial_loss(X, y, m.coef_, 0.05, family, m.intercept_).sum()
    assert f0 == pytest.approx(m.objective_, rel=1e-10)
    rng = np.random.default_rng(0)
    for _ in range(30):
        d = rng.normal(scale=1e-3, size=X.shape[1])
        f1 = adversarial_loss(X, y, m.coef_ + d, 0.05, family, m.intercept_ + 1e-3 * rng.normal()).sum()
        assert f1 >= f0 - 1e-9


@pytest.mark.parametrize("family", FAMILIES)
def test_thresholds(family, monkeypatch):
    X, y = _data(family, seed=2)
    e = eps_max(X, y, family)
    for eps in (e, 1.5 * e):
        assert not np.any(GeneralizedFGSM(family=family, eps=eps).fit(X, y).coef_)
    assert np.any(GeneralizedFGSM(family=family, eps=0.98 * e).fit(X, y).coef_)
    a = alpha_max(X, y, family)
    assert not np.any(PenalizedGLM(family=family, alpha=a).fit(X, y).coef_)
    assert np.any(PenalizedGLM(family=family, alpha=0.98 * a).fit(X, y).coef_)
    # the iterative solver itself (closed-form shortcut disabled) also returns ~0 above e
    monkeypatch.setattr(solver, "_zero_is_optimal", lambda pb: False)
    m = GeneralizedFGSM(family=family, eps=1.05 * e).fit(X, y)
    assert np.abs(m.coef_).max() < 1e-7
    m = PenalizedGLM(family=family, alpha=1.05 * a).fit(X, y)
    assert np.abs(m.coef_).max() < 1e-7


def test_threshold_weighted_and_no_intercept():
    X, y = _data("gaussian", seed=3)
    w = np.array([1.0, 3.0, 0.5, 2.0, 1.0])
    e = eps_max(X, y, penalty=WeightedL1(w), fit_intercept=False)
    m = GeneralizedFGSM(eps=1.001 * e, penalty="weighted_l1", weights=w, fit_intercept=False)
    assert not np.any(m.fit(X, y).coef_)
    m.set_params(eps=0.97 * e)
    assert np.any(m.fit(X, y).coef_)


@pytest.mark.parametrize("family", FAMILIES)
def test_bridge_r1_equals_l1(family):
    X, y = _data(family, seed=4)
    a = GeneralizedFGSM(family=family, eps=0.05).fit(X, y)
    b = GeneralizedFGSM(family=family, eps=0.05, penalty="bridge", r=1.0).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-10)


@pytest.mark.parametrize("family", ["gaussian", "bernoulli"])
@pytest.mark.parametrize("Est,kw", [(GeneralizedFGSM, {"eps": 0.05}), (PenalizedGLM, {"alpha": 5.0})])
def test_invariances(family, Est, kw):
    X, y = _data(family, seed=5)
    base = Est(family=family, **kw).fit(X, y)
    perm = np.array([3, 0, 4, 1, 2])
    m = Est(family=family, **kw).fit(X[:, perm], y)
    np.testing.assert_allclose(m.coef_, base.coef_[perm], atol=1e-8)
    Xn = X.copy()
    Xn[:, 1] *= -1
    m = Est(family=family, **kw).fit(Xn, y)
    expected = base.coef_.copy()
    expected[1] *= -1
    np.testing.assert_allclose(m.coef_, expected, atol=1e-8)
    assert m.intercept_ == pytest.approx(base.intercept_, abs=1e-8)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("penalty,kw", [("bridge", {"r": 0.5}), ("scad", {"lam": 0.6}),
                                        ("mcp", {"lam": 0.6})])
def test_lla_monotone(family, penalty, kw):
    X, y = _data(family, seed=6)
    m = GeneralizedFGSM(family=family, eps=0.05, penalty=penalty, **kw).fit(X, y)
    path = m.objective_path_
    assert path.size >= 2
    assert np.all(np.diff(path) <= 1e-9 * (1 + np.abs(path[:-1])))
    assert m.minimizer_ == "local (LLA from L1 start)"
    assert m.objective_ == pytest.approx(
        adversarial_loss(X, y, m.coef_, 0.05, family, m.intercept_, penalty=m.penalty_).sum(),
        rel=1e-9)
    mp = PenalizedGLM(family=family, alpha=3.0, penalty=penalty, **kw).fit(X, y)
    assert np.all(np.diff(mp.objective_path_) <= 1e-9 * (1 + np.abs(mp.objective_path_[:-1])))


def test_bridge_below_one_keeps_zeros():
    X, y = _data("gaussian", seed=7)
    l1 = GeneralizedFGSM(eps=0.1).fit(X, y)
    br = GeneralizedFGSM(eps=0.1, penalty="bridge", r=0.5).fit(X, y)
    assert np.all(br.coef_[l1.coef_ == 0] == 0)


def test_convergence_warning_max_iter_1():
    X, y = _data("bernoulli", seed=8)
    with pytest.warns(ConvergenceWarning):
        m = GeneralizedFGSM(family="bernoulli", eps=0.05, max_iter=1).fit(X, y)
    assert not m.converged_ and m.n_iter_ == 1
    Xg, yg = _data("gaussian", seed=8)
    with pytest.warns(ConvergenceWarning):
        GeneralizedFGSM(eps=0.05, max_iter=1).fit(Xg, yg)


def test_predict_score_and_labels():
    X, y = _data("bernoulli", seed=9)
    labels = np.where(y == 1, "yes", "no")
    m = GeneralizedFGSM(family="bernoulli", eps=0.02).fit(X, labels)
    assert list(m.classes_) == ["no", "yes"]
    proba = m.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(m.predict(X), np.where(proba[:, 1] > 0.5, "yes", "no"))
    assert 0.5 < m.score(X, labels) <= 1.0
    Xp, yp = _data("poisson", seed=9)
    mp = PenalizedGLM(family="poisson", alpha=1.0).fit(Xp, yp)
    assert np.all(mp.predict(Xp) > 0) and mp.score(Xp, yp) < 1
    assert not hasattr(mp, "predict_proba")


def test_gridsearch_pipeline_clone():
    X, y = _data("gaussian", seed=10)
    pipe = make_pipeline(StandardScaler(), GeneralizedFGSM())
    gs = GridSearchCV(pipe, {"generalizedfgsm__eps": [0.0, 0.01, 0.1]}, cv=3).fit(X, y)
    assert gs.best_params_["generalizedfgsm__eps"] in (0.0, 0.01, 0.1)
    c = clone(GeneralizedFGSM(penalty="mcp", lam=0.3))
    assert c.get_params()["lam"] == 0.3 and not hasattr(c, "coef_")
    Xb, yb = _data("bernoulli", seed=10)
    GridSearchCV(PenalizedGLM(family="bernoulli"), {"alpha": [0.1, 1.0]}, cv=3).fit(Xb, yb)


def test_paths_warm_start_and_shape():
    X, y = _data("bernoulli", seed=11)
    e = eps_max(X, y, "bernoulli")
    grid = np.linspace(e, 0.0, 8)
    out = fgsm_path(X, y, grid, family="bernoulli")
    assert out["coefs"].shape == (8, X.shape[1]) and out["intercepts"].shape == (8,)
    assert not np.any(out["coefs"][0]) and np.all(out["optimality_residual"] < 1e-6)
    for k in (3, 6):
        m = GeneralizedFGSM(family="bernoulli", eps=grid[k]).fit(X, y)
        np.testing.assert_allclose(out["coefs"][k], m.coef_, atol=1e-7)
    a = alpha_max(X, y, "bernoulli")
    out = penalized_path(X, y, [a, 0.5 * a, 0.1 * a], family="bernoulli")
    assert not np.any(out["coefs"][0]) and np.any(out["coefs"][2])


BAD = [
    (dict(), lambda X, y: (np.where(np.eye(len(X), X.shape[1]) > 0, np.nan, X), y), ValueError, "X"),
    (dict(), lambda X, y: (np.where(np.eye(len(X), X.shape[1]) > 0, np.inf, X), y), ValueError, "X"),
    (dict(), lambda X, y: (X, np.r_[np.nan, y[1:]]), ValueError, "y"),
    (dict(), lambda X, y: (X[:-1], y), ValueError, "X"),
    (dict(), lambda X, y: (X[:0], y[:0]), ValueError, "sample"),
    (dict(family="bernoulli"), lambda X, y: (X, np.ones_like(y)), ValueError, "class"),
    (dict(family="bernoulli"), lambda X, y: (X, np.arange(len(y)) % 3), ValueError, "class"),
    (dict(family="poisson"), lambda X, y: (X, -np.ones_like(y)), ValueError, "y"),
    (dict(eps=-0.1), None, ValueError, "eps"),
    (dict(penalty="bridge", r=0.0), None, ValueError, "r"),
    (dict(penalty="bridge"), None, ValueError, "r"),
    (dict(family="gamma"), None, ValueError, "family"),
    (dict(penalty="ridge"), None, ValueError, "penalty"),
    (dict(penalty="scad"), None, ValueError, "lam"),
    (dict(penalty="weighted_l1", weights=[1.0]), None, ValueError, "weights"),
    (dict(eps="big"), None, TypeError, "eps"),
    (dict(max_iter=0), None, ValueError, "max_iter"),
    (dict(tol=-1.0), None, ValueError, "tol"),
    (dict(nonconvex="global"), None, ValueError, "nonconvex"),
    (dict(), lambda X, y: (np.full(X.shape, "a"), y), ValueError, "X and y must be numeric"),
]


@pytest.mark.parametrize("params,mutate,exc,match", BAD)
def test_bad_inputs_raise_naming_argument(params, mutate, exc, match):
    X, y = _data("gaussian", seed=12, n=20)
    if mutate is not None:
        X, y = mutate(X, y)
    with pytest.raises(exc, match=match):
        GeneralizedFGSM(**params).fit(X, y)


def test_bad_alpha():
    X, y = _data("gaussian", n=20)
    with pytest.raises(ValueError, match="alpha"):
        PenalizedGLM(alpha=-1.0).fit(X, y)
    with pytest.raises(TypeError, match="alpha"):
        PenalizedGLM(alpha=None).fit(X, y)
    with pytest.raises(ValueError, match="eps_grid"):
        fgsm_path(X, y, [-1.0])


@pytest.mark.parametrize("family", ["gaussian", "bernoulli", "poisson"])
@pytest.mark.parametrize("Est,kw", [(GeneralizedFGSM, {"eps": 0.05}), (PenalizedGLM, {"alpha": 3.0}),
                                    (GeneralizedFGSM, {"eps": 0.05, "penalty": "scad", "lam": 0.2})])
def test_check_input_false_gives_the_same_fit(family, Est, kw):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(150, 4))
    theta = X @ np.array([0.8, -0.5, 0.0, 0.3]) + 0.2
    y = {"gaussian": theta + rng.normal(size=150),
         "bernoulli": (rng.random(150) < 1 / (1 + np.exp(-theta))).astype(float),
         "poisson": rng.poisson(np.exp(theta)).astype(float)}[family]
    a = Est(family=family, **kw).fit(X, y)
    b = Est(family=family, **kw).fit(X, y, check_input=False)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.intercept_ == b.intercept_ and a.n_iter_ == b.n_iter_
    assert b.n_features_in_ == 4
    if family == "bernoulli":
        np.testing.assert_array_equal(a.classes_, b.classes_)
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_check_input_false_still_rejects_wrong_structure():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X[:, 0] + rng.normal(size=40)
    est = GeneralizedFGSM(eps=0.1)
    with pytest.raises(ValueError, match="C-contiguous float64"):
        est.fit(np.asfortranarray(X), y, check_input=False)
    with pytest.raises(ValueError, match="C-contiguous float64"):
        est.fit(X.astype(np.float32), y, check_input=False)
    with pytest.raises(ValueError, match="C-contiguous float64"):
        est.fit(X.tolist(), y, check_input=False)
    with pytest.raises(ValueError, match="40 entries"):
        est.fit(X, y[:-1], check_input=False)
    with pytest.raises(ValueError, match="two classes"):
        GeneralizedFGSM(family="bernoulli").fit(X, np.zeros(40), check_input=False)
    with pytest.raises(ValueError, match="non-negative"):
        GeneralizedFGSM(family="poisson").fit(X, -np.ones(40), check_input=False)


def test_parameters_the_penalty_does_not_use_are_reported():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    y = X[:, 0] + rng.normal(size=40)
    with pytest.warns(UserWarning, match="r is ignored with penalty='l1'"):
        GeneralizedFGSM(penalty="l1", r=2.0).fit(X, y)
    with pytest.warns(UserWarning, match="lam, weights are ignored with penalty='bridge'"):
        PenalizedGLM(penalty="bridge", r=1.5, lam=0.1, weights=[1, 1, 1]).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GeneralizedFGSM(penalty="scad", lam=0.1).fit(X, y)
        PenalizedGLM(penalty="weighted_l1", weights=[1.0, 2.0, 0.5]).fit(X, y)
