"""Side-by-side timings of the FGSM / penalized-GLM solver against reference solvers.

Run: ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_estimators.py``
(single-threaded BLAS: "one core").  Prints ratios measured in the same run (best-of-k wall-clock
timings); nothing here is a test (no wall-clock limits in the test suite).

"passes over X" is ``FitResult.n_passes``: products with the full design (a weighted Gram product
counts one pass, a product with a subset of the columns counts the fraction it reads).

Matching tolerance against liblinear: the two ``tol`` parameters mean different things (liblinear's
is relative to its initial projected gradient), so liblinear is run at ``tol`` and its *achieved*
optimality residual is measured with the formula our solver uses (inf-norm of the minimal-norm
subgradient divided by n, on liblinear's own problem, whose bias is penalized); our fits are then
run with exactly that residual as their ``tol``, i.e. they stop at an optimality residual no larger
than liblinear's.
"""
import time
import warnings

import numpy as np

from companion.solver import _fit_fgsm


def _timeit(fn, repeat=3, clock=time.perf_counter):
    """Best of ``repeat`` runs of ``fn`` on ``clock`` (wall by default); returns (seconds, result)."""
    best = np.inf
    out = None
    for _ in range(repeat):
        t = clock()
        out = fn()
        best = min(best, clock() - t)
    return best, out


