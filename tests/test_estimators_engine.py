"""Working sets (p >> n, features entering late), sparse X, scale-invariant stopping and the
validation shared by estimators, paths and thresholds."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from companion import GeneralizedFGSM, PenalizedGLM
from companion import solver as S
from companion.paths import alpha_max, eps_max, fgsm_path, penalized_path


def _data(n, p, family, seed=0, k=5, sparse=False):
    k = min(k, p)
    rng = np.random.default_rng(seed)
    if sparse:
        X = sp.random(n, p, density=0.05, format="csr", random_state=rng,
                      data_rvs=rng.standard_normal)
        scale = 1 / np.sqrt(0.05)
    else:
        X = rng.normal(size=(n, p))
        scale = 1.0
    beta = np.zeros(p)
    beta[:k] = scale * np.linspace(1.0, 0.4, k) * rng.choice([-1, 1], size=k)
    theta = np.asarray(X @ beta)
    if family == "gaussian":
        y = theta + rng.normal(size=n)
    elif family == "bernoulli":
        y = (rng.random(n) < 1 / (1 + np.exp(-theta))).astype(float)
    else:
        y = rng.poisson(np.exp(0.3 * theta)).astype(float)
    return X, y


def _dense_engine(monkeypatch):
    """Solve without working sets (the dense engine on all p features)."""
    monkeypatch.setattr(S, "_WS_MIN_P", 10**9)


@pytest.mark.parametrize("family", ["gaussian", "bernoulli", "poisson"])
@pytest.mark.parametrize("mode", ["fgsm", "pen"])
def test_working_sets_match_the_dense_engine(family, mode, monkeypatch):
    X, y = _data(200, 210, family, seed=1)
    if mode == "fgsm":
        s = 0.3 * eps_max(X, y, family)
        fit = S._fit_fgsm
    else:
        s = 0.3 * alpha_max(X, y, family)
        fit = S._fit_penalized
    ws = fit(X, y, s, family)
    assert X.shape[1] > S._WS_MIN_P  # the working-set route
    _dense_engine(monkeypatch)
    ref = fit(X, y, s, family)
    assert ws.converged and ref.converged
    assert ws.optimality_residual <= 1e-8
    np.testing.assert_allclose(ws.coef, ref.coef, atol=1e-6)
    assert abs(ws.intercept - ref.intercept) <= 1e-6
    assert np.isclose(ws.objective, ref.objective, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("family", ["gaussian", "bernoulli"])
def test_features_entering_late_are_found(family, monkeypatch):
    # feature 0 has (nearly) no marginal correlation with y -- it matters only jointly with its
    # correlated partner 1 -- so it is not in the first working set and must enter later
    rng = np.random.default_rng(5)
    n, p = 300, 220
    X = rng.normal(size=(n, p))
    X[:, 1] = X[:, 0] + 0.5 * rng.normal(size=n)
    theta = 2.0 * (X[:, 0] - X[:, 1]) + 0.6 * X[:, 2:5].sum(axis=1)
    y = theta + 0.3 * rng.normal(size=n) if family == "gaussian" else \
        (rng.random(n) < 1 / (1 + np.exp(-theta))).astype(float)
    score = np.abs(X.T @ (y - y.mean()))
    assert np.sum(score > score[0]) >= 10  # feature 0 is not among the first ten
    eps = 0.2 * eps_max(X, y, family)
    ws = S._fit_fgsm(X, y, eps, family)
    _dense_engine(monkeypatch)
    ref = S._fit_fgsm(X, y, eps, family)
    assert ws.converged and ref.converged
    np.testing.assert_allclose(ws.coef, ref.coef, atol=1e-6)
    assert ws.coef[0] != 0 and ws.coef[1] != 0


@pytest.mark.parametrize("family", ["gaussian", "bernoulli"])
def test_p_much_larger_than_n_satisfies_the_kkt_conditions(family):
    # Bernoulli: n large enough that no direction separates the classes with margin eps ||b||_1
    # (else the FGSM objective has no minimizer)
    X, y = _data(50 if family == "gaussian" else 300, 3000, family, seed=2)
    eps = 0.4 * eps_max(X, y, family)
    res = S._fit_fgsm(X, y, eps, family)
    assert res.converged and res.optimality_residual <= 1e-8
    assert 0 < np.count_nonzero(res.coef) < len(y)
    # independent KKT check over all p features (Bernoulli FGSM is smooth)
    if family == "bernoulli":
        theta = X @ res.coef + res.intercept
        T = np.abs(res.coef).sum()
        s = 1 / (1 + np.exp(-(-(2 * y - 1) * theta + eps * T)))
        a = -(2 * y - 1) * s
        K = eps * s.sum()
        g = X.T @ a
        nz = res.coef != 0
        assert abs(a.sum()) / len(y) <= 1e-7
        assert np.all(np.abs(g[~nz]) <= K * (1 + 1e-9))
        np.testing.assert_allclose(g[nz], -K * np.sign(res.coef[nz]), atol=1e-6)


@pytest.mark.parametrize("family,Est,kw", [
    ("gaussian", GeneralizedFGSM, {}), ("bernoulli", GeneralizedFGSM, {}),
    ("poisson", GeneralizedFGSM, {}),
    ("gaussian", PenalizedGLM, {}), ("bernoulli", PenalizedGLM, {}),
    ("poisson", PenalizedGLM, {})])
def test_sparse_and_dense_fits_are_identical(family, Est, kw):
    """A sparse X gives the dense fit.  The Bernoulli L1 problems run a different algorithm on a
    sparse X (coordinate descent on the sparse columns inside the Newton step, no Hessian), so
    both sides are solved to a residual of 1e-12 and compared at 1e-10."""
    Xs, y = _data(300, 250, family, seed=3, sparse=True)
    Xd = Xs.toarray()
    if Est is GeneralizedFGSM:
        kw = {"eps": 0.3 * eps_max(Xd, y, family)}
        assert eps_max(Xs, y, family) == pytest.approx(kw["eps"] / 0.3, rel=1e-12)
    else:
        kw = {"alpha": 0.3 * alpha_max(Xd, y, family)}
        assert alpha_max(Xs.tocsc(), y, family) == pytest.approx(kw["alpha"] / 0.3, rel=1e-12)
    kw["tol"] = 1e-12
    a = Est(family=family, **kw).fit(Xs, y)
    b = Est(family=family, **kw).fit(Xd, y)
    assert a.converged_ and b.converged_
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=0, atol=1e-10)
    assert abs(a.intercept_ - b.intercept_) <= 1e-10
    np.testing.assert_allclose(a.predict(Xs), b.predict(Xd), rtol=1e-10)
    c = Est(family=family, **kw).fit(Xs.tocsc(), y, check_input=False)
    np.testing.assert_allclose(c.coef_, a.coef_, rtol=0, atol=1e-10)


def test_poisson_fgsm_pins_identical_observations_together():
    """Regression: on a sparse design with three active features, 94 observations have no entry
    in them and y = 1, so they share their linear predictor and sit at their kink together.  The
    kink polish pinned observations one by one (at most q = 4), never reached that face, and the
    fit stopped at max_iter with residual 5e-9.  Identical observations are now one group with one
    kink equation: the fit converges and meets the optimality conditions."""
    Xs, y = _data(300, 250, "poisson", seed=3, sparse=True)
    X = Xs.toarray()
    eps = 0.3 * eps_max(X, y, "poisson")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m = GeneralizedFGSM(family="poisson", eps=eps, tol=1e-12).fit(X, y)
    assert m.converged_ and m.optimality_residual_ <= 1e-12
    act = np.flatnonzero(m.coef_)
    theta = X @ m.coef_ + m.intercept_
    t = eps * np.abs(m.coef_).sum()
    gap = (np.exp(theta + t) - y * (theta + t)) - (np.exp(theta - t) - y * (theta - t))
    tied = (np.abs(gap) < 1e-9) & ~np.any(X[:, act] != 0, axis=1) & (y == 1)
    assert tied.sum() >= 50 and len(act) + 1 < tied.sum()


@pytest.mark.parametrize("mode", ["fgsm", "pen"])
def test_sparse_logistic_coordinate_descent_meets_the_kkt_conditions(mode):
    """The sparse Bernoulli kernel (Newton step solved by coordinate descent on the CSC columns)
    on p >> n with a support of a few hundred features: the optimality conditions, written out
    here from the loss, hold to 1e-9, and the fit equals the dense engine's."""
    rng = np.random.default_rng(7)
    n, p = 400, 4000
    X = sp.random(n, p, density=0.02, format="csr", random_state=rng, data_rvs=rng.standard_normal)
    beta = np.zeros(p)
    beta[:20] = rng.choice([-1.0, 1.0], size=20) * 3.0
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ beta)))).astype(float)
    if mode == "fgsm":
        eps = 0.5 * eps_max(X, y, "bernoulli")
        a = S._fit_fgsm(X, y, eps, "bernoulli", tol=1e-12)
        b = S._fit_fgsm(X.toarray(), y, eps, "bernoulli", tol=1e-12)
        alpha = 0.0
    else:
        eps, alpha = 0.0, 0.2 * alpha_max(X, y, "bernoulli")
        a = S._fit_penalized(X, y, alpha, "bernoulli", tol=1e-12)
        b = S._fit_penalized(X.toarray(), y, alpha, "bernoulli", tol=1e-12)
    assert a.converged and a.minimizer.startswith("global")
    assert np.count_nonzero(a.coef) >= 50
    ytil = 2 * y - 1
    T = np.abs(a.coef).sum()
    s = 1 / (1 + np.exp(ytil * (X @ a.coef + a.intercept) - eps * T))
    g = X.T @ (-ytil * s)
    K = eps * s.sum() + alpha
    on = a.coef != 0
    assert abs(np.sum(-ytil * s)) / n <= 1e-9
    assert np.max(np.abs(g[on] + K * np.sign(a.coef[on]))) / n <= 1e-9
    assert np.max(np.abs(g[~on]) - K) / n <= 1e-9
    np.testing.assert_allclose(a.coef, b.coef, rtol=0, atol=1e-8)


