"""Side-by-side timings of the FGSM / penalized-GLM solver against reference solvers.

Run: ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_estimators.py``
(single-threaded BLAS: "one core").  Prints ratios measured in the same run; nothing here is a
test (no wall-clock limits in the test suite).
"""
import time
import warnings

import numpy as np

from companion.solver import _fit_fgsm


def _timeit(fn, repeat=3):
    best = np.inf
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
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


def main():
    _fit_fgsm(*_data(200, 5, "bernoulli"), 0.01, "bernoulli")  # JIT warm-up
    _fit_fgsm(*_data(200, 5, "gaussian"), 0.01, "gaussian")

    # 1. vs cvxpy + Clarabel, logistic n=2000, p=20 and linear n=20000, p=50
    for family, n, p, eps in [("bernoulli", 2000, 20, 0.01), ("gaussian", 2000, 20, 0.01),
                              ("gaussian", 20000, 50, 0.005)]:
        X, y = _data(n, p, family)
        t_us, res = _timeit(lambda: _fit_fgsm(X, y, eps, family))
        t_cvx, b = _timeit(lambda: _cvx(X, y, eps, family), repeat=1)
        print(f"FGSM-L1 {family:9s} n={n:6d} p={p:3d}: ours {t_us * 1e3:8.2f} ms "
              f"({res.n_iter} Newton it., {res.n_passes:.0f} passes over X), "
              f"cvxpy+Clarabel {t_cvx * 1e3:9.1f} ms, speed-up x{t_cvx / t_us:7.0f}, "
              f"max|diff| {np.abs(res.coef - b).max():.1e}")

    # 2. vs liblinear L1 logistic at n=100000, p=100 (matching tolerance)
    from sklearn.linear_model import LogisticRegression
    X, y = _data(100000, 100, "bernoulli")
    n = X.shape[0]
    alpha = 20.0
    from companion.solver import _fit_penalized
    for tol in (1e-4, 1e-6):
        t_us, res = _timeit(lambda: _fit_fgsm(X, y, alpha / n, "bernoulli", tol=tol), repeat=2)
        t_tw, rtw = _timeit(lambda: _fit_penalized(X, y, alpha, "bernoulli", tol=tol), repeat=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_ll, _ = _timeit(lambda: LogisticRegression(l1_ratio=1.0, C=1 / alpha,
                                                         solver="liblinear", tol=tol).fit(X, y),
                              repeat=2)
        print(f"n=100000 p=100 tol={tol:g}: FGSM-L1 {t_us:6.3f} s ({res.n_passes:.0f} passes), "
              f"L1 twin {t_tw:6.3f} s, liblinear L1 {t_ll:6.3f} s -> liblinear/FGSM "
              f"x{t_ll / t_us:5.2f}, liblinear/twin x{t_ll / t_tw:5.2f}")

    # 3. Monte Carlo: 1000 FGSM-L1 logistic fits at n=2000, p=20
    rng = np.random.default_rng(1)
    data = [_data(2000, 20, "bernoulli", seed=s) for s in range(20)]
    t = time.perf_counter()
    passes = []
    for k in range(1000):
        X, y = data[k % 20]
        passes.append(_fit_fgsm(X, y, 0.01 + 0.001 * rng.random(), "bernoulli").n_passes)
    dt = time.perf_counter() - t
    print(f"1000 FGSM-L1 logistic fits n=2000 p=20: {dt:.2f} s ({dt:.2f} ms/fit), "
          f"mean passes over X per fit {np.mean(passes):.1f}")


if __name__ == "__main__":
    main()
