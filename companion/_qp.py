r"""Small batched solvers for the limit objectives of :mod:`companion.asymptotics`.

All solvers minimize, for every row ``h`` of ``H`` (a batch of draws),

.. math:: \tfrac12 u'Su - h'u + \textstyle\sum_j t_j\,\rho(u_j),

with ``S`` symmetric positive definite (small: ``d`` up to ~20), ``t_j >= 0`` and
:math:`\rho(u) = |u|` (:func:`lasso_qp`) or :math:`|u|^r`, ``0 < r < 1`` (:func:`bridge_min`).
Coordinates with ``t_j = 0`` are eliminated exactly through the Schur complement; the remaining
penalized block is solved by vectorized coordinate descent.  The Lasso solutions are then
*polished*: the sign pattern found by coordinate descent is used to solve the KKT linear system
exactly, the KKT conditions are checked, and rows that fail go back to coordinate descent.
"""
from __future__ import annotations

import itertools

import numpy as np

__all__ = ["lasso_qp", "lasso_kkt_violation", "bridge_min", "bridge_objective", "bridge_1d"]


def _split(S, H, t):
    S = np.asarray(S, float)
    H = np.atleast_2d(np.asarray(H, float))
    t = np.broadcast_to(np.asarray(t, float), (S.shape[0],)).copy()
    if np.any(t < 0):
        raise ValueError("penalty weights t must be >= 0")
    P = np.flatnonzero(t > 0)
    F = np.flatnonzero(t == 0)
    return S, H, t, P, F


def _reduce(S, H, P, F):
    """Schur complement: minimizing over u_F gives a problem in u_P alone."""
    if F.size == 0:
        return S[np.ix_(P, P)], H[:, P], None
    SFF = S[np.ix_(F, F)]
    SFP = S[np.ix_(F, P)]
    A = np.linalg.solve(SFF, SFP)                     # S_FF^-1 S_FP
    Sred = S[np.ix_(P, P)] - SFP.T @ A
    Sred = 0.5 * (Sred + Sred.T)
    HF = np.linalg.solve(SFF, H[:, F].T).T            # S_FF^-1 h_F per row
    Hred = H[:, P] - HF @ SFP
    return Sred, Hred, (A, HF)


def _expand(d, m, P, F, UP, aux):
    U = np.zeros((m, d))
    U[:, P] = UP
    if F.size:
        A, HF = aux
        U[:, F] = HF - UP @ A.T
    return U


def _soft(z, t):
    return np.sign(z) * np.maximum(np.abs(z) - t, 0.0)


def _cd_lasso(S, H, t, U, sweeps, tol):
    """Vectorized cyclic coordinate descent; returns U and the max last-sweep change per row."""
    d = S.shape[0]
    G = H - U @ S            # h - S u  (negative gradient), kept up to date
    diag = np.diag(S).copy()
    change = np.full(U.shape[0], np.inf)
    for _ in range(sweeps):
        change[:] = 0.0
        for j in range(d):
            old = U[:, j].copy()
            z = G[:, j] + diag[j] * old
            new = _soft(z, t[j]) / diag[j]
            delta = new - old
            if np.any(delta):
                U[:, j] = new
                G -= np.outer(delta, S[j])
                np.maximum(change, np.abs(delta), out=change)
        if change.max() <= tol:
            break
    return U, change


def _polish(S, H, t, U, tol=1e-12):
    """Exact solve on each row's sign pattern; returns (U_exact, ok mask)."""
    m, d = U.shape
    signs = np.sign(U).astype(np.int8)
    ok = np.zeros(m, bool)
    out = U.copy()
    pats, inv = np.unique(signs, axis=0, return_inverse=True)
    inv = np.asarray(inv).reshape(-1)
    for k, s in enumerate(pats):
        rows = np.flatnonzero(inv == k)
        A = np.flatnonzero(s != 0)
        Z = np.flatnonzero(s == 0)
        Hr = H[rows]
        uA = np.zeros((rows.size, 0))
        if A.size:
            rhs = Hr[:, A] - t[A] * s[A]
            uA = np.linalg.solve(S[np.ix_(A, A)], rhs.T).T
        good = np.all(np.sign(uA) == s[A], axis=1) if A.size else np.ones(rows.size, bool)
        if Z.size:
            gZ = Hr[:, Z] - uA @ S[np.ix_(Z, A)].T if A.size else Hr[:, Z]
            scale = 1.0 + np.abs(Hr).max(axis=1, keepdims=True)
            good &= np.all(np.abs(gZ) <= t[Z] + tol * scale, axis=1)
        full = np.zeros((rows.size, d))
        full[:, A] = uA
        out[rows[good]] = full[good]
        ok[rows[good]] = True
    return out, ok