def test_sparse_paths_match_dense_paths():
    Xs, y = _data(60, 250, "gaussian", seed=4, sparse=True)
    grid = eps_max(Xs, y) * np.geomspace(1, 0.1, 8)
    ps = fgsm_path(Xs, y, grid)
    pd = fgsm_path(Xs.toarray(), y, grid)
    np.testing.assert_allclose(ps["coefs"], pd["coefs"], atol=1e-10)
    assert not np.any(ps["coefs"][0])
    la = alpha_max(Xs, y) * np.geomspace(1, 0.1, 5)
    qs = penalized_path(Xs, y, la)
    qd = penalized_path(Xs.toarray(), y, la)
    np.testing.assert_allclose(qs["coefs"], qd["coefs"], atol=1e-10)


@pytest.mark.parametrize("scale", [1e-9, 1e9])
@pytest.mark.parametrize("family,penalty", [("gaussian", "l1"), ("gaussian", "bridge"),
                                            ("bernoulli", "l1"), ("poisson", "l1")])
def test_rescaling_y_and_X_rescales_the_fit(scale, family, penalty):
    X, y = _data(120, 4, family, seed=6)
    kw = {"r": 1.5} if penalty == "bridge" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ref = GeneralizedFGSM(family=family, penalty=penalty, eps=0.05, **kw).fit(X, y)
        # X -> s X: coefficients / s, and eps * s^r (the margin shift eps P(beta) is fixed)
        r = 1.5 if penalty == "bridge" else 1.0
        m = GeneralizedFGSM(family=family, penalty=penalty, eps=0.05 * scale ** r, **kw).fit(
            X * scale, y)
        assert m.converged_ and ref.converged_
        np.testing.assert_allclose(m.coef_ * scale, ref.coef_, rtol=1e-7, atol=1e-9)
        assert m.optimality_residual_ <= 1e-8
        if family == "gaussian":
            # y -> s y: coefficients and intercept * s, eps * s^(1-r)
            m = GeneralizedFGSM(penalty=penalty, eps=0.05 * scale ** (1 - r), **kw).fit(
                X, y * scale)
            assert m.converged_
            np.testing.assert_allclose(m.coef_ / scale, ref.coef_, rtol=1e-7, atol=1e-9)
            assert m.intercept_ / scale == pytest.approx(ref.intercept_, rel=1e-7, abs=1e-9)
            assert np.any(m.coef_ != 0)
            # the twin: alpha scales with y
            t0 = PenalizedGLM(penalty=penalty, alpha=3.0, **kw).fit(X, y)
            t1 = PenalizedGLM(penalty=penalty, alpha=3.0 * scale ** (2 - r), **kw).fit(X, y * scale)
            np.testing.assert_allclose(t1.coef_ / scale, t0.coef_, rtol=1e-7, atol=1e-9)


