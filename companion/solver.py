r"""One solver engine for generalized FGSM training and for its penalized-likelihood twin.

It minimises :math:`F(b_0, \beta) = \sum_i \phi_i(\theta_i, T(\beta)) + \alpha T(\beta)`,
:math:`\theta_i = b_0 + x_i'\beta`, with the margin shift :math:`T = \sum_j w_j|\beta_j| + c`
(L1 type) or :math:`T = \sum_j|\beta_j|^r` (bridge ``r > 1``): the twin (:math:`\phi_i =
\ell(y_i, \theta_i)`), the softplus FGSM (Bernoulli) or the worst-sign FGSM (Gaussian,
Poisson: :math:`\phi_i = \max\{\ell(y_i, \theta_i \pm \varepsilon T)\}`).  Methods: Newton in
split variables with a box QP model, smoothing continuation with an exact face polish for the
worst-sign FGSM, local linear approximation for concave penalties, working sets for many
features or a sparse ``X`` (:mod:`companion._working_set`) and a unit-scale problem for the
stopping rule.  The design is described on the book page *Adding a family or a penalty*
(``book/extending.md``).

``optimality_residual`` is the largest entry of the minimal-norm subgradient divided by ``n``, on
the unit-scale problem (``X`` and, for the Gaussian family, ``y`` divided by the powers of two
nearest to their rms sizes); at kinks of the worst-sign loss the convex weights of the two
branches are chosen by bounded least squares.  For LLA fits it is the residual of the last
weighted-L1 problem.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from numba import njit
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning

from ._gaussian_warm import _face_solve, warm_search
from ._sparse_newton import bern_l1_cd_newton
from ._solver_kernels import _assemble_split, _bern_l1_newton, _bern_pass, _cd_box_qp
from ._working_set import solve_working_set
from .families import get_family
from .penalties import Bridge, get_penalty

#: L1-type problems with more features than this (or a sparse X) are solved on working sets
_WS_MIN_P = 200

__all__ = ["FitResult", "_fit_fgsm", "_fit_penalized", "fgsm_objective", "penalized_objective"]


# ----------------------------------------------------------------------------------------------
# numba kernels
# ----------------------------------------------------------------------------------------------
def _bern_scalars(theta, ytil, epsT, eps):
    """Per-observation quantities of softplus(-ytil*theta + eps*T): value, phi_theta, phi_thetaT,
    D = phi_thetatheta and the sums of phi_T / phi_TT (one fused pass, :func:`_bern_pass`)."""
    F = np.empty((3, theta.shape[0]))
    val, sS, sD = _bern_pass(theta, ytil, epsT, eps, F)
    return val, F[:2].T, F[2], eps * sS, eps * eps * sD


def _bern_derivs(X, ytil, b0, beta, epsT, eps, fit_intercept):
    """Value, gradient in z = (b0, beta), sum phi_T, weighted Gram X1'DX1, X1'phi_thetaT and
    sum phi_TT for the Bernoulli datafit (one matvec, one Gram product)."""
    theta = X @ beta
    theta += b0
    val, f, d, GT, hTT = _bern_scalars(theta, ytil, epsT, eps)
    G2 = X.T @ f
    Hb = (X * d[:, None]).T @ X
    if not fit_intercept:
        return val, G2[:, 0].copy(), GT, Hb, G2[:, 1].copy(), hTT
    p = X.shape[1]
    H = np.empty((p + 1, p + 1))
    H[1:, 1:] = Hb
    H[0, 0] = d.sum()
    v = d @ X
    H[0, 1:] = v
    H[1:, 0] = v
    s2 = f.sum(axis=0)
    gz = np.concatenate(([s2[0]], G2[:, 0]))
    hz = np.concatenate(([s2[1]], G2[:, 1]))
    return val, gz, GT, H, hz, hTT


@njit(cache=True, fastmath=True)
def _bern_value(X, ytil, b0, beta, epsT):
    n, p = X.shape
    val = 0.0
    for i in range(n):
        th = b0
        for j in range(p):
            th += X[i, j] * beta[j]
        m = -ytil[i] * th + epsT
        if m > 0:
            val += m + np.log1p(np.exp(-m))
        else:
            val += np.log1p(np.exp(m))
    return val


# ----------------------------------------------------------------------------------------------
# problem description
# ----------------------------------------------------------------------------------------------
class _Problem:
    """Data of one convex sub-problem (see module docstring)."""

    def __init__(self, X, y, family, kind, eps=0.0, alpha=0.0, w=None, c=0.0, r=None,
                 fit_intercept=True, gram=None):
        self.X = X
        self.y = y
        self.n, self.p = X.shape
        self.family = family          # "gaussian" | "bernoulli" | "poisson"
        self.fam = get_family(family)
        self.kind = kind              # "pen" | "bern" | "max"
        self.eps = float(eps)
        self.alpha = float(alpha)
        self.w = np.ones(self.p) if w is None else w
        self.c = float(c)
        self.r = r                    # None -> L1 type (split); float > 1 -> smooth bridge
        self.fit_intercept = fit_intercept
        self.ytil = 2.0 * y - 1.0 if family == "bernoulli" else None
        self.gram = gram              # Gaussian: X1'X1 (constant part of the Hessian)
        self.passes = 0               # passes over X (matrix products with X)
        self.last = None              # Bernoulli kernels: (b0, beta, objective) of the last iterate
        self._theta_cache = None

    # theta, T -------------------------------------------------------------------------------
    def theta(self, b0, beta):
        # one-entry cache: the line search's accepted trial point is the next derivative point
        # and the polish starts from the last Newton iterate
        c = self._theta_cache
        if c is not None and c[0] == b0 and np.array_equal(c[1], beta):
            return c[2].copy()
        self.passes += 1
        th = self.X @ beta + b0
        self._theta_cache = (b0, np.array(beta, dtype=float), th)
        return th.copy()

    def T(self, beta):
        if self.r is None:
            return float(self.w @ np.abs(beta)) + self.c
        return float(np.sum(np.abs(beta) ** self.r))

    # loss f and derivatives ------------------------------------------------------------------
    def _f(self, t):
        """Loss, first and second derivative of every observation (from the family)."""
        return self.fam.derivatives(self.y, t)

    def phi(self, theta, T, mu, order=2):
        """Sum of phi and its derivatives (arrays over observations)."""
        kind = self.kind
        if kind == "pen":
            f, f1, f2 = self._f(theta)
            val = float(np.sum(f)) + self.alpha * T
            if order == 0:
                return val
            zero = None
            return val, f1, zero, f2, zero, zero
        eps = self.eps
        if kind == "bern":
            m = -self.ytil * theta + eps * T
            val = float(np.sum(np.logaddexp(0.0, m)))
            if order == 0:
                return val
            s = expit(m)
            d = s * (1.0 - s)
            return val, -self.ytil * s, eps * s, d, -eps * self.ytil * d, eps * eps * d
        # max of the two branches, soft-max with parameter mu (mu = 0: exact max)
        A, a1, a2 = self._f(theta + eps * T)
        B, b1, b2 = self._f(theta - eps * T)
        diff = A - B
        if mu > 0:
            val = float(np.sum(np.maximum(A, B) + mu * np.logaddexp(0.0, -np.abs(diff) / mu)))
        else:
            val = float(np.sum(np.maximum(A, B)))
        if order == 0:
            return val
        if mu > 0:
            pi = expit(diff / mu)
            kap = pi * (1.0 - pi) / mu
        else:
            pi = (diff >= 0).astype(float)
            kap = np.zeros_like(pi)
        f1 = pi * a1 + (1 - pi) * b1
        fT = eps * (pi * a1 - (1 - pi) * b1)
        dth = a1 - b1
        dT = eps * (a1 + b1)
        m2 = pi * a2 + (1 - pi) * b2
        f11 = m2 + kap * dth * dth
        f1T = eps * (pi * a2 - (1 - pi) * b2) + kap * dth * dT
        fTT = eps * eps * m2 + kap * dT * dT
        return val, f1, fT, f11, f1T, fTT

    def objective(self, b0, beta, mu=0.0):
        if self.family == "bernoulli" and self.kind != "max" and not sp.issparse(self.X):
            self.passes += 1
            T = self.T(beta)
            return _bern_value(self.X, self.ytil, b0, beta, self.eps * T) + self.alpha * T
        return self.phi(self.theta(b0, beta), self.T(beta), mu, order=0)

    # weighted Gram X1' diag(D) X1 ------------------------------------------------------------
    def wgram(self, D):
        X = self.X
        if self.gram is not None:  # Gaussian: D = 1 + (few corrections)
            H = self.gram.copy()
            extra = D - 1.0
            idx = np.flatnonzero(np.abs(extra) > 1e-15 * (1.0 + np.abs(extra).max()))
            if idx.size:
                Xs = X[idx]
                e = extra[idx]
                self.passes += idx.size / self.n
                Hb = (Xs * e[:, None]).T @ Xs
                if self.fit_intercept:
                    H[0, 0] += e.sum()
                    v = Xs.T @ e
                    H[0, 1:] += v
                    H[1:, 0] += v
                    H[1:, 1:] += Hb
                else:
                    H += Hb
            return H
        self.passes += 1
        XD = X * D[:, None]
        Hb = XD.T @ X
        if not self.fit_intercept:
            return Hb
        p = self.p
        H = np.empty((p + 1, p + 1))
        H[0, 0] = D.sum()
        v = XD.sum(axis=0)
        H[0, 1:] = v
        H[1:, 0] = v
        H[1:, 1:] = Hb
        return H

    def xt(self, v):
        """X1' v (intercept first when fitted)."""
        self.passes += 1
        g = self.X.T @ v
        if self.fit_intercept:
            return np.concatenate(([v.sum()], g))
        return g

    def xt2(self, a, b):
        """X1' a and X1' b in one pass over X."""
        self.passes += 1
        G = self.X.T @ np.column_stack((a, b))
        if self.fit_intercept:
            return np.concatenate(([a.sum()], G[:, 0])), np.concatenate(([b.sum()], G[:, 1]))
        return G[:, 0].copy(), G[:, 1].copy()

    # derivatives in (z, T) space -------------------------------------------------------------
    def derivs(self, b0, beta, mu):
        if self.family == "bernoulli" and self.kind != "max":
            self.passes += 1
            T = self.T(beta)
            val, gz, GT, H, hz, hTT = _bern_derivs(self.X, self.ytil, float(b0), beta,
                                                    self.eps * T, self.eps, self.fit_intercept)
            return val + self.alpha * T, gz, GT + self.alpha, H, hz, hTT
        theta = self.theta(b0, beta)
        T = self.T(beta)
        val, f1, fT, f11, f1T, fTT = self.phi(theta, T, mu)
        Hzz = self.wgram(f11)
        if fT is None:
            gz = self.xt(f1)
            GT = self.alpha
            hzT = np.zeros_like(gz)
            hTT = 0.0
        else:
            gz, hzT = self.xt2(f1, f1T)
            GT = float(fT.sum()) + self.alpha
            hTT = float(fTT.sum())
        return val, gz, GT, Hzz, hzT, hTT

    # optimality residual for smooth (or smoothed) phi -----------------------------------------
    def smooth_kkt(self, beta, gz, GT):
        gb = gz[1:] if self.fit_intercept else gz
        res = 0.0
        if self.fit_intercept:
            res = abs(gz[0])
        if self.r is None:
            thr = GT * self.w
            nz = beta != 0
            gv = np.where(nz, gb + thr * np.sign(beta),
                          np.sign(gb) * np.maximum(np.abs(gb) - thr, 0.0))
        else:
            gv = gb + GT * self.r * np.sign(beta) * np.abs(beta) ** (self.r - 1.0)
        if gv.size:
            res = max(res, float(np.abs(gv).max()))
        return res / self.n


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