def lasso_qp(S, H, t, *, tol: float = 1e-12, max_sweeps: int = 20000, return_info: bool = False):
    r"""Batched exact solution of :math:`\min_u \tfrac12 u'Su - h'u + \sum_j t_j|u_j|` for each row
    ``h`` of ``H`` (shape ``(m, d)``); returns ``U`` of shape ``(m, d)`` with exact zeros.

    Coordinate descent identifies the sign pattern, an exact linear solve on that pattern gives the
    solution to machine precision, and the KKT conditions are verified (rows failing them are
    iterated further).  ``return_info=True`` also returns ``{"polished": fraction of rows solved
    exactly, "sweeps": ...}``.
    """
    S, H, t, P, F = _split(S, H, t)
    m, d = H.shape
    if P.size == 0:
        U = np.linalg.solve(S, H.T).T
        return (U, {"polished": 1.0}) if return_info else U
    Sred, Hred, aux = _reduce(S, H, P, F)
    tP = t[P]
    UP = np.zeros((m, P.size))
    todo = np.arange(m)
    sweeps = 50
    done_sweeps = 0
    ok_all = np.zeros(m, bool)
    while todo.size and done_sweeps < max_sweeps:
        Ut, _ = _cd_lasso(Sred, Hred[todo], tP, UP[todo], sweeps, tol)
        done_sweeps += sweeps
        Up, ok = _polish(Sred, Hred[todo], tP, Ut)
        UP[todo] = np.where(ok[:, None], Up, Ut)
        ok_all[todo[ok]] = True
        todo = todo[~ok]
        sweeps *= 2
    U = _expand(d, m, P, F, UP, aux)
    if return_info:
        return U, {"polished": float(ok_all.mean()), "sweeps": done_sweeps}
    return U


def lasso_kkt_violation(S, H, t, U) -> np.ndarray:
    r"""Per-row max violation of the KKT conditions of ``lasso_qp``'s problem:
    :math:`|g_j + t_j\,\mathrm{sign}(u_j)|` on nonzero coordinates and
    :math:`(|g_j| - t_j)_+` on zero coordinates, with :math:`g = Su - h`."""
    S = np.asarray(S, float)
    H = np.atleast_2d(np.asarray(H, float))
    U = np.atleast_2d(np.asarray(U, float))
    t = np.broadcast_to(np.asarray(t, float), (S.shape[0],))
    G = U @ S - H
    nz = U != 0
    v_nz = np.where(nz, np.abs(G + t * np.sign(U)), 0.0)
    v_z = np.where(~nz, np.maximum(np.abs(G) - t, 0.0), 0.0)
    return np.maximum(v_nz, v_z).max(axis=1)


# --------------------------------------------------------------------------- bridge (0<r<1)
def bridge_objective(S, H, t, r, U) -> np.ndarray:
    S = np.asarray(S, float)
    H = np.atleast_2d(np.asarray(H, float))
    t = np.broadcast_to(np.asarray(t, float), (S.shape[0],))
    return 0.5 * np.einsum("ij,jk,ik->i", U, S, U) - np.sum(H * U, axis=1) + np.sum(t * np.abs(U) ** r, axis=1)


def bridge_1d(a, g, c, r, *, rule: str = "global", current=None):
    r"""Minimizer of :math:`q(v) = a v^2/2 - g v + c|v|^r` (``a > 0``, ``c >= 0``, ``0<r<1``),
    vectorized over ``g`` (and ``c``).

    The nonzero candidate has the sign of ``g``; on that side :math:`q'` is convex, decreasing then
    increasing, with minimum at :math:`v_* = (c r(1-r)/a)^{1/(2-r)}`; if :math:`q'(v_*) < 0` the
    larger root :math:`v_2` (Newton from the right: monotone convergence) is a local minimum.

    ``rule="global"``: :math:`v_2` if it exists and :math:`q(v_2) < q(0) = 0`, else 0.
    ``rule="local"``: the point reached by descent from ``current`` (same sign as ``g`` and beyond
    the local maximum :math:`v_1`: :math:`v_2`; otherwise 0; ``current=None`` means the
    unpenalized point ``g/a``).
    """
    g = np.asarray(g, float)
    c = np.broadcast_to(np.asarray(c, float), g.shape)
    x = np.abs(g)
    sgn = np.sign(g)
    if np.all(c == 0):
        return g / a
    vstar = (c * r * (1.0 - r) / a) ** (1.0 / (2.0 - r))
    with np.errstate(divide="ignore", invalid="ignore"):
        dq_star = a * vstar - x + c * r * vstar ** (r - 1.0)
    exists = (dq_star < 0) & (x > 0)
    v = np.where(exists, x / a, 1.0)
    for _ in range(200):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            f1 = a * v - x + c * r * v ** (r - 1.0)
            f2 = a + c * r * (r - 1.0) * v ** (r - 2.0)
            step = np.where(exists, f1 / f2, 0.0)
        v_new = np.maximum(v - step, vstar)
        if np.all(np.abs(v_new - v) <= 1e-15 * np.maximum(1.0, v)):
            v = v_new
            break
        v = v_new
    if rule == "global":
        qv = 0.5 * a * v * v - x * v + c * v ** r
        keep = exists & (qv < 0.0)
    elif rule == "local":
        cur = g / a if current is None else np.asarray(current, float)
        same = np.sign(cur) == sgn
        cabs = np.abs(cur)
        with np.errstate(divide="ignore", invalid="ignore"):
            dq_cur = a * cabs - x + c * r * cabs ** (r - 1.0)
        keep = exists & same & (cabs > 0) & ((cabs >= vstar) | (dq_cur < 0))
    else:
        raise ValueError(f"rule must be 'global' or 'local', got {rule!r}")
    return np.where(keep, sgn * v, 0.0)


