"""FGSM-L1 in the high-dimensional regime (p >= n, sparse X) against reference solvers.

Run: ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_highdim.py [--quick]``
(single-threaded BLAS).  Prints one row per case with ratios measured in the same run
(best-of-k wall clock); nothing here is a test.

References, all on the same ``X``:

* **twin**: scikit-learn's first-order twin at the *effective L1 weight of the FGSM fit*,
  ``K = dF/dT`` at the FGSM solution (Gaussian: ``K = eps (sum_i |r_i| + n eps T)``, Bernoulli:
  ``K = eps sum_i expit(-y~_i theta_i + eps T)``), i.e. ``Lasso(alpha=K/n)`` and
  ``LogisticRegression(l1_ratio=1, C=1/K, solver="liblinear")``: both end at a support similar to the
  FGSM fit's.  Run at their default tolerances.
* **skglm**: the same twin with skglm (``Quadratic``/``Logistic`` datafit, ``L1`` penalty, working
  sets, its default tolerance).
* **cvxpy+Clarabel**: the identical FGSM problem (only where it finishes in reasonable time);
  ``max|diff|`` is the largest coefficient difference to our fit.

``passes`` is ``FitResult.n_passes`` (products with the full design; a product with a subset of the
columns counts the fraction it reads).
"""
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from companion.paths import eps_max
from companion.solver import _fit_fgsm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_estimators import _cvx, _timeit  # noqa: E402  (same folder; also when loaded by path)


def _data(n, p, family, sparse=False, density=0.005, seed=0):
    rng = np.random.default_rng(seed)
    if sparse:
        X = sp.random(n, p, density=density, format="csr", random_state=rng,
                      data_rvs=rng.standard_normal)
    else:
        X = rng.normal(size=(n, p))
    beta = np.zeros(p)
    k = 10
    beta[:k] = rng.choice([-1.0, 1.0], size=k) * np.linspace(1.0, 0.3, k)
    if sparse:
        beta[:k] *= 1.0 / np.sqrt(density)
    theta = X @ beta
    if family == "gaussian":
        return X, theta + rng.normal(size=n)
    return X, (rng.random(n) < expit(theta)).astype(float)


def _effective_weight(X, y, res, eps, family):
    theta = X @ res.coef + res.intercept
    T = np.abs(res.coef).sum()
    if family == "gaussian":
        return eps * (np.abs(y - theta).sum() + len(y) * eps * T)
    return eps * expit(-(2 * y - 1) * theta + eps * T).sum()


def _twin_sklearn(X, y, K, family):
    n = X.shape[0]
    if family == "gaussian":
        from sklearn.linear_model import Lasso
        Xs = X.tocsc() if sp.issparse(X) else X
        return Lasso(alpha=K / n).fit(Xs, y).coef_
    from sklearn.linear_model import LogisticRegression
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LogisticRegression(l1_ratio=1.0, C=1.0 / K, solver="liblinear",
                                  random_state=0).fit(X, y).coef_[0]


def _twin_skglm(X, y, K, family):
    from skglm import Lasso, SparseLogisticRegression
    n = X.shape[0]
    Xs = X.tocsc() if sp.issparse(X) else X
    if family == "gaussian":
        return Lasso(alpha=K / n, fit_intercept=True).fit(Xs, y).coef_
    return SparseLogisticRegression(alpha=K / n, fit_intercept=True).fit(Xs, y).coef_.ravel()


#: eps as a fraction of eps_max.  Logistic FGSM needs more than the linear model when p >> n: the
#: classes are then separable, and below some eps they are separated *beyond* the margin shift
#: eps * ||coef||_1, where the objective has no minimizer (it falls towards 0 as the coefficients
#: grow; the solver warns, see companion.solver._no_minimizer).  At n = 500, p = 4000 that
#: happens at 0.3 eps_max but not at 0.5.
FRAC = {"gaussian": 0.3, "bernoulli": 0.5}

CASES = [
    # label, n, p, family, sparse, eps fraction of eps_max, run cvxpy
    ("dense", 500, 500, "gaussian", False, FRAC["gaussian"], True),
    ("dense", 500, 500, "bernoulli", False, FRAC["bernoulli"], True),
    ("dense", 1000, 2000, "gaussian", False, FRAC["gaussian"], False),
    ("dense", 1000, 2000, "bernoulli", False, FRAC["bernoulli"], False),
    ("dense", 1000, 20000, "gaussian", False, FRAC["gaussian"], False),
    ("dense", 1000, 20000, "bernoulli", False, FRAC["bernoulli"], False),
    ("CSR 0.5%", 2000, 20000, "gaussian", True, FRAC["gaussian"], False),
    ("CSR 0.5%", 2000, 20000, "bernoulli", True, FRAC["bernoulli"], False),
]