# ----------------------------------------------------------------------------------------------
# Gaussian FGSM: exact active-set polish on the piecewise-quadratic objective
# ----------------------------------------------------------------------------------------------
def _gaussian_polish(pb, b0, beta, mu):
    """Try to solve the face of the piecewise quadratic identified from a smoothed solution.

    Returns (b0, beta) of the exact minimiser if the KKT conditions hold, else None."""
    X, y, eps, w, c = pb.X, pb.y, pb.eps, pb.w, pb.c
    n, p = pb.n, pb.p
    fi = pb.fit_intercept
    theta = pb.theta(b0, beta)
    r = y - theta
    scale = 1.0 + np.abs(beta).max(initial=0.0)
    act = np.flatnonzero(np.abs(beta) > 1e-9 * scale)
    sgn = np.sign(beta[act])
    T = float(w[act] @ np.abs(beta[act])) + c
    q = len(act) + (1 if fi else 0)
    empty = np.zeros(0, dtype=int)
    if eps * T > 0:
        # observations inside the smoothed kink: |A - B| = 2|r| eps T small relative to mu
        kinkv = 2.0 * np.abs(r) * eps * T / max(mu, 1e-300)
        cand = np.flatnonzero(kinkv < 30.0)
        if cand.size > q:
            # the band holds more observations than the face can pin to zero: generic position
            # (no residual exactly 0, typical for n >> p) first, then the q smallest residuals
            faces = [empty, cand[np.argsort(np.abs(r[cand]))[:q]]]
        elif cand.size:
            faces = [cand, empty]
        else:
            faces = [empty]
    else:
        faces = [empty]
    for Z in faces:
        sigma = np.sign(r)
        sigma[sigma == 0] = 1.0
        sigma[Z] = 0.0
        out = _gaussian_face_search(pb, act, sgn, Z, sigma, T, q)
        if out is not None:
            return out
    return None


def _gaussian_warm(pb, b0, beta):
    """Exact minimiser from the exact solution ``(b0, beta)`` of a nearby problem (path, CV
    grid, working-set or LLA step) by the active-set search with exact line searches of
    :func:`companion._gaussian_warm.warm_search`; None when it fails."""
    X = pb.X if pb.X.flags.c_contiguous else np.ascontiguousarray(pb.X)
    try:
        status, b0n, betan, _ = warm_search(X, pb.y, pb.gram, pb.w, float(pb.c), float(pb.eps),
                                            int(pb.fit_intercept), float(b0), beta, 4 * _POLISH_STEPS)
    except np.linalg.LinAlgError:  # a singular face
        return None
    pb.passes += 1.0
    return (float(b0n), betan) if status == 1 else None


def _gaussian_face_search(pb, act, sgn, Z, sigma, T, q):
    """Active-set search over the faces of the piecewise quadratic, from the face ``(act, sgn, Z,
    sigma)`` read off a smoothed or warm-start point.  A residual that comes out with the wrong
    sign crosses its kink first, so it is pinned at 0 (flipped, when the face cannot pin more than
    ``q`` residuals); a pinned residual whose multiplier leaves [-1, 1] is released with that
    multiplier's sign; a coefficient that crosses zero leaves the support and a zero coefficient
    outside its subgradient bounds enters it with the sign of its gradient.  Stops at the exact
    minimiser (full KKT checked by :func:`_gaussian_face`), or after a repeated state."""
    n, fi = pb.n, pb.fit_intercept
    Z = np.asarray(Z, dtype=int)
    act, sgn = np.asarray(act, dtype=int), np.asarray(sgn, float)
    seen = set()
    for _ in range(_POLISH_STEPS):
        state = (act.tobytes(), np.flatnonzero(sgn < 0).tobytes(), Z.tobytes(),
                 np.flatnonzero(sigma < 0).tobytes())
        if state in seen:
            return None
        seen.add(state)
        out = _gaussian_face(pb, act, sgn, Z, sigma, T)
        if out is None:
            return None
        if isinstance(out, tuple) and not isinstance(out[0], str):
            return out
        q = len(act) + (1 if fi else 0)
        if isinstance(out, tuple):
            move, idx, sg = out
            if move == "release":
                Z = np.setdiff1d(Z, idx)
                sigma[idx] = sg
            elif move == "drop":
                keep = ~np.isin(act, idx)
                act, sgn = act[keep], sgn[keep]
            else:  # add
                order = np.argsort(np.concatenate((act, idx)), kind="stable")
                act = np.concatenate((act, idx))[order]
                sgn = np.concatenate((sgn, sg))[order]
            if Z.size > len(act) + (1 if fi else 0):  # more pinned residuals than the face holds
                return None
            continue
        if out.size > max(q, 0.01 * n):
            return None
        if Z.size + out.size <= q:
            Z = np.union1d(Z, out)
            sigma[out] = 0.0
        else:
            sigma[out] = -sigma[out]
    return None


#: intermediate smoothing stages stop at optimality residual _STAGE_TOL * mu
_STAGE_TOL = 0.1
#: residual-sign corrections tried per face in the Poisson and bridge polishes
_POLISH_FLIPS = 5
#: active-set steps (pin, release or flip residuals) tried per face in the Gaussian polish
_POLISH_STEPS = 40
#: zero coefficients entering the support per step of the Gaussian face search
_POLISH_ADD = 4