def test_power_of_two_rescaling_is_exact():
    X, y = _data(100, 6, "gaussian", seed=7)
    a = GeneralizedFGSM(eps=0.05).fit(X, y)
    b = GeneralizedFGSM(eps=0.05).fit(X, y * 2.0 ** -30)
    np.testing.assert_array_equal(b.coef_, a.coef_ * 2.0 ** -30)
    assert b.optimality_residual_ == a.optimality_residual_


@pytest.mark.parametrize("fn", ["fgsm_path", "penalized_path"])
@pytest.mark.parametrize("kw,param", [({"fit_intercept": "no"}, "fit_intercept"),
                                      ({"max_iter": 0}, "max_iter"), ({"tol": -1.0}, "tol"),
                                      ({"tol": 0.0}, "tol")])
def test_paths_validate_like_the_estimators(fn, kw, param):
    X, y = _data(30, 3, "gaussian")
    f = {"fgsm_path": fgsm_path, "penalized_path": penalized_path}[fn]
    with pytest.raises(ValueError, match=f"The '{param}' parameter of {fn} must be"):
        f(X, y, [0.1], **kw)
    Est = GeneralizedFGSM if fn == "fgsm_path" else PenalizedGLM
    with pytest.raises(ValueError, match=f"The '{param}' parameter of {Est.__name__} must be"):
        Est(**kw).fit(X, y)


