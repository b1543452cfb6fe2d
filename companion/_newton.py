r"""Newton solvers of :mod:`companion.solver`: one damped Newton template (:func:`_newton`) with
one Armijo line search, and the steps it takes for an L1-type margin shift (split variables, box
QP), the smooth bridge ``r >= 2`` and ``1 < r < 2`` (power coordinates); the Bernoulli L1 problems
run the whole loop in a numba kernel (dense: :mod:`companion._solver_kernels`, sparse:
:mod:`companion._sparse_newton`)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._solver_kernels import _assemble_split, _bern_l1_newton, _cd_box_qp
from ._sparse_newton import bern_l1_cd_newton


# ----------------------------------------------------------------------------------------------
# Newton solvers
# ----------------------------------------------------------------------------------------------
#: reuse the previous Hessian after a full step that cut the optimality residual by this factor
_LAG_RATIO = 0.01
#: the first _SUB_ITERS Newton iterations of large problems use a Hessian from every
#: stride-th observation, stride <= _SUB_STRIDE such that >= _SUB_MIN_ROWS * p rows remain
_SUB_ITERS = 2
_SUB_STRIDE = 4
_SUB_MIN_ROWS = 50
#: designs with n * p up to this use the cache-resident transposed-design kernels
_SMALL_NP = 1 << 17
#: coordinate-descent sweeps per Newton step on a sparse design
_CD_SWEEPS = 500


def _bern_newton(pb, b0, beta, tol, max_iter, it0=0):
    """Bernoulli datafit (FGSM or twin) with L1-type T: the whole loop in one numba kernel
    (a sparse X: coordinate descent on its columns, :mod:`companion._sparse_newton`)."""
    X = pb.X
    if sp.issparse(X):
        X = X.tocsc()
        b0, beta, k, kkt, val, passes = bern_l1_cd_newton(
            X.indptr, X.indices, np.asarray(X.data, dtype=np.float64),
            np.asarray(pb.ytil, dtype=np.float64), np.asarray(pb.w, dtype=np.float64),
            float(pb.c), float(pb.eps), float(pb.alpha), float(b0),
            np.asarray(beta, dtype=np.float64), bool(pb.fit_intercept), float(tol), int(max_iter),
            int(it0), _CD_SWEEPS)
        pb.passes += passes
        pb.last = (b0, beta, val)
        return b0, beta, k, kkt, val
    if not (X.flags.c_contiguous and X.dtype == np.float64):
        X = np.ascontiguousarray(X, dtype=np.float64)
    small = pb.n * pb.p <= _SMALL_NP
    XT = np.empty((0, 0))
    stride = 1
    if not small:
        stride = max(1, min(_SUB_STRIDE, pb.n // (_SUB_MIN_ROWS * max(pb.p, 1))))
    b0, beta, k, kkt, val, passes, _ = _bern_l1_newton(
        X, XT, small, np.asarray(pb.ytil, dtype=np.float64), np.asarray(pb.w, dtype=np.float64),
        float(pb.c), float(pb.eps), float(pb.alpha), float(b0), np.asarray(beta, dtype=np.float64),
        bool(pb.fit_intercept), float(tol), int(max_iter), int(it0), _LAG_RATIO, stride,
        _SUB_ITERS)
    pb.passes += passes
    pb.last = (b0, beta, val)
    return b0, beta, k, kkt, val


def _newton(pb, b0, beta, mu, tol, max_iter, it0, direction):
    r"""The damped Newton template shared by the smooth(ed) problems: derivatives in
    :math:`(\theta, T)` (:meth:`_Problem.derivs`), the optimality residual, a step from
    ``direction`` and one Armijo backtracking search on the true objective.

    ``direction(b0, beta, gz, GT, Hzz, hzT, hTT)`` returns None (no descent direction: stationary
    up to round-off) or ``(dec, point)``: the directional derivative and the map
    ``t -> (b0, beta)`` along the step.  Returns b0, beta, iterations, kkt, value."""
    k = it0
    kkt = np.inf
    val = None
    while True:
        val, gz, GT, Hzz, hzT, hTT = pb.derivs(b0, beta, mu)
        kkt = pb.smooth_kkt(beta, gz, GT)
        if kkt <= tol or k >= max_iter:
            break
        k += 1
        step = direction(b0, beta, gz, GT, Hzz, hzT, hTT)
        if step is None:
            break
        dec, point = step
        t = 1.0
        accepted = False
        for _ in range(60):
            b0n, betan = point(t)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                vn = pb.objective(b0n, betan, mu)
            if vn <= val + 1e-4 * t * dec or (vn <= val and t < 1e-8):
                accepted = True
                break
            if t == 1.0 and vn - val <= 1e-13 * (1.0 + abs(val)):
                accepted = True  # decrease below round-off of the objective: trust the model
                break
            t *= 0.5
        if not accepted:
            break
        stalled = val - vn <= 1e-16 * abs(val) and t < 1e-6
        b0, beta = b0n, betan
        if stalled:
            break
    return b0, beta, k, kkt, val


def _split_direction(pb):
    r"""L1-type ``T``: the Newton model in the split variables :math:`(b_0, u, v)`,
    :math:`\beta = u - v`, is a box-constrained QP, solved by coordinate descent."""
    p, fi, w = pb.p, pb.fit_intercept, pb.w
    off = 1 if fi else 0
    m = off + 2 * p

    def direction(b0, beta, gz, GT, Hzz, hzT, hTT):
        g, H = _assemble_split(gz, GT, Hzz, hzT, hTT, w, fi)
        x = np.empty(m)
        lb = np.zeros(m)
        x[off:off + p] = np.maximum(beta, 0.0)
        x[off + p:] = np.maximum(-beta, 0.0)
        if fi:
            x[0] = b0
            lb[0] = -np.inf
        # tiny ridge keeps CD well defined when a column is constant/zero
        diag = np.diag(H).copy()
        H[np.diag_indices(m)] = diag + 1e-12 * (1.0 + np.abs(diag).max())
        d, _ = _cd_box_qp(H, g, x, lb, 1e-13 * (1.0 + np.sqrt(np.abs(diag).max())), 2000)
        dec = float(g @ d)
        if dec >= 0:
            return None

        def point(t):
            xn = x + t * d
            return (xn[0] if fi else 0.0), xn[off:off + p] - xn[off + p:]
        return dec, point
    return direction


def _split_newton(pb, b0, beta, mu, tol, max_iter, it0=0):
    """Proximal Newton in split variables for L1-type T.  Returns b0, beta, iterations, kkt."""
    if pb.family == "bernoulli" and pb.kind != "max":
        return _bern_newton(pb, b0, beta, tol, max_iter, it0)
    return _newton(pb, b0, beta, mu, tol, max_iter, it0, _split_direction(pb))


def _from_power(u, r):
    r"""Coefficients from their power coordinates :math:`u = \mathrm{sign}(\beta)|\beta|^{r-1}`
    (``1 < r < 2``): :math:`\beta = \mathrm{sign}(u)|u|^{1/(r-1)}`."""
    with np.errstate(under="ignore"):
        return np.sign(u) * np.abs(u) ** (1.0 / (r - 1.0))


def _bridge_direction(pb):
    r"""Smooth bridge ``T`` with ``r >= 2``: the Newton step in :math:`(b_0, \beta)` (a gradient
    step if the Hessian is not positive definite along it)."""
    r, fi = pb.r, pb.fit_intercept
    off = 1 if fi else 0

    def direction(b0, beta, gz, GT, Hzz, hzT, hTT):
        a = np.abs(beta)
        tg = np.zeros_like(gz)
        tg[off:] = r * np.sign(beta) * a ** (r - 1.0)
        floor = 1e-8 * (1.0 + a.max(initial=0.0))
        th = np.zeros_like(gz)
        th[off:] = r * (r - 1.0) * np.maximum(a, floor) ** (r - 2.0)
        g = gz + GT * tg
        H = Hzz + np.outer(hzT, tg) + np.outer(tg, hzT) + hTT * np.outer(tg, tg) + np.diag(GT * th)
        H[np.diag_indices_from(H)] += 1e-12 * (1.0 + np.abs(np.diag(H)).max())
        try:
            d = -np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            d = -np.linalg.lstsq(H, g, rcond=None)[0]
        dec = float(g @ d)
        if dec >= 0:
            d = -g
            dec = float(g @ d)
        z = np.concatenate(([b0], beta)) if fi else beta.copy()

        def point(t):
            zn = z + t * d
            return (zn[0] if fi else 0.0), zn[off:]
        return dec, point
    return direction


def _power_direction(pb, beta):
    r"""Smooth bridge ``T`` with ``1 < r < 2``.  A coefficient moves in power coordinates
    :math:`u_j = \mathrm{sign}(\beta_j)|\beta_j|^{r-1}` when the penalty curvature
    :math:`K r(r-1)|\beta_j|^{r-2}` is at least the rest of its Hessian diagonal (near 0, where
    the curvature is unbounded), else along the straight line in :math:`\beta_j` (far from 0 the
    curve :math:`|u|^{1/(r-1)}` would overshoot for ``r`` near 1).  The step solves
    :math:`J\,d = -g` with :math:`J = H\,\mathrm{diag}(d\beta/du)`, in which the unbounded
    curvature times :math:`d\beta_j/du_j` is the constant :math:`K r`; the two parametrisations
    agree to first order, so the step is the Newton step in :math:`\beta`, and the stationarity
    of a coefficient near 0, :math:`g_j + K r u_j = 0`, is linear in :math:`u_j` (tiny optimal
    coefficients converge quadratically instead of linearly).  The power coordinates of the
    accepted point are kept between steps (exact even where ``beta`` underflows)."""
    r, fi, p = pb.r, pb.fit_intercept, pb.p
    off = 1 if fi else 0
    cols = np.arange(off, off + p)
    state = {"u": np.sign(beta) * np.abs(beta) ** (r - 1.0)}

    def direction(b0, beta, gz, GT, Hzz, hzT, hTT):
        u = state["u"]
        a = np.abs(beta)
        tg = np.zeros_like(gz)
        tg[off:] = r * u
        g = gz + GT * tg
        H = Hzz + np.outer(hzT, tg) + np.outer(tg, hzT) + hTT * np.outer(tg, tg)
        with np.errstate(divide="ignore"):
            pc = GT * r * (r - 1.0) * a ** (r - 2.0)
        pw = pc >= np.diag(H)[off:]
        D = np.ones_like(gz)
        D[off:][pw] = a[pw] ** (2.0 - r) / (r - 1.0)
        J = H * D[None, :]
        J[cols, cols] += np.where(pw, GT * r, pc)
        J[np.diag_indices_from(J)] += 1e-12 * (1.0 + np.abs(np.diag(J)).max())
        try:
            d = -np.linalg.solve(J, g)
        except np.linalg.LinAlgError:
            d = -np.linalg.lstsq(J, g, rcond=None)[0]
        dec = float(g @ (D * d)) if np.all(np.isfinite(d)) else np.inf
        if not dec < 0:
            d = -D * g  # gradient step in the same coordinates
            dec = float(g @ (D * d))
            if not dec < 0:
                return None
        db = d[off:]

        def point(t):
            un = u + t * db
            betan = np.where(pw, _from_power(un, r), beta + t * db)
            state["u"] = np.where(pw, un, np.sign(betan) * np.abs(betan) ** (r - 1.0))
            return (b0 + t * d[0] if fi else 0.0), betan
        return dec, point
    return direction


def _smooth_newton(pb, b0, beta, mu, tol, max_iter, it0=0):
    r"""Newton for the smooth bridge penalty (r > 1): on :math:`(b_0, \beta)` for ``r >= 2``
    (:func:`_bridge_direction`), with power coordinates for the coefficients near 0 for
    ``1 < r < 2`` (:func:`_power_direction`)."""
    direction = _bridge_direction(pb) if pb.r >= 2.0 else _power_direction(pb, beta)
    return _newton(pb, b0, beta, mu, tol, max_iter, it0, direction)