def _gaussian_face(pb, act, sgn, Z, sigma, T):
    """Exact minimiser on the face (support ``act`` with signs ``sgn``, zero residuals ``Z``,
    residual signs ``sigma``) if it satisfies the full KKT conditions; else the residuals with the
    wrong sign (an index array), ``("release", idx, signs)`` for pinned residuals whose multiplier
    leaves [-1, 1], or None (singular system, a coefficient changing sign, a zero coefficient
    outside its subgradient bounds)."""
    X, y, eps, w, c = pb.X, pb.y, pb.eps, pb.w, pb.c
    n, p = pb.n, pb.p
    fi = pb.fit_intercept
    nz = len(Z)
    pb.passes += len(act) / max(p, 1)
    Xc = X if X.flags.c_contiguous else np.ascontiguousarray(X)
    try:
        z, nu, ok = _face_solve(Xc, y, pb.gram, w, float(c), float(eps), int(fi),
                                np.asarray(act, dtype=np.int64), np.asarray(sgn, dtype=float),
                                np.asarray(Z, dtype=np.int64), np.asarray(sigma, dtype=float))
    except np.linalg.LinAlgError:
        return None
    if not ok:
        return None
    b0n = z[0] if fi else 0.0
    bn = z[1:] if fi else z
    beta_new = np.zeros(p)
    beta_new[act] = bn
    # consistency checks
    if np.any(bn * sgn <= 0):
        return ("drop", act[bn * sgn <= 0], None)  # coefficients that crossed zero
    Tn = float(w[act] @ np.abs(bn)) + c
    rn = y - pb.theta(b0n, beta_new)
    out = np.ones(n, dtype=bool)
    out[Z] = False
    bad = out & (rn * sigma < -1e-12 * (1 + np.abs(y).max()))
    if np.any(bad):
        return np.flatnonzero(bad)  # residuals to pin or flip (see _gaussian_face_search)
    if nz:
        if eps * Tn <= 0:
            return None
        sig_hat = -nu / (eps * Tn)
        over = np.abs(sig_hat) > 1.0 + 1e-9
        if np.any(over):
            return ("release", Z[over], np.sign(sig_hat[over]))
    # zero coefficients within their subgradient bounds
    qv = (np.abs(rn) + eps * Tn) * sigma
    if nz:
        qv[Z] = eps * Tn * np.clip(sig_hat, -1.0, 1.0)
    Kt = float(np.abs(rn).sum() + n * eps * Tn)
    zero = np.setdiff1d(np.arange(p), act)
    if zero.size:
        pb.passes += zero.size / max(p, 1)
        gz = X[:, zero].T @ qv
        viol = np.abs(gz) - (eps * Kt * w[zero] * (1 + 1e-9) + 1e-13 * n)
        if np.any(viol > 0):
            worst = np.argsort(-viol, kind="stable")[:min(_POLISH_ADD, int(np.sum(viol > 0)))]
            return ("add", zero[worst], np.sign(gz[worst]))
    return b0n, beta_new


# ----------------------------------------------------------------------------------------------
# Poisson FGSM: exact face polish at the kinks of max(f(theta + eps T), f(theta - eps T))
# ----------------------------------------------------------------------------------------------
#: Newton iterations / step halvings (in total) of one face solve in the Poisson polish
_FACE_NEWTON = 30
_FACE_HALVINGS = 20


def _kink_polish(pb, b0, beta, mu):
    """Exact minimiser of the max-type FGSM objective (smooth convex loss, L1-type T) on the face
    identified from a smoothed solution, or None.

    The face is the support/signs of ``beta``, the set ``Z`` of observations sitting at the kink
    :math:`f_i(\\theta_i + \\varepsilon T) = f_i(\\theta_i - \\varepsilon T)` and the branch of
    every other observation.  On it the KKT conditions are smooth equations in
    :math:`(z, w_Z)` (:func:`_kink_face`), solved by Newton from the smoothed solution (the
    soft-max weights are the starting convex weights).  Branches the candidate contradicts are
    flipped (an observation asked a second time is pinned to its kink), kink weights outside
    [0, 1] release their observation to the branch they point at; acceptance needs the full
    non-smooth KKT conditions (checked again by the caller with :func:`_kkt_residual`)."""
    eps, w, c = pb.eps, pb.w, pb.c
    n = pb.n
    fi = pb.fit_intercept
    scale = 1.0 + np.abs(beta).max(initial=0.0)
    act = np.flatnonzero(np.abs(beta) > 1e-9 * scale)
    sgn = np.sign(beta[act])
    T = float(w[act] @ np.abs(beta[act])) + c
    if not eps * T > 0:
        return None
    q = len(act) + (1 if fi else 0)
    theta = pb.theta(b0, beta)
    diff = pb._f(theta + eps * T)[0] - pb._f(theta - eps * T)[0]
    if not np.all(np.isfinite(diff)):
        return None
    z0 = np.concatenate(([b0], beta[act])) if fi else beta[act].copy()

    def solve(Z, sigma, wz, z):
        out = _kink_face(pb, act, sgn, Z, sigma, z0.copy() if z is None else z, wz)
        return out if out is None or out[0] == "ok" else (*out[:3], out[3], out[4])

    return _kink_face_search(diff, mu, q, n, solve)


def _kink_face_search(diff, mu, q, n, solve):
    """The active-set loop shared by the kink polishes (:func:`_kink_polish`, :func:`_bridge_polish`).

    ``diff`` is :math:`f_i(\theta_i + \varepsilon T) - f_i(\theta_i - \varepsilon T)` at the smoothed
    point, ``q`` the number of observations the face can pin at their kink.  Candidate faces: no
    observation pinned (generic position), and the observations within the smoothing band (at most
    ``q``, the closest to their kink).  ``solve(Z, sigma, wz, state)`` solves one face (``state``
    is the previous face solution, None at the start) and returns None, ``("ok", b0, beta)``,
    ``("flip", idx, None, state, wz)`` (observations on the wrong branch) or ``("drop", idx, w,
    state, wz)`` (kink weights outside [0, 1]).  A branch is flipped once; an observation asked a
    second time is pinned to its kink."""
    empty = np.zeros(0, dtype=int)
    cand = np.flatnonzero(np.abs(diff) < 30.0 * mu)
    if cand.size > q:
        faces = [empty, cand[np.argsort(np.abs(diff[cand]))[:q]]]
    elif cand.size:
        faces = [cand, empty]
    else:
        faces = [empty]
    for Z in faces:
        sigma = np.where(diff >= 0, 1.0, -1.0)
        sigma[Z] = 0.0
        with np.errstate(over="ignore"):
            wz = expit(diff[Z] / max(mu, 1e-300))
        state = None
        flipped = np.zeros(n, dtype=np.int8)
        for _ in range(_POLISH_FLIPS + 1):
            out = solve(Z, sigma, wz, state)
            if out is None:
                break
            if out[0] == "ok":
                return out[1], out[2]
            kind, idx, wvals, state, wz = out
            if kind == "drop":
                # kink weight outside [0, 1]: the observation leaves its kink for that branch
                keep = ~np.isin(Z, idx)
                for i, wi in zip(idx, wvals):
                    sigma[i] = 1.0 if wi > 1.0 else -1.0
                Z, wz = Z[keep], wz[keep]
                continue
            # kind == "flip": observations on the wrong side of their kink
            if idx.size > max(q, 0.01 * n):
                break
            again = idx[flipped[idx] >= 1]
            new = idx[flipped[idx] < 1]
            sigma[new] = -sigma[new]
            flipped[new] += 1
            if again.size:
                if Z.size + again.size > q:
                    break
                Z = np.concatenate((Z, again))
                wz = np.concatenate((wz, np.full(again.size, 0.5)))
                sigma[again] = 0.0
    return None