def _warmup():
    """JIT compilation of our kernels and skglm's, outside the timings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fam in ("gaussian", "bernoulli"):
            for sparse in (False, True):
                Xw, yw = _data(100, 300, fam, sparse=sparse, density=0.05)
                _fit_fgsm(Xw, yw, 0.3 * eps_max(Xw, yw, fam), fam)
                _twin_skglm(Xw, yw, 1.0, fam)


def run(cases=CASES, repeat=3, skip=(), quiet=False):
    """Run the cases; returns a list of dict rows (also printed unless ``quiet``)."""
    _warmup()
    rows = []
    for label, n, p, family, sparse, frac, cvx in cases:
        if (n, p, family, sparse) in skip:
            continue
        X, y = _data(n, p, family, sparse=sparse)
        eps = frac * eps_max(X, y, family)
        t_us, res = _timeit(lambda: _fit_fgsm(X, y, eps, family), repeat=repeat)
        K = _effective_weight(X, y, res, eps, family)
        t_sk, c_sk = _timeit(lambda: _twin_sklearn(X, y, K, family), repeat=repeat)
        t_sg, c_sg = _timeit(lambda: _twin_skglm(X, y, K, family), repeat=repeat)
        row = dict(case=label, n=n, p=p, family=family, ours=t_us, twin=t_sk, skglm=t_sg,
                   nnz=int(np.count_nonzero(res.coef)), nnz_twin=int(np.count_nonzero(c_sk)),
                   passes=res.n_passes, converged=res.converged, residual=res.optimality_residual,
                   cvx=np.nan, diff=np.nan)
        if cvx:
            t_cv, b = _timeit(lambda: _cvx(X, y, eps, family), repeat=1)
            row["cvx"], row["diff"] = t_cv, float(np.abs(res.coef - b).max())
        rows.append(row)
        if quiet:
            continue
        print(f"{label:8s} {family:9s} n={n:5d} p={p:6d}: ours {t_us:8.3f} s (nnz {row['nnz']:3d}, "
              f"{res.n_passes:6.1f} passes, converged {res.converged}) | sklearn twin "
              f"{t_sk:7.3f} s (nnz {row['nnz_twin']:3d}) ratio ours/twin {t_us / t_sk:7.2f} | skglm "
              f"{t_sg:7.3f} s ratio {t_us / t_sg:7.2f}"
              + (f" | cvxpy+Clarabel {row['cvx']:7.2f} s speed-up x{row['cvx'] / t_us:6.1f} "
                 f"max|diff| {row['diff']:.1e}" if cvx else ""), flush=True)
    return rows


def sweep(n=1000, ps=(250, 1000, 4000, 16000), families=("gaussian", "bernoulli"), frac=None,
          repeat=3):
    """Time against p at fixed n (dense): ours, the scikit-learn twin and skglm's twin
    (``frac``: eps as a fraction of eps_max, default :data:`FRAC`)."""
    _warmup()
    rows = []
    for family in families:
        for p in ps:
            X, y = _data(n, p, family)
            eps = (frac or FRAC[family]) * eps_max(X, y, family)
            t_us, res = _timeit(lambda: _fit_fgsm(X, y, eps, family), repeat=repeat)
            K = _effective_weight(X, y, res, eps, family)
            t_sk, _ = _timeit(lambda: _twin_sklearn(X, y, K, family), repeat=repeat)
            t_sg, _ = _timeit(lambda: _twin_skglm(X, y, K, family), repeat=repeat)
            rows.append(dict(family=family, n=n, p=p, ours=t_us, twin=t_sk, skglm=t_sg,
                             passes=res.n_passes, converged=res.converged))
    return rows


if __name__ == "__main__":
    skip = ()
    if "--before" in sys.argv:  # the dense engine cannot form a 20000 x 20000 Gram matrix
        skip = ((1000, 20000, "gaussian", False), (1000, 20000, "bernoulli", False),
                (2000, 20000, "gaussian", True), (2000, 20000, "bernoulli", True))
    run(repeat=1 if "--before" in sys.argv else 3, skip=skip)
