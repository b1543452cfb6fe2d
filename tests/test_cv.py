"""GeneralizedFGSMCV / PenalizedGLMCV: against a hand-rolled loop over the same folds and grid,
the one-standard-error rule, Pipeline use, scikit-learn conformance and bad inputs."""
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from companion import GeneralizedFGSM, GeneralizedFGSMCV, PenalizedGLM, PenalizedGLMCV, eps_max
from companion.cv import mean_deviance
from companion.families import get_family
from test_sklearn_checks import _expected_failed_checks  # the same expected failures as the base estimators


def _data(n=80, p=6, seed=0, family="gaussian"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = np.r_[1.5, -1.0, np.zeros(p - 2)]
    eta = X @ beta
    if family == "gaussian":
        return X, eta + rng.standard_normal(n)
    return X, (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)


def _manual(est_cls, name, X, y, grid, splits, family):
    """Cold fits of the base estimator at every grid point on every training fold."""
    fam = get_family(family)
    scores = np.zeros((grid.size, len(splits)))
    for k, (tr, te) in enumerate(splits):
        for g, value in enumerate(grid):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                m = est_cls(family=family, **{name: value}).fit(X[tr], y[tr])
            scores[g, k] = -mean_deviance(fam, fam.validate_y(y[te]), m.decision_function(X[te]))
    return scores


@pytest.mark.parametrize("family", ["gaussian", "bernoulli"])
@pytest.mark.parametrize("kind", ["fgsm", "twin"])
def test_cv_matches_manual_loop(family, kind):
    X, y = _data(family=family)
    cv = KFold(4, shuffle=True, random_state=1) if family == "gaussian" else StratifiedKFold(4, shuffle=True, random_state=1)
    splits = list(cv.split(X, y))
    if kind == "fgsm":
        top = eps_max(X, y, family)
        grid = top * np.logspace(0, -2, 8)
        est = GeneralizedFGSMCV(family=family, eps_grid=grid, cv=cv).fit(X, y)
        manual = _manual(GeneralizedFGSM, "eps", X, y, grid, splits, family)
        chosen, base = est.eps_, GeneralizedFGSM(family=family, eps=est.eps_).fit(X, y)
    else:
        from companion import alpha_max
        grid = alpha_max(X, y, family) * np.logspace(0, -2, 8)
        est = PenalizedGLMCV(family=family, alpha_grid=grid, cv=cv).fit(X, y)
        manual = _manual(PenalizedGLM, "alpha", X, y, grid, splits, family)
        chosen, base = est.alpha_, PenalizedGLM(family=family, alpha=est.alpha_).fit(X, y)
    np.testing.assert_allclose(est.score_path_, manual, rtol=1e-6, atol=1e-8)
    assert chosen == grid[int(np.argmax(manual.mean(axis=1)))]
    np.testing.assert_allclose(est.coef_, base.coef_, atol=1e-7)
    np.testing.assert_allclose(est.cv_results_["mean_test_score"], manual.mean(axis=1), rtol=1e-6, atol=1e-8)


def test_one_standard_error_rule():
    X, y = _data(n=100, p=8, seed=3)
    est = GeneralizedFGSMCV(cv=5, n_grid=12, grid_ratio=1e-2)
    est.fit(X, y)
    best = est.best_index_
    est1 = GeneralizedFGSMCV(cv=5, n_grid=12, grid_ratio=1e-2, rule="1se").fit(X, y)
    m, se = est.cv_results_["mean_test_score"], est.cv_results_["se_test_score"]
    within = np.flatnonzero(m >= m[best] - se[best])
    assert est1.best_index_ == within.min()
    assert est1.eps_ >= est.eps_


def test_grid_default_starts_at_eps_max_and_scorer():
    X, y = _data()
    est = GeneralizedFGSMCV(n_grid=6, grid_ratio=0.05, scoring="r2").fit(X, y)
    assert est.eps_grid_[0] == pytest.approx(eps_max(X, y))
    assert np.all(np.diff(est.eps_grid_) < 0)
    assert est.score_path_.shape == (6, 5)
    tr, te = next(iter(KFold(5).split(X)))
    m = GeneralizedFGSM(eps=est.eps_grid_[2]).fit(X[tr], y[tr])
    assert est.score_path_[2, 0] == pytest.approx(m.score(X[te], y[te]), rel=1e-6)


def test_pipeline_and_n_jobs():
    X, y = _data(n=60)
    pipe = make_pipeline(StandardScaler(), GeneralizedFGSMCV(n_grid=5, grid_ratio=0.05, cv=3, n_jobs=2))
    pipe.fit(X, y)
    one = make_pipeline(StandardScaler(), GeneralizedFGSMCV(n_grid=5, grid_ratio=0.05, cv=3)).fit(X, y)
    assert pipe[-1].eps_ == one[-1].eps_
    assert pipe.predict(X).shape == (60,)


@pytest.mark.parametrize("cls,name", [(GeneralizedFGSMCV, "eps_grid"), (PenalizedGLMCV, "alpha_grid")])
def test_bad_inputs(cls, name):
    X, y = _data(n=30)
    with pytest.raises(ValueError, match="cv must be >= 2"):
        cls(cv=1).fit(X, y)
    with pytest.raises(ValueError, match=f"{name} must hold non-negative"):
        cls(**{name: [1.0, -0.1]}).fit(X, y)
    with pytest.raises(ValueError, match="rule must be"):
        cls(rule="best").fit(X, y)
    with pytest.raises(ValueError, match="grid_ratio must lie"):
        cls(grid_ratio=1.5).fit(X, y)
    with pytest.raises(ValueError, match="tol"):      # base-estimator validation (same message)
        cls(tol=0.0).fit(X, y)
    with pytest.raises(ValueError, match="family must be one of"):
        cls(family="gamma").fit(X, y)


def test_twin_rejects_scad():
    X, y = _data(n=30)
    with pytest.raises(ValueError, match="SCAD/MCP"):
        PenalizedGLMCV(penalty="scad", lam=0.5).fit(X, y)


ESTIMATORS = [GeneralizedFGSMCV(n_grid=5, grid_ratio=0.05, cv=3),
              GeneralizedFGSMCV(family="bernoulli", n_grid=5, grid_ratio=0.05, cv=3),
              PenalizedGLMCV(n_grid=5, cv=3), PenalizedGLMCV(family="bernoulli", n_grid=5, cv=3)]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