def _kink_face(pb, act, sgn, Z, sigma, z, wz):
    """Newton on the KKT equations of one face of the max-type FGSM objective.

    Unknowns: ``z`` (intercept if fitted, active coefficients with signs ``sgn``, so that
    :math:`T = \\tilde g'z + c` is linear) and the convex weights ``wz`` of the observations ``Z``
    at their kink.  With :math:`\\pi_i = 1` (branch :math:`+`, ``sigma = 1``), 0 (branch
    :math:`-`) or :math:`w_i` (``i`` in ``Z``) the equations are

    * stationarity :math:`\\sum_i \\pi_i f_i'(\\theta_i + t)(\\tilde x_i + \\varepsilon\\tilde g)
      + (1 - \\pi_i) f_i'(\\theta_i - t)(\\tilde x_i - \\varepsilon\\tilde g) = 0`,
      :math:`t = \\varepsilon T`;
    * kink :math:`f_i(\\theta_i + t) - f_i(\\theta_i - t) = 0` for ``i`` in ``Z``,

    whose Jacobian is the symmetric saddle-point matrix of the Lagrangian (the gradient of the
    kink equation is the derivative of the stationarity in :math:`w_i`).

    Returns ``("ok", b0, beta)`` if the solution satisfies the full KKT conditions,
    ``("flip", idx, None, z, wz)`` / ``("drop", idx, w_idx, z, wz)`` for an active-set change
    (branches contradicted / kink weights outside [0, 1]), or None."""
    X, eps, w, c = pb.X, pb.eps, pb.w, pb.c
    n, p = pb.n, pb.p
    fi = pb.fit_intercept
    off = 1 if fi else 0
    q = len(act) + off
    nz = Z.size
    Xa = X[:, act]
    pb.passes += len(act) / max(p, 1)
    gt = w[act] * sgn
    gtil = np.concatenate(([0.0], gt)) if fi else gt
    base = (sigma > 0).astype(float)

    def X1t(v):
        g = Xa.T @ v
        return np.concatenate(([v.sum()], g)) if fi else g

    def evaluate(z, wz):
        th = Xa @ z[off:]
        if fi:
            th += z[0]
        t = eps * (float(gt @ z[off:]) + c)
        A, a1, a2 = pb._f(th + t)
        B, b1, b2 = pb._f(th - t)
        pi = base.copy()
        pi[Z] = wz
        f1 = pi * a1 + (1.0 - pi) * b1
        fT = eps * (pi * a1 - (1.0 - pi) * b1)
        G = X1t(f1) + gtil * fT.sum()
        R = np.concatenate((G, (A - B)[Z]))
        return R, (t, A, a1, a2, B, b1, b2, pi, f1, fT)

    R, st = evaluate(z, wz)
    if not np.all(np.isfinite(R)):
        return None
    nrm = float(np.linalg.norm(R))
    halvings = 0
    for _ in range(_FACE_NEWTON):
        t, A, a1, a2, B, b1, b2, pi, f1, fT = st
        pb.passes += len(act) / max(p, 1)
        m2 = pi * a2 + (1.0 - pi) * b2
        f1T = eps * (pi * a2 - (1.0 - pi) * b2)
        XD = Xa * m2[:, None]
        Hb = XD.T @ Xa
        if fi:
            H = np.empty((q, q))
            H[0, 0] = m2.sum()
            v = XD.sum(axis=0)
            H[0, 1:] = v
            H[1:, 0] = v
            H[1:, 1:] = Hb
        else:
            H = Hb
        hzT = X1t(f1T)
        H = (H + np.outer(hzT, gtil) + np.outer(gtil, hzT)
             + eps * eps * m2.sum() * np.outer(gtil, gtil))
        if nz:
            # rows: gradient of the kink equation A_i - B_i in z
            XZ = np.column_stack((np.ones(nz), Xa[Z])) if fi else Xa[Z]
            C = (a1 - b1)[Z][:, None] * XZ + np.outer(eps * (a1 + b1)[Z], gtil)
            K = np.zeros((q + nz, q + nz))
            K[:q, :q] = H
            K[:q, q:] = C.T
            K[q:, :q] = C
        else:
            K = H
        try:
            d = -np.linalg.solve(K, R)
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.isfinite(d)):
            return None
        # damped Newton on the residual norm (full steps near the solution); a face whose
        # equations Newton cannot solve from this start is abandoned early (the polish is only
        # an accelerator: the smoothing continuation goes on)
        s = 1.0
        while True:
            zn = z + s * d[:q]
            wn = wz + s * d[q:]
            with np.errstate(over="ignore", invalid="ignore"):
                Rn, stn = evaluate(zn, wn)
            nn = float(np.linalg.norm(Rn)) if np.all(np.isfinite(Rn)) else np.inf
            if nn <= (1.0 - 1e-4 * s) * nrm:
                break
            halvings += 1
            if halvings > _FACE_HALVINGS:
                break
            s *= 0.5
        if not nn <= nrm:
            break  # no further decrease (round-off level, or the face is out of reach)
        z, wz, R, st, nrm = zn, wn, Rn, stn, nn
        if np.abs(s * d).max(initial=0.0) <= 1e-13 * (1.0 + np.abs(z).max(initial=0.0)):
            break
    t, A, a1, a2, B, b1, b2, pi, f1, fT = st
    b0n = float(z[0]) if fi else 0.0
    bn = z[off:]
    beta_new = np.zeros(p)
    beta_new[act] = bn
    if np.any(bn * sgn <= 0):
        return None
    fscale = 1.0 + np.abs(A) + np.abs(B)
    if nz and np.any(np.abs(A - B)[Z] > 1e-10 * fscale[Z]):
        return None  # Newton did not reach the face
    # branches: every observation outside Z on the side of its kink given by sigma
    out = np.ones(n, dtype=bool)
    out[Z] = False
    bad = out & (sigma * (A - B) < -1e-12 * fscale)
    if np.any(bad):
        return "flip", np.flatnonzero(bad), None, z, wz
    tolw = 1e-9
    badw = (wz < -tolw) | (wz > 1.0 + tolw)
    if np.any(badw):
        return "drop", Z[badw], wz[badw], z, wz
    # zero coefficients within their subgradient bounds [-K w_j, K w_j], K = dF/dT
    Kt = float(fT.sum())
    zero = np.setdiff1d(np.arange(p), act)
    if zero.size:
        pb.passes += zero.size / max(p, 1)
        gz = X[:, zero].T @ f1
        gsc = 1.0 + float(np.abs(f1).sum())
        if np.any(np.abs(gz) > Kt * w[zero] * (1 + 1e-9) + 1e-12 * gsc):
            return None
    return "ok", b0n, beta_new


# ----------------------------------------------------------------------------------------------
# Gaussian and Poisson FGSM with the bridge penalty r > 1: exact polish at the kinks
# ----------------------------------------------------------------------------------------------
def _bridge_polish(pb, b0, beta, mu):
    """Exact minimiser of the max-type FGSM objective with the smooth bridge margin shift
    :math:`T = \\sum_j|\\beta_j|^r` (``r > 1``; Gaussian or Poisson) on the face identified from a
    smoothed solution, or None.

    As in :func:`_kink_polish`, the face is the set ``Z`` of observations at their kink and the
    branch of every other observation; all coefficients are free (``T`` is smooth: no support or
    sign pattern).  The KKT equations of the face are solved by Newton (:func:`_bridge_face`),
    branches the candidate contradicts are flipped (an observation asked a second time is pinned
    to its kink), kink weights outside [0, 1] release their observation; acceptance needs the full
    non-smooth KKT conditions (checked again by the caller with :func:`_kkt_residual`)."""
    eps = pb.eps
    n, p = pb.n, pb.p
    fi = pb.fit_intercept
    T = pb.T(beta)
    if not eps * T > 0:
        return None
    q = p + (1 if fi else 0)
    theta = pb.theta(b0, beta)
    diff = pb._f(theta + eps * T)[0] - pb._f(theta - eps * T)[0]
    if not np.all(np.isfinite(diff)):
        return None

    def solve(Z, sigma, wz, state):
        bz, bb = (b0, beta) if state is None else state
        out = _bridge_face(pb, Z, sigma, bz, bb, wz)
        return out if out is None or out[0] == "ok" else (*out[:3], (out[3], out[4]), out[5])

    return _kink_face_search(diff, mu, q, n, solve)