def test_non_binary_labels_are_rejected_everywhere():
    X, y = _data(30, 3, "bernoulli")
    y = y.copy()
    y[0] = 0.5
    for call in (lambda: eps_max(X, y, "bernoulli"), lambda: alpha_max(X, y, "bernoulli"),
                 lambda: fgsm_path(X, y, [0.01], "bernoulli"),
                 lambda: GeneralizedFGSM(family="bernoulli").fit(X, y),
                 lambda: PenalizedGLM(family="bernoulli").fit(X, y, check_input=False)):
        with pytest.raises(ValueError, match="y must hold two class labels"):
            call()


# --------------------------------------------------------------------------- the Gaussian face search
def test_gaussian_polish_finds_a_face_the_sign_flips_missed():
    """Regression: a pivotal-eps data set of the choosing-eps chapter (t noise, sigma = 2,
    replication 84) where two residuals sit at the kink and a third is -6.6e-7 off it.  The earlier
    polish pinned the third and stopped at max_iter with residual 2.4e-9; the face search solves it,
    and the solution satisfies the optimality conditions and agrees with Clarabel."""
    from companion.designs import replication_rng
    from companion.experiments import choosing_eps as ce
    from companion.pivotal import pivotal_eps

    d = ce._design(2.0, "t")
    X, y = d.sample(200, replication_rng(d, 200, 84, ce.SEED))
    eps = pivotal_eps(X, 0.05, noise="gaussian")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m = GeneralizedFGSM(eps=eps, tol=1e-10).fit(X, y)
    assert m.converged_ and m.optimality_residual_ <= 1e-10 and m.n_iter_ < 50
    r = y - m.predict(X)
    assert np.sum(np.abs(r) < 1e-9) >= 2          # residuals pinned at the kink
    cp = pytest.importorskip("cvxpy")
    b, b0 = cp.Variable(X.shape[1]), cp.Variable()
    cp.Problem(cp.Minimize(cp.sum_squares(cp.abs(y - X @ b - b0) + eps * cp.norm1(b)) / 2)).solve(
        solver="CLARABEL")
    # Clarabel stops at its default gap tolerance on this degenerate (kinked) problem: the exact
    # solution is at least as good and close to it
    obj = lambda c, c0: S.fgsm_objective(X, y, c, c0, eps, "gaussian")
    assert obj(m.coef_, m.intercept_) <= obj(b.value, float(b0.value)) * (1 + 1e-12)
    assert np.max(np.abs(m.coef_ - b.value)) < 1e-3


@pytest.mark.parametrize("n,p,fit_intercept,seed,low", [(200, 50, True, 0, 1e-2),
                                                        (200, 50, False, 1, 1e-2),
                                                        (80, 150, True, 2, 1e-2),
                                                        (100, 400, True, 5, 1e-2),
                                                        (442, 10, True, 3, 1e-2)])
