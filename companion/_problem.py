r"""The data of one convex sub-problem of :mod:`companion.solver` (:class:`_Problem`): the
margin-shifted losses :math:`\phi_i(\theta_i, T)` and their derivatives in :math:`(\theta, T)`,
the linear predictor, the margin shift, the weighted Gram matrix and the objective."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit
from scipy.special import expit

from ._solver_kernels import _bern_pass
from .families import get_family


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