def _bridge_face(pb, Z, sigma, b0, beta, wz):
    """Newton on the KKT equations of one face of the max-type FGSM objective with
    :math:`T = \\sum_j |\\beta_j|^r`, ``r > 1``.

    The equations are those of :func:`_kink_face` with :math:`\\nabla T = (0, r\\,\\mathrm{sign}
    (\\beta)|\\beta|^{r-1})` (zero for the intercept): stationarity :math:`S = \\tilde X'f_1 +
    K\\nabla T = 0` (:math:`K = \\sum_i \\partial\\phi_i/\\partial T`) and the kink equations
    :math:`f_i(\\theta_i + t) - f_i(\\theta_i - t) = 0` for ``i`` in ``Z``; unknowns the intercept,
    the coefficients and the convex weights ``wz`` of the kink observations.  The Jacobian is the
    symmetric saddle-point matrix of :func:`_kink_face` plus the penalty curvature
    :math:`K\\nabla^2 T`.  For ``1 < r < 2`` a coefficient whose penalty curvature
    :math:`K r(r-1)|\\beta_j|^{r-2}` (unbounded at 0) is at least the rest of its Hessian diagonal
    at the start is carried in power coordinates :math:`u_j = \\mathrm{sign}(\\beta_j)
    |\\beta_j|^{r-1}` (its Jacobian column is multiplied by :math:`d\\beta_j/du_j`, which turns that
    curvature into :math:`K r`, and its stationarity becomes linear in :math:`u_j` near 0), the
    others in :math:`\\beta_j` (see :func:`_power_direction`).

    Returns ``("ok", b0, beta)`` if the solution satisfies the KKT conditions of the face,
    ``("flip", idx, None, b0, beta, wz)`` / ``("drop", idx, w_idx, b0, beta, wz)`` for an
    active-set change (branches contradicted / kink weights outside [0, 1]), or None."""
    X, eps, r = pb.X, pb.eps, pb.r
    n, p = pb.n, pb.p
    fi = pb.fit_intercept
    off = 1 if fi else 0
    q = p + off
    cols = np.arange(off, q)
    nz = Z.size
    base = (sigma > 0).astype(float)
    pw = np.zeros(p, dtype=bool)  # coefficients in power coordinates (fixed after the 1st step)

    def X1t(vec):
        g = X.T @ vec
        return np.concatenate(([vec.sum()], g)) if fi else g

    def coefs(v):
        b = v[off:].copy()
        b[pw] = _from_power(b[pw], r)
        return b

    def evaluate(v, wz):
        bt = coefs(v)
        th = X @ bt
        if fi:
            th += v[0]
        gT = np.zeros(q)
        gT[off:] = r * np.sign(bt) * np.abs(bt) ** (r - 1.0)
        gT[off:][pw] = r * v[off:][pw]  # exact even where beta underflows
        t = eps * float(np.sum(np.abs(bt) ** r))
        A, a1, a2 = pb._f(th + t)
        B, b1, b2 = pb._f(th - t)
        pi = base.copy()
        pi[Z] = wz
        f1 = pi * a1 + (1.0 - pi) * b1
        fT = eps * (pi * a1 - (1.0 - pi) * b1)
        K = float(fT.sum())
        R = np.concatenate((X1t(f1) + gT * K, (A - B)[Z]))
        nrm = float(np.linalg.norm(R)) if np.all(np.isfinite(R)) else np.inf
        return R, nrm, (bt, gT, K, A, a1, a2, B, b1, b2, pi, f1)

    v = np.concatenate(([b0], beta)) if fi else np.array(beta, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        R, nrm, st = evaluate(v, wz)
    if not np.isfinite(nrm):
        return None
    halvings = 0
    for it in range(_FACE_NEWTON):
        bt, gT, K, A, a1, a2, B, b1, b2, pi, f1 = st
        pb.passes += 1
        m2 = pi * a2 + (1.0 - pi) * b2
        f1T = eps * (pi * a2 - (1.0 - pi) * b2)
        XD = X * m2[:, None]
        Hb = XD.T @ X
        if fi:
            H = np.empty((q, q))
            H[0, 0] = m2.sum()
            vv = XD.sum(axis=0)
            H[0, 1:] = vv
            H[1:, 0] = vv
            H[1:, 1:] = Hb
        else:
            H = Hb
        hzT = X1t(f1T)
        H = H + np.outer(hzT, gT) + np.outer(gT, hzT) + eps * eps * m2.sum() * np.outer(gT, gT)
        a = np.abs(bt)
        with np.errstate(divide="ignore"):
            pc = K * r * (r - 1.0) * a ** (r - 2.0)  # K T''(beta), unbounded at 0 for r < 2
        if it == 0 and r < 2.0:
            pw = pc >= np.diag(H)[off:]
            v[off:][pw] = np.sign(bt[pw]) * a[pw] ** (r - 1.0)
        Dv = np.ones(q)
        Dv[off:][pw] = a[pw] ** (2.0 - r) / (r - 1.0)
        J = H * Dv[None, :]
        J[cols, cols] += np.where(pw, K * r, pc)
        if nz:
            # rows: gradient of the kink equation A_i - B_i
            XZ = np.column_stack((np.ones(nz), X[Z])) if fi else X[Z]
            C = (a1 - b1)[Z][:, None] * XZ + np.outer(eps * (a1 + b1)[Z], gT)
            Kmat = np.zeros((q + nz, q + nz))
            Kmat[:q, :q] = J
            Kmat[:q, q:] = C.T
            Kmat[q:, :q] = C * Dv[None, :]
        else:
            Kmat = J
        try:
            d = -np.linalg.solve(Kmat, R)
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.isfinite(d)):
            return None
        # damped Newton on the residual norm (full steps near the solution)
        s = 1.0
        while True:
            vn = v + s * d[:q]
            wn = wz + s * d[q:]
            with np.errstate(over="ignore", invalid="ignore"):
                Rn, nn, stn = evaluate(vn, wn)
            if nn <= (1.0 - 1e-4 * s) * nrm:
                break
            halvings += 1
            if halvings > _FACE_HALVINGS:
                break
            s *= 0.5
        if not nn <= nrm:
            break  # no further decrease (round-off level, or the face is out of reach)
        v, wz, R, st, nrm = vn, wn, Rn, stn, nn
        if np.abs(s * d).max(initial=0.0) <= 1e-13 * (1.0 + np.abs(v).max(initial=0.0)):
            break
    bt, gT, K, A, a1, a2, B, b1, b2, pi, f1 = st
    b0n = float(v[0]) if fi else 0.0
    fscale = 1.0 + np.abs(A) + np.abs(B)
    if nz and np.any(np.abs(A - B)[Z] > 1e-10 * fscale[Z]):
        return None  # Newton did not reach the face
    # branches: every observation outside Z on the side of its kink given by sigma
    out = np.ones(n, dtype=bool)
    out[Z] = False
    bad = out & (sigma * (A - B) < -1e-12 * fscale)
    if np.any(bad):
        return "flip", np.flatnonzero(bad), None, b0n, bt, wz
    tolw = 1e-9
    badw = (wz < -tolw) | (wz > 1.0 + tolw)
    if np.any(badw):
        return "drop", Z[badw], wz[badw], b0n, bt, wz
    return "ok", b0n, bt


# ----------------------------------------------------------------------------------------------
# optimality residual (exact, non-smooth)
# ----------------------------------------------------------------------------------------------
def _kkt_residual(pb, b0, beta, mu=0.0):
    """Minimal-norm subgradient (inf-norm / n), see the module docstring."""
    if pb.kind != "max":
        val, gz, GT, *_ = pb.derivs(b0, beta, 0.0)
        return pb.smooth_kkt(beta, gz, GT)
    return _kkt_parts(pb, b0, beta, mu)[0]


def _dual_parts(pb, b0, beta):
    """``(a, K)`` at a solution: the observation weights ``a`` (derivative of each loss term in
    its linear predictor, kink observations at the convex weights of the minimal-norm
    subgradient) and ``K = dF/dT``, so that the subgradient in a coefficient at 0 is
    ``X_j'a + [-K w_j, K w_j]`` -- what a working-set solver checks for features outside its
    set, one pass over ``X``."""
    if pb.kind == "max":
        _, a, K = _kkt_parts(pb, b0, beta, 0.0)
        return a, K
    theta = pb.theta(b0, beta)
    val, f1, fT, *_ = pb.phi(theta, pb.T(beta), 0.0)
    K = (float(np.sum(fT)) if fT is not None else 0.0) + pb.alpha
    return f1, K