def test_gaussian_warm_path_is_exact_and_skips_the_continuation(n, p, fit_intercept, seed, low):
    """Along a decreasing eps grid the linear FGSM fit starts from the previous exact solution and
    the active-set search with exact line searches (companion._gaussian_warm) finishes it: every
    grid point equals its cold fit, and at two thirds of the grid points or more no Newton
    iteration of the smoothing continuation is needed (n_iter 0), which is what makes a warm
    path cheaper than cold refits.  For p > n the small radii reach the interpolation regime
    (every residual at zero) through faces where nearly every residual is pinned."""
    X, y = _data(n, p, "gaussian", seed=seed)
    top = eps_max(X, y, fit_intercept=fit_intercept)
    grid = top * np.logspace(0, np.log10(low), 15)
    path = fgsm_path(X, y, grid, fit_intercept=fit_intercept, tol=1e-10)
    assert np.all(path["converged"]) and np.all(path["optimality_residual"] <= 1e-10)
    for k, eps in enumerate(grid):
        cold = S._fit_fgsm(X, y, eps, fit_intercept=fit_intercept, tol=1e-10)
        assert np.max(np.abs(path["coefs"][k] - cold.coef)) <= 1e-8 * (1 + np.abs(cold.coef).max())
        assert abs(path["intercepts"][k] - cold.intercept) <= 1e-8 * (1 + abs(cold.intercept))
    assert np.mean(path["n_iter"][1:] == 0) >= 2 / 3


