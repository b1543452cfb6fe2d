"""numba kernels of :mod:`companion.solver` (split-variable proximal Newton).

* :func:`_cd_box_qp` -- coordinate descent for the box-constrained Newton model;
* :func:`_assemble_split` -- gradient/Hessian in the split variables ``(b0, u, v)``;
* :func:`_bern_l1_newton` -- the whole proximal-Newton loop for the Bernoulli datafit with an
  L1-type ``T`` (FGSM ``softplus(-y~ theta + eps T)`` and the L1-logistic twin), written so that
  one iteration touches the design only for

  - one fused gradient pass (``X'[f_theta, f_thetaT, D]``: gradient, rank-one Hessian term and the
    intercept row of the Gram matrix in one sweep),
  - one weighted Gram product ``X'DX`` (skipped when the previous Hessian is reused, see below),
  - one product ``X beta`` at the trial point (over the non-zero coefficients only); backtracking
    needs no further pass because ``theta`` is affine along the search direction.

  **Lagged Hessian**: when the previous iteration was a full Newton step that reduced the
  optimality residual by at least a factor ``lag_ratio`` (superlinear regime), the second-order
  terms of the previous iterate are reused (the whole model Hessian from one point, hence PSD);
  the gradient is always current, the step is still globalised by the Armijo search and the
  stopping test is the exact optimality residual, so only the speed is affected.

  Small designs (``n p`` up to ~1e5: the transposed design stays in cache) use hand-written
  dot-product loops on ``XT = X'`` (C order); larger ones use BLAS (``np.dot`` for the gradient
  pass, ``dsyrk`` on row blocks for the Hessian, :func:`_gram_rows`).
"""
import numba
import numpy as np
from numba import njit
from scipy.linalg.blas import dsyrk as _dsyrk


@njit(cache=True)
def _cd_box_qp(H, g, x, lb, tol, max_sweeps):
    """Minimise g'd + d'Hd/2 subject to x + d >= lb by cyclic coordinate descent."""
    m = g.shape[0]
    d = np.zeros(m)
    Hd = np.zeros(m)
    sweeps = 0
    for sweep in range(max_sweeps):
        sweeps = sweep + 1
        maxchg = 0.0
        for k in range(m):
            hkk = H[k, k]
            if hkk <= 0.0:
                continue
            new = d[k] - (g[k] + Hd[k]) / hkk
            low = lb[k] - x[k]
            if new < low:
                new = low
            delta = new - d[k]
            if delta != 0.0:
                d[k] = new
                for i in range(m):
                    Hd[i] += delta * H[i, k]
                c = abs(delta) * np.sqrt(hkk)
                if c > maxchg:
                    maxchg = c
        if maxchg <= tol:
            break
    return d, sweeps


@njit(cache=True)
def _l1_residual(g, beta, K, w, start):
    """Largest entry of the minimal-norm subgradient in the coefficients of a smooth loss with
    gradient ``g`` plus ``K * sum_j w_j |beta_j|`` (at least ``start``, the intercept's entry)."""
    res = start
    for j in range(beta.shape[0]):
        thr = K * w[j]
        if beta[j] != 0.0:
            v = abs(g[j] + thr * np.sign(beta[j]))
        else:
            v = max(abs(g[j]) - thr, 0.0)
        if v > res:
            res = v
    return res


@njit(cache=True)
def _assemble_split(gz, GT, Hzz, hzT, hTT, w, fit_intercept):
    """Gradient and Hessian in zeta = (b0, u, v) with beta = u - v, T = w'(u + v) + c."""
    p = w.shape[0]
    off = 1 if fit_intercept else 0
    m = off + 2 * p
    g = np.empty(m)
    H = np.empty((m, m))
    for j in range(p):
        gb = gz[off + j]
        g[off + j] = gb + GT * w[j]
        g[off + p + j] = -gb + GT * w[j]
        for k in range(p):
            hbb = Hzz[off + j, off + k]
            hw = hzT[off + j] * w[k]
            wh = w[j] * hzT[off + k]
            ww = hTT * w[j] * w[k]
            H[off + j, off + k] = hbb + hw + wh + ww
            H[off + p + j, off + p + k] = hbb - hw - wh + ww
            H[off + j, off + p + k] = -hbb + hw - wh + ww
            H[off + p + j, off + k] = -hbb - hw + wh + ww
    if fit_intercept:
        g[0] = gz[0]
        H[0, 0] = Hzz[0, 0]
        for j in range(p):
            h0 = Hzz[0, 1 + j] + hzT[0] * w[j]
            H[0, 1 + j] = h0
            H[1 + j, 0] = h0
            h0v = -Hzz[0, 1 + j] + hzT[0] * w[j]
            H[0, 1 + p + j] = h0v
            H[1 + p + j, 0] = h0v
    return g, H