def _kkt_parts(pb, b0, beta, mu=0.0):
    """:func:`_kkt_residual` of a max-type FGSM problem, with the observation weights and
    ``K = dF/dT`` of its minimal-norm subgradient (see :func:`_dual_parts`)."""
    from scipy.optimize import lsq_linear

    eps, n, p = pb.eps, pb.n, pb.p
    fi = pb.fit_intercept
    theta = pb.theta(b0, beta)
    T = pb.T(beta)
    A, a1, _ = pb._f(theta + eps * T)
    B, b1, _ = pb._f(theta - eps * T)
    # observations at a kink (for a smoothed solution: inside the smoothing band)
    tie = np.abs(A - B) <= np.maximum(30.0 * mu, 1e-9 * (1.0 + np.abs(A) + np.abs(B)))
    win = A >= B
    a = np.where(win, a1, b1)
    bT = eps * np.where(win, a1, -b1)
    if eps * T == 0:
        # T >= 0: right derivative of max(f(theta + eps T), f(theta - eps T)) at T = 0
        tie[:] = False
        bT = eps * np.abs(a1)
    a[tie] = b1[tie]
    bT[tie] = -eps * b1[tie]
    X = pb.X
    if pb.r is None:
        nzm = beta != 0
        tg = pb.w * np.sign(beta)
    else:
        nzm = np.ones(p, dtype=bool)
        tg = pb.r * np.sign(beta) * np.abs(beta) ** (pb.r - 1.0)
    pb.passes += 1
    base_b = X.T @ a
    K0 = float(bT.sum()) + pb.alpha
    ti = np.flatnonzero(tie)
    lam = np.zeros(0)
    if ti.size:
        da = (a1 - b1)[ti]
        dK = (eps * (a1 + b1))[ti]
        rows = []
        rhs = []
        if fi:
            rows.append(da)
            rhs.append(-a.sum())
        act = np.flatnonzero(nzm)
        Mb = X[ti][:, act].T * da[None, :] + np.outer(tg[act], dK)
        rows.extend(list(Mb))
        rhs.extend(list(-(base_b[act] + K0 * tg[act])))
        M = np.array(rows).reshape(len(rhs), ti.size)
        if M.shape[0]:
            sol = lsq_linear(M, np.array(rhs), bounds=(0.0, 1.0), method="bvls", tol=1e-14)
            lam = sol.x
            a = a.copy()
            a[ti] += lam * da
            K0 += float(lam @ dK)
    if lam.size:
        pb.passes += 1
        gb = X.T @ a
    else:
        gb = base_b
    res = abs(a.sum()) if fi else 0.0
    if pb.r is None:
        thr = K0 * pb.w
        gv = np.where(nzm, gb + K0 * tg, np.sign(gb) * np.maximum(np.abs(gb) - thr, 0.0))
    else:
        gv = gb + K0 * tg
    if gv.size:
        res = max(res, float(np.abs(gv).max()))
    return res / n, a, K0


# ----------------------------------------------------------------------------------------------
# convex driver
# ----------------------------------------------------------------------------------------------
def _zero_is_optimal(pb):
    """Closed-form check that beta = 0 (intercept at its intercept-only optimum) solves an L1-type
    problem without offset: max_j |X_j'psi| / w_j <= eps ||psi||_1 (FGSM) or <= alpha (twin)."""
    if pb.r is not None or pb.c != 0.0 or pb.p == 0:
        return False
    if pb.fit_intercept:
        mu0 = np.full(pb.n, pb.y.mean())
    else:
        mu0 = pb._f(np.zeros(pb.n))[1] + pb.y
    psi = mu0 - pb.y
    pb.passes += 1
    g = np.abs(pb.X.T @ psi)
    if pb.kind == "pen":
        bound = pb.alpha * pb.w
    else:
        bound = pb.eps * np.abs(psi).sum() * pb.w
    return bool(np.all(g <= bound))


#: coordinate-descent sweeps per Newton step on a sparse design
_CD_SWEEPS = 500

#: smoothing level (relative) at which a warm-started continuation starts
_WARM_MU = 1e-5


def _polish(pb, b0, beta, mu, tol, scale, warm=False):
    """The family's exact face polish from the smoothed point ``(b0, beta)`` (``warm``: from the
    exact solution of a nearby problem): ``(b0, beta, kkt)`` when it returns a point no worse
    than the current one that meets ``tol``, else None."""
    if pb.family == "gaussian" and pb.r is None:
        pol = _gaussian_warm(pb, b0, beta) if warm else _gaussian_polish(pb, b0, beta, mu)
    elif pb.family == "poisson" and pb.r is None:
        pol = _kink_polish(pb, b0, beta, mu)
    elif pb.r is not None:  # bridge r > 1, Gaussian or Poisson
        pol = _bridge_polish(pb, b0, beta, mu)
    else:
        return None
    if pol is None:
        return None
    b0p, betap = pol
    if pb.objective(b0p, betap) <= pb.objective(b0, beta, 0.0) + 1e-12 * scale * pb.n:
        kkt = _kkt_residual(pb, b0p, betap)
        if kkt <= max(tol, 1e-12):
            return b0p, betap, kkt
    return None


def _solve_convex(pb, b0, beta, tol, max_iter):
    """Solve one convex problem; returns b0, beta, n_iter, converged, kkt."""
    fast_bern = pb.family == "bernoulli" and pb.kind != "max" and pb.r is None
    if fast_bern and (np.any(beta) or b0 == _intercept0(pb.y, pb.family, pb.fit_intercept)):
        # the kernel's first optimality test at the intercept-only point *is* the zero check; from
        # a warm start (working set, path) its Newton steps reach zero if zero is the solution
        pass
    elif _zero_is_optimal(pb):
        b0z = _intercept0(pb.y, pb.family, pb.fit_intercept)
        betaz = np.zeros(pb.p)
        kkt = _kkt_residual(pb, b0z, betaz)
        if kkt <= tol:
            return b0z, betaz, 0, True, kkt
    newton = _split_newton if pb.r is None else _smooth_newton
    if pb.kind != "max":
        b0, beta, k, kkt, _ = newton(pb, b0, beta, 0.0, tol, max_iter)
        return b0, beta, k, kkt <= tol, kkt
    return _continuation(pb, b0, beta, tol, max_iter, newton)


def _continuation(pb, b0, beta, tol, max_iter, newton):
    """Smoothing continuation for the max-type (worst-sign) FGSM losses, as a wrapper around a
    Newton solver of the smoothed problem: the maximum of the two branches is replaced by the
    soft-max at level ``mu``, which decreases geometrically; after each stage the family's exact
    polish (:func:`_polish`) tries the face read off the smoothed solution.  A warm start tries
    the polish first.  Returns b0, beta, n_iter, converged, kkt."""
    theta = pb.theta(b0, beta)
    T = pb.T(beta)
    A = pb._f(theta + pb.eps * T)[0]
    scale = float(np.mean(np.abs(A))) + 1.0
    mu = 1e-2 * scale
    mu_min = 1e-10 * scale
    k = 0
    if pb.r is None and np.any(beta):
        # a warm start (path, working set, LLA step) usually sits on the solution's face or next
        # to it: try the exact polish there before the continuation
        hit = _polish(pb, b0, beta, _WARM_MU * scale, tol, scale, warm=True)
        if hit is not None:
            return hit[0], hit[1], k, True, hit[2]
    while True:
        # intermediate smoothing levels only serve to identify the face: solve them loosely
        stage_tol = tol if mu <= mu_min * 1.0001 else max(tol, _STAGE_TOL * mu)
        b0, beta, k, kkt, _ = newton(pb, b0, beta, mu, stage_tol, max_iter, it0=k)
        hit = _polish(pb, b0, beta, mu, tol, scale)
        if hit is not None:
            return hit[0], hit[1], k, True, hit[2]
        if k >= max_iter or mu <= mu_min * 1.0001:
            break
        mu = max(mu * 0.03, mu_min)
    kkt = _kkt_residual(pb, b0, beta, mu)
    return b0, beta, k, (kkt <= tol and k < max_iter), kkt


# ----------------------------------------------------------------------------------------------
# public-internal fit functions
# ----------------------------------------------------------------------------------------------
class FitResult:
    """Plain result record of :func:`_fit_fgsm` / :func:`_fit_penalized`."""

    __slots__ = ("coef", "intercept", "n_iter", "converged", "optimality_residual", "minimizer",
                 "objective_path", "n_passes", "objective")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)

    def __repr__(self):
        return (f"FitResult(n_iter={self.n_iter}, converged={self.converged}, "
                f"optimality_residual={self.optimality_residual:.2e}, minimizer={self.minimizer!r})")


def _family_name(family):
    return get_family(family).name


def _intercept0(y, family, fit_intercept):
    if not fit_intercept:
        return 0.0
    return get_family(family).link(float(np.mean(y)))


def _make_problem(X, y, family, mode, eps, alpha, fit_intercept, w=None, c=0.0, r=None, gram=None):
    if mode == "fgsm":
        kind = "bern" if family == "bernoulli" else "max"
        if eps == 0.0:
            kind = "pen"
        alpha = 0.0
    else:
        kind = "pen"
        eps = 0.0
    if family == "gaussian" and gram is None:
        if fit_intercept:
            X1 = np.empty((X.shape[0], X.shape[1] + 1))
            X1[:, 0] = 1.0
            X1[:, 1:] = X
        else:
            X1 = X
        gram = X1.T @ X1
    return _Problem(X, y, family, kind, eps=eps, alpha=alpha, w=w, c=c, r=r,
                    fit_intercept=fit_intercept, gram=gram)