@pytest.mark.parametrize("n,p", [(80, 150), (100, 400)])
@pytest.mark.parametrize("frac", [0.1, 0.07, 0.01])
def test_linear_fgsm_with_more_features_than_observations_at_small_eps(n, p, frac):
    """p > n, small eps: the solution pins nearly every residual at zero (0.1, 0.07 eps_max) or
    interpolates (0.01 eps_max: the basis pursuit), degenerate faces that the face search from a
    smoothed fit did not reach (cold fits stopped at max_iter with residual ~1e-6 and an
    objective above Clarabel's).  The fit starts from the interpolating vertex instead: it
    converges, meets the optimality conditions and is at least as good as Clarabel's."""
    cp = pytest.importorskip("cvxpy")
    X, y = _data(n, p, "gaussian", seed=5)
    eps = frac * eps_max(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m = GeneralizedFGSM(eps=eps, tol=1e-10).fit(X, y)
    assert m.converged_ and m.optimality_residual_ <= 1e-10
    b, b0 = cp.Variable(p), cp.Variable()
    cp.Problem(cp.Minimize(cp.sum_squares(cp.abs(y - X @ b - b0) + eps * cp.norm1(b)) / 2)).solve(
        solver="CLARABEL")
    obj = lambda c, c0: S.fgsm_objective(X, y, c, c0, eps, "gaussian")
    assert obj(m.coef_, m.intercept_) <= obj(b.value, float(b0.value)) + 1e-9 * obj(b.value, float(b0.value))
    if frac == 0.01:
        assert np.max(np.abs(y - m.predict(X))) <= 1e-8 * np.abs(y).max()   # interpolation


def test_gaussian_warm_search_never_increases_the_objective_and_falls_back():
    """The warm search from the solution at another eps returns a point no worse than its start;
    from a start far from the solution (eps_max -> 0.01 eps_max) with a step budget of one it
    fails (status -7, the step limit) instead of returning a wrong point, and the fit falls back to the
    continuation and still reaches the optimum."""
    from companion._gaussian_warm import warm_search

    X, y = _data(200, 50, "gaussian", seed=4)
    top = eps_max(X, y)
    a = S._fit_fgsm(X, y, 0.2 * top, tol=1e-10)
    b = S._fit_fgsm(X, y, 0.15 * top, tol=1e-10)
    pb = S._make_problem(X, y, "gaussian", "fgsm", 0.15 * top, 0.0, True, w=np.ones(50))
    status, b0, beta, steps = warm_search(X, y, pb.gram, pb.w, 0.0, 0.15 * top, 1, a.intercept,
                                          a.coef, 200)
    assert status == 1 and steps >= 1
    assert pb.objective(b0, beta) <= pb.objective(a.intercept, a.coef) + 1e-12
    assert np.max(np.abs(beta - b.coef)) <= 1e-8
    status1, *_ = warm_search(X, y, pb.gram, pb.w, 0.0, 0.15 * top, 1, a.intercept, a.coef, 1)
    assert status1 == -7                         # the step limit
    far = S._fit_fgsm(X, y, 0.01 * top, tol=1e-10, coef0=a.coef, intercept0=a.intercept)
    ref = S._fit_fgsm(X, y, 0.01 * top, tol=1e-10)
    assert far.converged and np.max(np.abs(far.coef - ref.coef)) <= 1e-8


# --------------------------------------------------------------------------- no minimizer
def _separable(n=60, p=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(float)   # separable with margin in l_inf
    return X, y


def test_separated_data_have_no_fgsm_minimizer_and_say_so():
    X, y = _separable()
    eps = 1e-3 * eps_max(X, y, "bernoulli")
    with pytest.warns(ConvergenceWarning, match="No minimizer"):
        m = GeneralizedFGSM(family="bernoulli", eps=eps).fit(X, y)
    assert not m.converged_ and m.minimizer_ == "none (separable data)"
    # the certificate, checked independently: doubling the fit lowers the objective
    obj = lambda c, b: S.fgsm_objective(X, y, c, b, eps, "bernoulli")
    assert obj(2 * m.coef_, 2 * m.intercept_) < obj(m.coef_, m.intercept_)
    # a radius at which the margin shift beats every margin has a minimizer
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        big = GeneralizedFGSM(family="bernoulli", eps=0.5 * eps_max(X, y, "bernoulli")).fit(X, y)
    assert big.converged_ and big.minimizer_.startswith("global")
    assert np.min((2 * y - 1) * big.decision_function(X)) - 0.5 * eps_max(X, y, "bernoulli") * \
        np.abs(big.coef_).sum() <= 0


def test_unpenalized_logistic_fit_on_separated_data_says_so():
    X, y = _separable()
    with pytest.warns(ConvergenceWarning, match="No minimizer"):
        m = PenalizedGLM(family="bernoulli", alpha=0.0).fit(X, y)
    assert not m.converged_ and m.minimizer_.startswith("none")


def test_paths_and_cv_skip_radii_without_a_minimizer():
    from companion import GeneralizedFGSMCV

    X, y = _separable(n=90)
    top = eps_max(X, y, "bernoulli")
    grid = top * np.array([0.6, 0.3, 1e-3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        path = fgsm_path(X, y, grid, family="bernoulli")
        cv = GeneralizedFGSMCV(family="bernoulli", eps_grid=grid, cv=3).fit(X, y)
    assert path["no_minimizer"].tolist() == [False, False, True]
    assert not path["converged"][-1]
    assert np.all(np.isnan(cv.score_path_[-1])) and np.isnan(cv.cv_results_["mean_test_score"][-1])
    assert cv.eps_ in grid[:2]
    with pytest.raises(ValueError, match="separable"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            GeneralizedFGSMCV(family="bernoulli", eps_grid=top * np.array([1e-3, 1e-4]), cv=3).fit(X, y)


@pytest.mark.parametrize("fi", [True, False])
@pytest.mark.parametrize("stride", [1, 4])
def test_blocked_dsyrk_hessian_equals_the_direct_sum(fi, stride):
    """The large-design Hessian of the Bernoulli kernel (``_gram_rows``: BLAS dsyrk on row blocks
    scaled by sqrt(D)) equals stride * sum over every stride-th row of D_i a_i a_i', a_i = (1, x_i,
    -eps ytil_i), on a design whose length is not a multiple of the block."""
    from companion._solver_kernels import _GRAM_BLOCK, _gram_rows
    rng = np.random.default_rng(7)
    n, p, eps = 2 * _GRAM_BLOCK + 37, 6, 0.3
    X = rng.normal(size=(n, p))
    ytil = rng.choice([-1.0, 1.0], size=n)
    D = rng.random(n) * 0.25
    A = np.column_stack(([np.ones(n)] if fi else []) + [X, -eps * ytil])[::stride]
    M = stride * (A * D[::stride, None]).T @ A
    q = p + (1 if fi else 0)
    Hzz, hz = np.empty((q, q)), np.empty(q)
    hTT = _gram_rows(X, ytil, eps, D, stride, fi, Hzz, hz)
    np.testing.assert_allclose(Hzz, M[:q, :q], rtol=1e-12, atol=1e-12 * np.abs(M).max())
    np.testing.assert_allclose(hz, M[:q, q], rtol=1e-12, atol=1e-12 * np.abs(M).max())
    assert abs(hTT - M[q, q]) <= 1e-12 * abs(M[q, q])
    np.testing.assert_array_equal(Hzz, Hzz.T)
