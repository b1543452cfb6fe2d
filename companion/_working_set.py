r"""Working sets for L1-type problems: cost that scales with the support, not with ``p``.

For an L1-type margin shift :math:`T = \sum_j w_j|\beta_j| + c` a coefficient at zero is optimal
iff :math:`|X_j'a| \le K w_j`, where :math:`a` holds the derivative of every loss term in its
linear predictor and :math:`K = \partial F/\partial T` is one scalar (the FGSM margin shift couples
the features only through it; for the twin :math:`K = \alpha`).  So the problem restricted to a
set :math:`W` of features, solved exactly by the dense engine, is the full solution as soon as
every feature outside :math:`W` passes that test -- one product :math:`X'a` (one pass over
``X``, dense or sparse).  Otherwise the worst violators join :math:`W` (at most doubling it) and
the restricted problem is solved again from the current point.

``X`` may be a scipy.sparse matrix: only the columns in :math:`W` are ever made dense.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: initial number of features taken from the ranking by violation
WS_START = 10
#: outer iterations (each: one restricted solve and one pass over X)
WS_MAX_OUTER = 60


def _columns(X, idx):
    """Dense C-contiguous copy of the columns ``idx`` of ``X`` (dense or CSC)."""
    if sp.issparse(X):
        return np.ascontiguousarray(X[:, idx].toarray())
    return np.ascontiguousarray(X[:, idx])


def _gradient(X, a):
    """``X'a`` (one pass over X)."""
    return np.asarray(X.T @ a).ravel()


def solve_working_set(X, y, family, mode, eps, alpha, fit_intercept, w, c, b0, beta, tol,
                      max_iter):
    """Solve the L1-type problem (weights ``w``, ``inf`` = coefficient fixed at 0, offset ``c``)
    on growing working sets.  Returns ``b0, beta, n_iter, converged, residual, objective,
    passes`` (passes over the full ``X``; the restricted solves count the fraction of the
    columns they read)."""
    from .solver import _dual_parts, _make_problem, _solve_convex

    if sp.issparse(X) and X.format != "csc":
        X = X.tocsc()
    n, p = X.shape
    free = np.isfinite(w)
    beta = np.where(free, beta, 0.0)
    passes = 0.0

    # the Bernoulli L1 kernel works on sparse columns directly; the other families' restricted
    # problems are dense
    keep_sparse = sp.issparse(X) and family == "bernoulli"

    def restricted(W):
        XW = X[:, W] if keep_sparse else _columns(X, W)
        return _make_problem(XW, y, family, mode, eps, alpha, fit_intercept, w=w[W], c=c)

    def violation(a, K):
        g = _gradient(X, a)
        v = np.abs(g) - K * np.where(free, w, np.inf)
        v[~free] = -np.inf
        return v

    # initial set: the warm start's support and the features ranked by their violation there
    W = np.flatnonzero(beta != 0)
    if W.size:
        pb = restricted(W)
        a, K = _dual_parts(pb, b0, beta[W])
        passes += pb.passes * W.size / p
    else:
        from .families import get_family
        mu0 = np.full(n, y.mean()) if fit_intercept else get_family(family).mean(np.zeros(n))
        a = mu0 - y
        K = eps * np.abs(a).sum() if mode == "fgsm" else alpha
    v = violation(a, K)
    passes += 1
    v[W] = -np.inf
    cand = np.flatnonzero(v > 0)
    if cand.size == 0 and W.size == 0:
        cand = np.flatnonzero(free)  # nothing violates at the start: check by a real solve
    add = cand[np.argsort(-v[cand], kind="stable")[:WS_START]]
    W = np.union1d(W, add)
    n_iter = 0
    conv = False
    kkt = np.inf
    obj = None
    for _ in range(WS_MAX_OUTER):
        pb = restricted(W)
        obj, W_obj = pb, W
        b0, bW, k, conv_in, kkt_in = _solve_convex(pb, b0, beta[W], tol, max_iter)
        n_iter += k
        beta = np.zeros(p)
        beta[W] = bW
        a, K = _dual_parts(pb, b0, bW)
        v = violation(a, K)
        passes += pb.passes * W.size / p + 1
        v[W] = -np.inf
        kkt = max(kkt_in, max(float(v.max(initial=-np.inf)), 0.0) / n)
        if conv_in and kkt <= tol:
            conv = True
            break
        cand = np.flatnonzero(v > tol * n)
        if cand.size == 0:
            break
        add = cand[np.argsort(-v[cand], kind="stable")[:max(WS_START, 2 * W.size)]]
        W = np.union1d(W, add)
    value = obj.objective(b0, beta[W_obj], 0.0)
    return b0, beta, n_iter, conv, kkt, value, passes