def _pow2(s):
    """The power of two nearest to ``s`` (1 for 0, inf or nan): dividing by it is exact."""
    if not (s > 0 and np.isfinite(s)):
        return 1.0
    return float(2.0 ** np.round(np.log2(s)))


def _problem_scales(X, y, family, fit_intercept, pen):
    """Scales ``(s_X, s_y)`` of a problem: powers of two nearest to the largest column rms of
    ``X`` and (Gaussian) the rms of the centred ``y``; ``(1, 1)`` for a penalty that is not
    positively homogeneous (SCAD, MCP), which has no scale-free form."""
    if pen.homogeneity is None or X.shape[1] == 0:
        return 1.0, 1.0
    n = X.shape[0]
    if sp.issparse(X):
        colsq = np.asarray(X.multiply(X).sum(axis=0)).ravel()
    else:
        colsq = np.einsum("ij,ij->j", X, X)
    sx = _pow2(np.sqrt(colsq.max() / n))
    sy = 1.0
    if family == "gaussian":
        yc = y - y.mean() if fit_intercept else y
        sy = _pow2(np.sqrt(np.mean(yc * yc)))
    return sx, sy


def _no_minimizer(X, y, res, strength, pen, mode):
    r"""Certificate that a Bernoulli problem has no minimizer: every training point is classified
    correctly with room to spare, :math:`\tilde y_i\theta_i - \varepsilon P(\beta) > 0` for all
    :math:`i` (FGSM, ``P`` positively homogeneous of degree 1) or :math:`\tilde y_i\theta_i > 0`
    (unpenalized fit).  Multiplying ``(intercept, coef)`` by ``c > 1`` then lowers every loss term,
    so the objective decreases towards its infimum 0 without attaining it."""
    if mode == "fgsm":
        if not (pen.is_l1_type and pen.homogeneity == 1.0 and strength > 0):
            return False
        shift = strength * float(pen.value(res.coef))
    elif strength == 0.0:
        shift = 0.0
    else:
        return False
    if not np.any(res.coef):
        return False
    margin = (2.0 * y - 1.0) * (np.asarray(X @ res.coef).ravel() + res.intercept)
    return bool(np.min(margin) - shift > 0.0)


def _fit(X, y, strength, family, penalty, mode, fit_intercept, tol, max_iter, coef0=None,
         intercept0=None, max_outer=None, warn=True):
    """Fit (:func:`_fit_scaled`); a Bernoulli fit whose data admit no minimizer is marked not
    converged, with a warning that says why (:func:`_no_minimizer`)."""
    res = _fit_scaled(X, y, strength, family, penalty, mode, fit_intercept, tol, max_iter, coef0,
                      intercept0, max_outer, warn)
    if _family_name(family) == "bernoulli" and _no_minimizer(X, y, res, strength, get_penalty(penalty), mode):
        res.converged = False
        res.minimizer = "none (separable data)"
        if warn:
            what = "eps" if mode == "fgsm" else "alpha"
            cause = ("beyond the margin shift eps * P(coef)" if mode == "fgsm"
                     else "with a positive margin")
            warnings.warn(
                f"No minimizer: every training point is classified correctly {cause}, so scaling "
                f"the coefficients up lowers the objective towards 0 without end; the fit stopped "
                f"at an arbitrary point (|coef|_1 = {np.abs(res.coef).sum():.3g}). Increase {what}.",
                ConvergenceWarning, stacklevel=4)
    return res


def _fit_scaled(X, y, strength, family, penalty, mode, fit_intercept, tol, max_iter, coef0=None,
                intercept0=None, max_outer=None, warn=True):
    """Fit on the unit-scale problem and map the result back.

    With ``X = s_X X'``, ``y = s_y y'`` (Gaussian) and a penalty homogeneous of degree ``h``, the
    coefficients are ``beta = (s_y/s_X) beta'`` of the problem with ``eps' = eps s_y^(h-1)/s_X^h``
    (FGSM) or ``alpha' = alpha s_y^(h-2)/s_X^h`` (twin); its objective is ``F/s_y^2`` and its
    gradient in ``beta'`` is that in ``beta`` divided by ``s_X s_y``.  ``tol`` applies to the
    unit-scale residual, so rescaling ``X`` or ``y`` rescales the fit and leaves the stopping
    decision unchanged (exactly, for scale factors that are powers of two)."""
    family = _family_name(family)
    pen = get_penalty(penalty)
    sx, sy = _problem_scales(X, y, family, fit_intercept, pen)
    if sx == 1.0 and sy == 1.0:
        res = _fit_unit(X, y, strength, family, pen, mode, fit_intercept, tol, max_iter, coef0,
                        intercept0, max_outer, warn)
        res.n_passes += 1.0
        return res
    h = pen.homogeneity
    kappa = sy / sx
    Xs = X * (1.0 / sx) if sx != 1.0 else X
    ys = y / sy if sy != 1.0 else y
    if mode == "fgsm":
        strength_s = strength * sy ** (h - 1.0) / sx ** h
    else:
        strength_s = strength * sy ** (h - 2.0) / sx ** h
    c0 = None if coef0 is None else np.asarray(coef0, float) / kappa
    i0 = None if intercept0 is None else float(intercept0) / sy
    res = _fit_unit(Xs, ys, strength_s, family, pen, mode, fit_intercept, tol, max_iter, c0, i0,
                    max_outer, warn)
    res.coef = res.coef * kappa
    res.intercept = res.intercept * sy
    res.objective = res.objective * sy * sy
    res.objective_path = res.objective_path * sy * sy
    res.n_passes += 2.0 if sx != 1.0 else 1.0
    return res


def _fit_unit(X, y, strength, family, pen, mode, fit_intercept, tol, max_iter, coef0=None,
              intercept0=None, max_outer=None, warn=True):
    n, p = X.shape
    eps = strength if mode == "fgsm" else 0.0
    alpha = strength if mode != "fgsm" else 0.0
    gram = None
    b0 = _intercept0(y, family, fit_intercept) if intercept0 is None else float(intercept0)
    beta = np.zeros(p) if coef0 is None else np.asarray(coef0, float).copy()
    passes = 0
    obj_path = []
    # working sets for L1-type problems with many features or a sparse X; the smooth bridge
    # r > 1 has no zeros to exploit (every coefficient is active) and works on a dense X
    smooth_bridge = isinstance(pen, Bridge) and pen.r > 1
    use_ws = (sp.issparse(X) or p > _WS_MIN_P) and not smooth_bridge
    if sp.issparse(X) and smooth_bridge:
        X = X.toarray()

    def full_objective(b0_, beta_):
        th = np.asarray(X @ beta_) + b0_
        P = pen.value(beta_)
        g = gram0 if gram0 is not None else np.zeros((1, 1))
        if mode == "fgsm":
            pb0 = _make_problem(X, y, family, "fgsm", eps, 0.0, fit_intercept, gram=g)
            return pb0.phi(th, 0.0, 0.0, order=0) if eps == 0 else _shifted_sum(pb0, th, P)
        a_eff = 1.0 if hasattr(pen, "lam") else alpha
        pb0 = _make_problem(X, y, family, "pen", 0.0, a_eff, fit_intercept, gram=g)
        return pb0.phi(th, P, 0.0, order=0)

    gram0 = None
    if family == "gaussian" and not use_ws:
        X1 = np.column_stack((np.ones(n), X)) if fit_intercept else X
        gram0 = X1.T @ X1
        passes += 1

    if pen.is_l1_type and use_ws:
        w = pen.weights(p) if hasattr(pen, "weights") else np.ones(p)
        b0, beta, n_iter, conv, kkt, val, ps = solve_working_set(
            X, y, family, mode, eps, alpha, fit_intercept, w, 0.0, b0, beta, tol, max_iter)
        passes += ps
        obj_path = [val]
        minimizer = "global (convex problem)"
    elif pen.is_l1_type or smooth_bridge:
        if pen.is_l1_type:
            w = pen.weights(p) if hasattr(pen, "weights") else np.ones(p)
            pb = _make_problem(X, y, family, mode, eps, alpha, fit_intercept, w=w, gram=gram0)
        else:
            if coef0 is None and p:
                beta = np.full(p, 1e-3)
            pb = _make_problem(X, y, family, mode, eps, alpha, fit_intercept, r=pen.r, gram=gram0)
        b0, beta, k, conv, kkt = _solve_convex(pb, b0, beta, tol, max_iter)
        passes += pb.passes
        minimizer = "global (convex problem)"
        last = pb.last
        if pen.is_l1_type and pb.c == 0.0:  # T = P: the engine's own objective is the full one
            if last is not None and last[0] == b0 and last[1] is beta:
                obj_path = [last[2]]  # the kernel's value at the returned point
            else:
                p0 = pb.passes
                obj_path = [pb.objective(b0, beta, 0.0)]
                passes += pb.passes - p0
        else:
            obj_path = [full_objective(b0, beta)]
        n_iter = k
    else:
        # LLA / MM from the L1 fit (SCAD/MCP: L1 weighted by lam)
        solve = _weighted_l1_solver(X, y, family, mode, fit_intercept, gram0, use_ws, tol, max_iter)
        strength_in = eps if mode == "fgsm" else (1.0 if hasattr(pen, "lam") else alpha)
        s_f, s_p = (strength_in, 0.0) if mode == "fgsm" else (0.0, strength_in)
        k0 = 0
        if coef0 is None:
            w1 = np.full(p, pen.lam) if hasattr(pen, "lam") else np.ones(p)
            b0, beta, k0, _, _, ps = solve(s_f, s_p, w1, 0.0, b0, beta)
            passes += ps
        # LLA outer steps: at least 100, and max_iter when larger (so that the warning's advice,
        # increase max_iter, applies to the outer loop too)
        if max_outer is None:
            max_outer = max(100, int(max_iter))
        b0, beta, n_iter, conv, kkt, change, obj_path, ps = _lla(
            solve, pen, mode == "fgsm", s_f, s_p, full_objective, b0, beta, k0, max_outer, max_iter)
        passes += ps
        minimizer = "local (LLA from L1 start)" if coef0 is None else "local (LLA from warm start)"
    if warn and not conv:
        if minimizer.startswith("local"):
            msg = (f"LLA (MM) iterations did not settle (n_iter={n_iter}, last coefficient change "
                   f"{change:.2e}, optimality residual of the last weighted-L1 step {kkt:.2e}, "
                   f"tol={tol:g}); increase max_iter, or accept the current local fit.")
        else:
            if kkt > tol:
                msg = (f"Solver did not converge (n_iter={n_iter}, relative optimality residual "
                       f"{kkt:.2e} > tol={tol:g}); increase max_iter or tol.")
            else:
                msg = (f"Solver stopped at the iteration limit (n_iter={n_iter}) before its exact "
                       f"non-smooth optimality check was met (relative optimality residual "
                       f"{kkt:.2e}, tol={tol:g}); increase max_iter.")
        warnings.warn(msg, ConvergenceWarning, stacklevel=4)
    return FitResult(coef=beta, intercept=float(b0), n_iter=int(n_iter), converged=bool(conv),
                     optimality_residual=float(kkt), minimizer=minimizer,
                     objective_path=np.asarray(obj_path), n_passes=float(passes),
                     objective=float(obj_path[-1]))