def _cd_bridge(S, H, t, r, U, support, rule, tol, max_sweeps):
    d = S.shape[0]
    diag = np.diag(S)
    for _ in range(max_sweeps):
        change = 0.0
        for j in range(d):
            if not support[j]:
                continue
            g = H[:, j] - U @ S[j] + diag[j] * U[:, j]
            new = bridge_1d(diag[j], g, t[j], r, rule=rule, current=U[:, j])
            change = max(change, float(np.max(np.abs(new - U[:, j]), initial=0.0)))
            U[:, j] = new
        if change <= tol:
            break
    return U


def bridge_min(S, H, t, r, *, rule: str = "global", start=None, tol: float = 1e-12,
               max_sweeps: int = 2000, max_enumerate: int = 12):
    r"""Batched minimization of :math:`\tfrac12 u'Su - h'u + \sum_j t_j|u_j|^r`, ``0 < r < 1``.

    ``rule="global"`` (Theorem C's argmin): for every subset ``A`` of the penalized coordinates
    (``2^|P|`` subsets, ``|P| <= max_enumerate``) coordinate descent with exact 1-d global
    thresholding is run on ``A`` (others fixed at 0) from the unpenalized solution on ``A``; the
    candidate with the smallest objective is returned.  Each candidate is a feasible point, so the
    result is never worse than any of them; the enumeration makes the global minimizer the
    candidate of its own support.  With diagonal ``S`` the problem separates and the answer is
    exact.

    ``rule="local"``: coordinate descent in which each 1-d step goes to the local minimizer reached
    by descent from the current value, started from ``start`` (rows of starting points, e.g. the
    Lasso/``r=1`` solution) or, by default, from the unpenalized solution ``S^{-1}h``.
    """
    S, H, t, P, F = _split(S, H, t)
    if not 0.0 < r < 1.0:
        raise ValueError(f"bridge_min needs 0 < r < 1, got {r}")
    m, d = H.shape
    if P.size == 0:
        return np.linalg.solve(S, H.T).T
    Sred, Hred, aux = _reduce(S, H, P, F)
    tP = t[P]
    k = P.size
    if rule == "local":
        if start is None:
            U0 = np.linalg.solve(Sred, Hred.T).T
        else:
            U0 = np.atleast_2d(np.asarray(start, float))[:, P].copy()
        UP = _cd_bridge(Sred, Hred, tP, r, U0, np.ones(k, bool), "local", tol, max_sweeps)
        return _expand(d, m, P, F, UP, aux)
    if rule != "global":
        raise ValueError(f"rule must be 'global' or 'local', got {rule!r}")
    if k > max_enumerate:
        raise ValueError(f"{k} penalized coordinates: global enumeration limited to {max_enumerate}")
    best = np.zeros((m, k))
    best_val = np.zeros(m)        # objective at u_P = 0
    for size in range(1, k + 1):
        for A in itertools.combinations(range(k), size):
            A = np.array(A)
            support = np.zeros(k, bool)
            support[A] = True
            U0 = np.zeros((m, k))
            U0[:, A] = np.linalg.solve(Sred[np.ix_(A, A)], Hred[:, A].T).T
            U = _cd_bridge(Sred, Hred, tP, r, U0, support, "global", tol, max_sweeps)
            val = bridge_objective(Sred, Hred, tP, r, U)
            better = val < best_val
            best[better] = U[better]
            best_val[better] = val[better]
    return _expand(d, m, P, F, best, aux)
