r"""Proximal Newton for the Bernoulli datafit with an L1-type ``T`` on a sparse (CSC) design,
without forming the Hessian (the scheme of skglm's prox-Newton solver, adapted to the margin shift).

Objective (FGSM and the L1-logistic twin): :math:`\sum_i \mathrm{softplus}(-\tilde y_i\theta_i +
\varepsilon T) + \alpha T`, :math:`T = w'|\beta| + c`.  In the split variables
:math:`\beta = u - v`, :math:`u, v \ge 0`, ``T`` is linear and the Newton model is the box QP

.. math:: \sum_i f_i\,\Delta\theta_i + K\,\Delta T + \tfrac12\sum_i D_i\Delta\theta_i^2
          + \Delta T\sum_i g_i\Delta\theta_i + \tfrac12 h\,\Delta T^2,

with :math:`\Delta\theta = \Delta b_0 + X(\Delta u - \Delta v)`, :math:`\Delta T = w'(\Delta u +
\Delta v)`, :math:`f_i = -\tilde y_i s_i`, :math:`g_i = -\varepsilon\tilde y_i D_i`,
:math:`K = \varepsilon\sum_i s_i + \alpha`, :math:`h = \varepsilon^2\sum_i D_i`.  Coordinate descent
on it keeps :math:`\Delta\theta` (n numbers), :math:`\Delta T` and :math:`\sum_i g_i\Delta\theta_i`
up to date, so one coordinate step reads one sparse column: a sweep costs ``nnz(X)``, where the
dense engine forms :math:`X'DX` (``n p^2``).  The step is globalised by the same Armijo search as
the dense kernel (``theta`` is affine along the direction, so no extra product with ``X``).
"""
import numpy as np
from numba import njit

from ._solver_kernels import _bern_pass, _bern_val, _l1_residual


@njit(cache=True)
def _xbeta_csc(indptr, indices, data, beta, b0, out):
    out[:] = b0
    for j in range(beta.shape[0]):
        bj = beta[j]
        if bj != 0.0:
            for k in range(indptr[j], indptr[j + 1]):
                out[indices[k]] += data[k] * bj