@njit(cache=True, fastmath=True)
def _bern_pass(theta, ytil, epsT, eps, F):
    """softplus(-ytil*theta + epsT): value, F[0] = phi_theta, F[1] = phi_thetaT, F[2] = D; returns
    the value and the sums of s = sigmoid(m) and of D (phi_T = eps s, phi_TT = eps^2 D)."""
    n = theta.shape[0]
    val = 0.0
    sS = 0.0
    sD = 0.0
    for i in range(n):
        m = -ytil[i] * theta[i] + epsT
        if m > 0:
            e = np.exp(-m)
            val += m + np.log1p(e)
            s = 1.0 / (1.0 + e)
        else:
            e = np.exp(m)
            val += np.log1p(e)
            s = e / (1.0 + e)
        di = s * (1.0 - s)
        F[0, i] = -ytil[i] * s
        F[1, i] = -eps * ytil[i] * di
        F[2, i] = di
        sS += s
        sD += di
    return val, sS, sD


@njit(cache=True, fastmath=True)
def _bern_val(theta, ytil, epsT):
    n = theta.shape[0]
    val = 0.0
    for i in range(n):
        m = -ytil[i] * theta[i] + epsT
        if m > 0:
            val += m + np.log1p(np.exp(-m))
        else:
            val += np.log1p(np.exp(m))
    return val


@njit(cache=True, fastmath=True)
def _xbeta(X, XT, small, beta, b0, out):
    """out = b0 + X beta; returns the fraction of X read (non-zero coefficients only)."""
    p = beta.shape[0]
    n = out.shape[0]
    for i in range(n):
        out[i] = b0
    nnz = 0
    for j in range(p):
        if beta[j] != 0.0:
            nnz += 1
    if nnz == 0:
        return 0.0
    if small:
        for j in range(p):
            bj = beta[j]
            if bj != 0.0:
                for i in range(n):
                    out[i] += bj * XT[j, i]
    else:
        out += np.dot(X, beta)
    return nnz / p


@njit(cache=True, fastmath=True)
def _xt3(X, XT, small, F, G):
    """G[r, j] = sum_i F[r, i] X[i, j] for r = 0, 1, 2 (one pass over X)."""
    p = G.shape[1]
    n = F.shape[1]
    if small:
        for j in range(p):
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            for i in range(n):
                x = XT[j, i]
                s0 += F[0, i] * x
                s1 += F[1, i] * x
                s2 += F[2, i] * x
            G[0, j] = s0
            G[1, j] = s1
            G[2, j] = s2
    else:
        G[:, :] = np.dot(F, X)


@njit(cache=True, fastmath=True)
def _wgram_small(XT, D, buf, Hb):
    """Hb = X' diag(D) X from the C-ordered transpose (dot products, lower triangle)."""
    p, n = XT.shape
    for j in range(p):
        for i in range(n):
            buf[i] = D[i] * XT[j, i]
        for k in range(j + 1):
            s = 0.0
            for i in range(n):
                s += buf[i] * XT[k, i]
            Hb[j, k] = s
            Hb[k, j] = s


#: rows per block of :func:`_gram_rows` (a block of the scaled design stays in cache)
_GRAM_BLOCK = 2048