def _data(n, p, family, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta = np.zeros(p)
    beta[:5] = [1.0, -1.0, 0.5, 0.5, -0.5]
    theta = X @ beta
    if family == "gaussian":
        return X, theta + rng.normal(size=n)
    return X, (rng.random(n) < 1 / (1 + np.exp(-theta))).astype(float)


def _cvx(X, y, eps, family):
    import cvxpy as cp
    n, p = X.shape
    b, b0 = cp.Variable(p), cp.Variable()
    if family == "gaussian":
        obj = cp.sum_squares(cp.abs(y - X @ b - b0) + eps * cp.norm1(b)) / 2
    else:
        obj = cp.sum(cp.logistic(-cp.multiply(2 * y - 1, X @ b + b0) + eps * cp.norm1(b)))
    cp.Problem(cp.Minimize(obj)).solve(solver="CLARABEL")
    return b.value


def _liblinear_residual(X, y, coef, b0, alpha):
    """Optimality residual of sum_i logloss_i + alpha (|w|_1 + |b|) (liblinear's L1 problem, bias
    penalized), in our units: inf-norm of the minimal-norm subgradient / n."""
    from scipy.special import expit
    r = expit(X @ coef + b0) - y
    g = np.concatenate(([r.sum()], X.T @ r))
    z = np.concatenate(([b0], coef))
    sub = np.where(z != 0, np.abs(g + alpha * np.sign(z)), np.maximum(np.abs(g) - alpha, 0.0))
    return float(sub.max()) / X.shape[0]


def main(quiet=False):
    """Run the benchmark; returns the rows (dicts) it prints (unless ``quiet``)."""
    rows = []
    say = (lambda *a, **k: None) if quiet else print
    _fit_fgsm(*_data(200, 5, "bernoulli"), 0.01, "bernoulli")  # JIT warm-up
    _fit_fgsm(*_data(200, 5, "gaussian"), 0.01, "gaussian")
    _fit_fgsm(*_data(3000, 50, "bernoulli"), 0.01, "bernoulli")  # large-design kernel path

    # 1. vs cvxpy + Clarabel, logistic n=2000, p=20 and linear n=2000/20000, p=20/50
    for family, n, p, eps in [("bernoulli", 2000, 20, 0.01), ("gaussian", 2000, 20, 0.01),
                              ("gaussian", 20000, 50, 0.005)]:
        X, y = _data(n, p, family)
        t_us, res = _timeit(lambda: _fit_fgsm(X, y, eps, family), repeat=7)
        t_cvx, b = _timeit(lambda: _cvx(X, y, eps, family), repeat=1 if n > 5000 else 2)
        rows.append(dict(case=f"FGSM-L1 {family}, n={n}, p={p}", ours=t_us, ref=t_cvx,
                         reference="cvxpy+Clarabel", passes=res.n_passes,
                         diff=float(np.abs(res.coef - b).max())))
        say(f"FGSM-L1 {family:9s} n={n:6d} p={p:3d}: ours {t_us * 1e3:8.2f} ms "
              f"({res.n_iter} Newton it., {res.n_passes:.1f} passes over X), "
              f"cvxpy+Clarabel {t_cvx * 1e3:9.1f} ms, speed-up x{t_cvx / t_us:7.0f}, "
              f"max|diff| {np.abs(res.coef - b).max():.1e}", flush=True)

    # 2. vs liblinear L1 logistic at n=100000, p=100, same optimality residual
    from sklearn.linear_model import LogisticRegression
    from companion.solver import _fit_penalized
    X, y = _data(100000, 100, "bernoulli")
    n = X.shape[0]
    alpha = 20.0
    for tol in (1e-4, 1e-6):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_ll, m = _timeit(lambda: LogisticRegression(l1_ratio=1.0, C=1 / alpha,
                                                         solver="liblinear", tol=tol,
                                                         random_state=0).fit(X, y),
                              repeat=3)
        r_ll = _liblinear_residual(X, y, m.coef_[0], m.intercept_[0], alpha)
        t_us, res = _timeit(lambda: _fit_fgsm(X, y, alpha / n, "bernoulli", tol=r_ll), repeat=3)
        t_tw, rtw = _timeit(lambda: _fit_penalized(X, y, alpha, "bernoulli", tol=r_ll), repeat=3)
        rows.append(dict(case=f"FGSM-L1 logistic, n=100000, p=100, liblinear tol={tol:g}",
                         ours=t_us, ref=t_ll, reference="liblinear (L1 twin)",
                         passes=res.n_passes, diff=np.nan))
        rows.append(dict(case=f"L1 twin logistic, n=100000, p=100, liblinear tol={tol:g}",
                         ours=t_tw, ref=t_ll, reference="liblinear (L1 twin)",
                         passes=rtw.n_passes, diff=np.nan))
        say(f"n=100000 p=100 liblinear tol={tol:g} (its residual {r_ll:.1e}): liblinear L1 "
              f"{t_ll:6.3f} s | FGSM-L1 {t_us:6.3f} s (residual {res.optimality_residual:.1e}, "
              f"{res.n_iter} it., {res.n_passes:.1f} passes) | L1 twin {t_tw:6.3f} s (residual "
              f"{rtw.optimality_residual:.1e}, {rtw.n_passes:.1f} passes) -> liblinear/FGSM "
              f"x{t_ll / t_us:5.2f}, liblinear/twin x{t_ll / t_tw:5.2f}", flush=True)

    # 3. Monte Carlo: 1000 FGSM-L1 logistic fits at n=2000, p=20 (best of 3 runs)
    data = [_data(2000, 20, "bernoulli", seed=s) for s in range(20)]

    def mc():
        rng = np.random.default_rng(1)
        return [_fit_fgsm(X, y, 0.01 + 0.001 * rng.random(), "bernoulli").n_passes
                for X, y in (data[k % 20] for k in range(1000))]

    dt, passes = _timeit(mc, repeat=3)
    rows.append(dict(case="1000 FGSM-L1 logistic fits, n=2000, p=20", ours=dt, ref=np.nan,
                     reference="target 1 s", passes=float(np.mean(passes)), diff=np.nan))
    say(f"1000 FGSM-L1 logistic fits n=2000 p=20: {dt:.2f} s ({dt:.2f} ms/fit), "
          f"mean passes over X per fit {np.mean(passes):.1f} (target: < 1 s)")

    # the same loop through the public estimator, with and without scikit-learn's input validation
    from companion import GeneralizedFGSM

    def mc_est(check_input):
        rng = np.random.default_rng(1)
        return [GeneralizedFGSM(family="bernoulli", eps=0.01 + 0.001 * rng.random())
                .fit(X, y, check_input=check_input).n_passes_
                for X, y in (data[k % 20] for k in range(1000))]

    dv, _ = _timeit(lambda: mc_est(True), repeat=3)
    dn, _ = _timeit(lambda: mc_est(False), repeat=3)
    rows.append(dict(case="same loop through GeneralizedFGSM.fit(check_input=False)", ours=dn,
                     ref=dv, reference="same, with input validation", passes=np.nan, diff=np.nan))
    say(f"same loop through GeneralizedFGSM.fit: {dv:.2f} s with input validation, {dn:.2f} s with "
          f"check_input=False (what the Monte Carlo chapters use); validation share "
          f"{(dv - dn) / dv:.0%}")
    return rows


if __name__ == "__main__":
    main()