@njit(cache=True)
def bern_l1_cd_newton(indptr, indices, data, ytil, w, c, eps, alpha, b0, beta0, fi, tol,
                      max_iter, it0, max_sweeps):
    """Returns ``b0, beta, iterations, optimality residual, value, passes over X``."""
    n = ytil.shape[0]
    p = w.shape[0]
    beta = beta0.copy()
    theta = np.empty(n)
    _xbeta_csc(indptr, indices, data, beta, b0, theta)
    passes = 1.0
    F = np.empty((3, n))
    g0 = np.empty(p)
    g1 = np.empty(p)
    hd = np.empty(p)
    dth = np.empty(n)
    thn = np.empty(n)
    u = np.empty(p)
    v = np.empty(p)
    du = np.empty(p)
    dv = np.empty(p)
    k = it0
    kkt = np.inf
    val = 0.0
    while True:
        T = c
        for j in range(p):
            T += w[j] * abs(beta[j])
        val, sS, sD = _bern_pass(theta, ytil, eps * T, eps, F)
        val += alpha * T
        K = eps * sS + alpha
        h = eps * eps * sD
        # per column: X_j'f, X_j'g, X_j'diag(D)X_j (one pass over the non-zeros)
        for j in range(p):
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            for kk in range(indptr[j], indptr[j + 1]):
                i = indices[kk]
                x = data[kk]
                a0 += F[0, i] * x
                a1 += F[1, i] * x
                a2 += F[2, i] * x * x
            g0[j] = a0
            g1[j] = a1
            hd[j] = a2
        passes += 1.0
        f_sum = 0.0
        g_sum = 0.0
        for i in range(n):
            f_sum += F[0, i]
            g_sum += F[1, i]
        res = _l1_residual(g0, beta, K, w, abs(f_sum) if fi else 0.0)
        kkt = res / n
        if kkt <= tol or k >= max_iter:
            break
        k += 1
        # coordinate descent on the box QP in (b0, u, v)
        for j in range(p):
            u[j] = max(beta[j], 0.0)
            v[j] = max(-beta[j], 0.0)
            du[j] = 0.0
            dv[j] = 0.0
        dth[:] = 0.0
        d0 = 0.0
        dT = 0.0
        S1 = 0.0          # sum_i g_i dtheta_i
        hmax = sD
        for j in range(p):
            hmax = max(hmax, hd[j])
        ridge = 1e-12 * (1.0 + hmax)
        inner_tol = max(1e-3 * res, 1e-13 * (1.0 + np.sqrt(hmax)))
        for sweep in range(max_sweeps):
            passes += 1.0
            maxchg = 0.0
            if fi:
                s = f_sum + dT * g_sum
                for i in range(n):
                    s += F[2, i] * dth[i]
                hkk = sD + ridge
                delta = -s / hkk
                if delta != 0.0:
                    d0 += delta
                    for i in range(n):
                        dth[i] += delta
                    S1 += delta * g_sum
                    maxchg = max(maxchg, abs(delta) * np.sqrt(hkk))
            for j in range(p):
                wj = w[j]
                start = indptr[j]
                stop = indptr[j + 1]
                s = 0.0
                for kk in range(start, stop):
                    i = indices[kk]
                    s += data[kk] * F[2, i] * dth[i]
                r = g0[j] + s + dT * g1[j]           # d/d beta_j of the theta part
                tpart = wj * (K + S1 + h * dT)       # d/d T times dT/du = dT/dv = w_j
                for side in range(2):
                    sg = 1.0 if side == 0 else -1.0
                    grad = sg * r + tpart
                    hkk = hd[j] + 2.0 * sg * wj * g1[j] + h * wj * wj + ridge
                    if hkk <= 0.0:
                        continue
                    cur = du[j] if side == 0 else dv[j]
                    base = u[j] if side == 0 else v[j]
                    new = cur - grad / hkk
                    if new < -base:
                        new = -base
                    delta = new - cur
                    if delta == 0.0:
                        continue
                    if side == 0:
                        du[j] = new
                    else:
                        dv[j] = new
                    dd = sg * delta
                    for kk in range(start, stop):
                        dth[indices[kk]] += data[kk] * dd
                    dT += wj * delta
                    S1 += dd * g1[j]
                    # refresh the derivatives of this column for its other side
                    r = r + dd * hd[j] + wj * delta * g1[j]
                    tpart = wj * (K + S1 + h * dT)
                    maxchg = max(maxchg, abs(delta) * np.sqrt(hkk))
            if maxchg <= inner_tol:
                break
        dec = d0 * f_sum if fi else 0.0
        for j in range(p):
            dec += g0[j] * (du[j] - dv[j]) + K * w[j] * (du[j] + dv[j])
        if dec >= 0.0:
            break
        t = 1.0
        accepted = False
        vn = val
        b0n = b0
        betan = beta
        for _ in range(60):
            b0n = b0 + t * d0 if fi else 0.0
            betan = np.empty(p)
            Tn = c
            for j in range(p):
                betan[j] = (u[j] + t * du[j]) - (v[j] + t * dv[j])
                Tn += w[j] * abs(betan[j])
            for i in range(n):
                thn[i] = theta[i] + t * dth[i]
            vn = _bern_val(thn, ytil, eps * Tn) + alpha * Tn
            if vn <= val + 1e-4 * t * dec or (vn <= val and t < 1e-8):
                accepted = True
                break
            if t == 1.0 and vn - val <= 1e-13 * (1.0 + abs(val)):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        stalled = val - vn <= 1e-16 * abs(val) and t < 1e-6
        b0 = b0n
        beta = betan
        theta[:] = thn
        val = vn
        if stalled:
            break
    return b0, beta, k, kkt, val, passes