def _gram_rows(X, ytil, eps, D, stride, fi, Hzz, hz):
    """Second-order terms from every ``stride``-th observation, scaled by ``stride``: the sum of
    ``D_i a_i a_i'`` with ``a_i = (1, x_i, -eps ytil_i)`` (the 1 only with an intercept), by BLAS
    ``dsyrk`` on row blocks scaled by ``sqrt(D_i)`` (``D_i >= 0``; half the work of a general
    product, no n x p buffer).  Fills ``Hzz`` and ``hz``, returns ``hTT``.  Called from the kernel
    in object mode (BLAS ``dsyrk`` is not reachable from cached numba code)."""
    n, p = X.shape
    off = 1 if fi else 0
    q = off + p
    C = np.zeros((q + 1, q + 1), order="F")
    step = _GRAM_BLOCK * stride
    S = np.empty((min(_GRAM_BLOCK, -(-n // stride)), q + 1))
    for i0 in range(0, n, step):
        rows = slice(i0, min(n, i0 + step), stride)
        sq = np.sqrt(D[rows])
        nb = sq.shape[0]
        B = S[:nb]
        if fi:
            B[:, 0] = sq
        np.multiply(X[rows], sq[:, None], out=B[:, off:q])
        np.multiply(ytil[rows], -eps * sq, out=B[:, q])
        C = _dsyrk(1.0, B.T, beta=1.0, c=C, trans=0, lower=1, overwrite_c=1)
    M = np.tril(C) + np.tril(C, -1).T
    Hzz[:, :] = stride * M[:q, :q]
    hz[:] = stride * M[:q, q]
    return stride * M[q, q]


@njit(cache=True)
def _transpose(X):
    n, p = X.shape
    XT = np.empty((p, n))
    for i in range(n):
        for j in range(p):
            XT[j, i] = X[i, j]
    return XT


@njit(cache=True)
def _bern_l1_newton(X, XT, small, ytil, w, c, eps, alpha, b0, beta0, fi, tol, max_iter, it0,
                    lag_ratio, sub_stride, sub_iters):
    """Proximal Newton in split variables for sum softplus(-ytil theta + eps T) + alpha T,
    T = w'|beta| + c.  Returns b0, beta, iterations, kkt, value, passes over X, Gram products.
    ``small``: work on the C-ordered transpose (built here; counted as one pass)."""
    n = ytil.shape[0]
    p = w.shape[0]
    off = 1 if fi else 0
    m = off + 2 * p
    q = off + p
    beta = beta0.copy()
    theta = np.empty(n)
    thf = np.empty(n)
    thn = np.empty(n)
    F = np.empty((3, n))
    Fn = np.empty((3, n))
    passes = 0.0
    if small:
        XT = _transpose(X)
        passes += 1.0
    G = np.empty((3, p))
    bufs = np.empty(n if small else 0)
    Hb = np.empty((p, p) if small else (0, 0))
    Hzz = np.empty((q, q))
    hzH = np.empty(q)
    hTTH = 0.0
    gz = np.empty(q)
    hz = np.empty(q)
    have_H = False
    prev_full = False
    prev_kkt = np.inf
    passes += _xbeta(X, XT, small, beta, b0, theta)
    have_F = False
    sS = 0.0
    sD = 0.0
    sSn = 0.0
    sDn = 0.0
    ngram = 0
    k = it0
    kkt = np.inf
    val = 0.0
    while True:
        T = c
        for j in range(p):
            T += w[j] * abs(beta[j])
        if not have_F:  # else F, val, sS, sD come from the accepted full step
            val, sS, sD = _bern_pass(theta, ytil, eps * T, eps, F)
            val += alpha * T
        GT = eps * sS + alpha
        hTT = eps * eps * sD
        _xt3(X, XT, small, F, G)
        passes += 1.0
        if fi:
            gz[0] = F[0].sum()
            hz[0] = F[1].sum()
        for j in range(p):
            gz[off + j] = G[0, j]
            hz[off + j] = G[1, j]
        # optimality residual (minimal-norm subgradient, inf-norm / n)
        kkt = _l1_residual(G[0], beta, GT, w, abs(gz[0]) if fi else 0.0) / n
        if kkt <= tol or k >= max_iter:
            break
        k += 1
        # the first sub_iters iterations of a large design (far from the solution: the model is
        # crude anyway) take their Hessian from a row subsample, 1/sub_stride of a Gram product
        early = sub_stride > 1 and k - it0 <= sub_iters
        if early or not (have_H and prev_full and kkt <= lag_ratio * prev_kkt):
            if small:
                _wgram_small(XT, F[2], bufs, Hb)
                if fi:
                    Hzz[0, 0] = F[2].sum()
                    for j in range(p):
                        Hzz[0, 1 + j] = G[2, j]
                        Hzz[1 + j, 0] = G[2, j]
                for j in range(p):
                    for l in range(p):
                        Hzz[off + j, off + l] = Hb[j, l]
                hzH[:] = hz
                hTTH = hTT
            else:  # BLAS on row blocks
                stride = sub_stride if early else 1
                with numba.objmode(hTTH="float64"):
                    hTTH = _gram_rows(X, ytil, eps, F[2], stride, fi, Hzz, hzH)
            if early:
                passes += 1.0 / sub_stride
            else:
                passes += 1.0
                ngram += 1
            have_H = not early
        g, H = _assemble_split(gz, GT, Hzz, hzH, hTTH, w, fi)
        x = np.empty(m)
        lb = np.zeros(m)
        for j in range(p):
            x[off + j] = max(beta[j], 0.0)
            x[off + p + j] = max(-beta[j], 0.0)
        if fi:
            x[0] = b0
            lb[0] = -np.inf
        dmax = 0.0
        for i in range(m):
            if abs(H[i, i]) > dmax:
                dmax = abs(H[i, i])
        for i in range(m):
            H[i, i] += 1e-12 * (1.0 + dmax)
        d, _ = _cd_box_qp(H, g, x, lb, 1e-13 * (1.0 + np.sqrt(dmax)), 2000)
        dec = 0.0
        for i in range(m):
            dec += g[i] * d[i]
        if dec >= 0:
            break
        # trial point of the full step; theta is affine along the direction
        b0f = x[0] + d[0] if fi else 0.0
        betaf = np.empty(p)
        for j in range(p):
            betaf[j] = (x[off + j] + d[off + j]) - (x[off + p + j] + d[off + p + j])
        passes += _xbeta(X, XT, small, betaf, b0f, thf)
        t = 1.0
        accepted = False
        vn = 0.0
        b0n = b0f
        betan = betaf
        for _ in range(60):
            if t == 1.0:
                b0n = b0f
                betan = betaf
                thc = thf
            else:
                b0n = x[0] + t * d[0] if fi else 0.0
                betan = np.empty(p)
                for j in range(p):
                    betan[j] = (x[off + j] + t * d[off + j]) - (x[off + p + j] + t * d[off + p + j])
                for i in range(n):
                    thn[i] = theta[i] + t * (thf[i] - theta[i])
                thc = thn
            Tn = c
            for j in range(p):
                Tn += w[j] * abs(betan[j])
            if t == 1.0:  # full step: keep the per-observation terms for the next iteration
                vn, sSn, sDn = _bern_pass(thc, ytil, eps * Tn, eps, Fn)
                vn += alpha * Tn
            else:
                vn = _bern_val(thc, ytil, eps * Tn) + alpha * Tn
            if vn <= val + 1e-4 * t * dec or (vn <= val and t < 1e-8):
                accepted = True
                break
            if t == 1.0 and vn - val <= 1e-13 * (1.0 + abs(val)):
                accepted = True  # decrease below round-off of the objective: trust the model
                break
            t *= 0.5
        if not accepted:
            break
        if val - vn <= 1e-16 * abs(val) and t < 1e-6:
            b0, beta = b0n, betan
            val = vn
            break
        b0, beta = b0n, betan
        if t == 1.0:
            tmp = theta
            theta = thf
            thf = tmp
            tmp = F
            F = Fn
            Fn = tmp
            val = vn
            sS = sSn
            sD = sDn
            have_F = True
        else:
            passes += _xbeta(X, XT, small, beta, b0, theta)
            have_F = False
        prev_full = t == 1.0
        prev_kkt = kkt
    return b0, beta, k, kkt, val, passes, ngram