def _weighted_l1_solver(X, y, family, mode, fit_intercept, gram0, use_ws, tol, max_iter):
    """``solve(eps, alpha, w, c, b0, beta)``: one weighted-L1 problem (``w = inf`` fixes a
    coefficient at 0, ``c`` offsets ``T``) from ``(b0, beta)``, on working sets or with the dense
    engine; returns ``b0, beta, n_iter, converged, kkt, passes``."""
    p = X.shape[1]

    def solve(eps, alpha, w, c, b0, beta):
        if use_ws:
            b0n, betan, k, conv, kkt, _, ps = solve_working_set(
                X, y, family, mode, eps, alpha, fit_intercept, w, c, b0, beta, tol, max_iter)
            return b0n, betan, k, conv, kkt, ps
        keep = np.flatnonzero(np.isfinite(w))
        Xk = np.ascontiguousarray(X[:, keep])
        gk = None
        if gram0 is not None:
            idx = np.concatenate(([0], keep + 1)) if fit_intercept else keep
            gk = gram0[np.ix_(idx, idx)]
        pb = _make_problem(Xk, y, family, mode, eps, alpha, fit_intercept, w=w[keep], c=c, gram=gk)
        b0n, bk, k, conv, kkt = _solve_convex(pb, b0, beta[keep], tol, max_iter)
        betan = np.zeros(p)
        betan[keep] = bk
        return b0n, betan, k, conv, kkt, pb.passes
    return solve


def _lla(solve, pen, fgsm, s_f, s_p, full_objective, b0, beta, n_iter, max_outer, max_iter):
    """Local linear approximation (MM) of a concave penalty, as a wrapper around any weighted-L1
    ``solve`` (:func:`_weighted_l1_solver`): each outer step majorizes the penalty at the current
    fit by the weighted L1 of :meth:`Penalty.lla_weights` (the offset ``c`` enters the FGSM margin
    shift) and solves that convex problem from the current fit; the objective never increases.
    Returns ``b0, beta, n_iter, converged, kkt, last change, objective path, passes``."""
    obj_path = [full_objective(b0, beta)]
    conv = False
    kkt = np.inf
    change = np.inf
    passes = 0.0
    for _ in range(max_outer):
        wts, c = pen.lla_weights(beta)
        b0n, betan, k, convk, kkt, ps = solve(s_f, s_p, wts, c if fgsm else 0.0, b0, beta)
        passes += ps
        n_iter += k
        fn = full_objective(b0n, betan)
        if fn > obj_path[-1]:  # numerical safeguard: MM never increases the objective
            fn_old = obj_path[-1]
            if fn - fn_old > 1e-10 * (1 + abs(fn_old)):
                break
        change = np.max(np.abs(betan - beta), initial=0.0) + abs(b0n - b0)
        b0, beta = b0n, betan
        obj_path.append(min(fn, obj_path[-1]) if fn <= obj_path[-1] + 1e-10 * (1 + abs(fn)) else fn)
        if change <= 1e-10 * (1 + np.max(np.abs(beta), initial=0.0)) and convk:
            conv = True
            break
        if n_iter >= max_iter * 5:
            break
    return b0, beta, n_iter, conv, kkt, change, obj_path, passes


def _shifted_sum(pb, theta, P):
    """sum_i of the worst-sign shifted loss (FGSM objective) at margin shift P."""
    return pb.phi(theta, P, 0.0, order=0)


def _fit_fgsm(X, y, eps, family="gaussian", penalty="l1", fit_intercept=True, tol=1e-8,
              max_iter=200, coef0=None, intercept0=None, warn=True):
    """Lean FGSM fit on *validated* float arrays (``y`` in the family's 0/1 or count coding).

    Minimises :math:`\\sum_i \\ell(y_i, \\theta_i + \\varepsilon s_i P(\\beta))` (worst sign).
    ``penalty`` is a name or a :class:`companion.penalties.Penalty` instance."""
    return _fit(X, y, float(eps), family, penalty, "fgsm", fit_intercept, tol, max_iter,
                coef0, intercept0, warn=warn)


def _fit_penalized(X, y, alpha, family="gaussian", penalty="l1", fit_intercept=True, tol=1e-8,
                   max_iter=200, coef0=None, intercept0=None, warn=True):
    """Lean penalized-likelihood fit: :math:`\\sum_i \\ell(y_i, \\theta_i) + \\alpha P(\\beta)`
    (SCAD/MCP: :math:`\\sum_i \\ell + P_\\lambda(\\beta)`, their ``lam`` plays the role of alpha and
    ``alpha`` is ignored)."""
    return _fit(X, y, float(alpha), family, penalty, "pen", fit_intercept, tol, max_iter,
                coef0, intercept0, warn=warn)


def fgsm_objective(X, y, coef, intercept, eps, family="gaussian", penalty="l1"):
    """Value of the generalized FGSM objective (worst sign) for validated arrays."""
    family = _family_name(family)
    pen = get_penalty(penalty)
    pb = _make_problem(X, y, family, "fgsm", eps, 0.0, True, gram=np.zeros((1, 1)))
    return pb.phi(np.asarray(X @ coef) + intercept, pen.value(coef), 0.0, order=0)


def penalized_objective(X, y, coef, intercept, alpha, family="gaussian", penalty="l1"):
    """Value of sum_i l_i + alpha P(beta) (SCAD/MCP: alpha ignored, P includes lam)."""
    family = _family_name(family)
    pen = get_penalty(penalty)
    a = 1.0 if hasattr(pen, "lam") else alpha
    pb = _make_problem(X, y, family, "pen", 0.0, a, True, gram=np.zeros((1, 1)))
    return pb.phi(np.asarray(X @ coef) + intercept, pen.value(coef), 0.0, order=0)
