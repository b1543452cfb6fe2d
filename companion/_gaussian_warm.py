r"""Warm start of the linear FGSM fit: a primal active-set method on the piecewise quadratic
(book page "Adding a family or a penalty", section on the polish).

With support ``A`` (signs ``s``), residual signs ``sigma`` and residuals ``Z`` pinned at zero,
the objective :math:`\frac12\sum_i(|r_i| + \varepsilon T)^2` is the quadratic
:math:`Q(z) = \frac12\|r\|^2 + \varepsilon T\sigma'r + \frac n2\varepsilon^2T^2` in
``z = (intercept, beta_A)``, :math:`r = y - X_1z`, :math:`T = \tilde g'z + c`.  From an exact
solution at a nearby ``eps`` (a path or CV grid), each step solves the face (KKT system with the
pinned rows) and moves towards its minimiser by an **exact line search** along the segment: the
objective along it is convex and piecewise quadratic, with a kink where a residual crosses zero,
so the minimiser is found by sweeping the sorted kinks (a residual passed through changes sign,
one at which the minimum sits is pinned, a coefficient that reaches zero leaves ``A``).  At the
face minimiser, pinned residuals with a multiplier outside [-1, 1] are released and the zero
coefficients most outside their subgradient bounds enter.  The objective never increases.

The caller checks the returned point (objective and full optimality residual) and falls back to
the smoothing continuation when the search fails (a negative status).
"""
import numpy as np
from numba import njit

#: zero coefficients entering the support per step
ADD = 4


@njit(cache=True)
def _row(X, i, act, coef, const):
    """``const + sum_k X[i, act[k]] coef[k]``: observation ``i``'s linear predictor on the face."""
    s = const
    for k in range(act.shape[0]):
        s += X[i, act[k]] * coef[k]
    return s


@njit(cache=True)
def _face_solve(X, y, gram, w, c, eps, fi, act, sgn, pinned, sigma):
    """Face minimiser ``z`` and pinned multipliers ``nu``; ok=False when singular."""
    n = X.shape[0]
    na = act.shape[0]
    q = na + fi
    nz = pinned.shape[0]
    gsig = np.zeros(q)
    gtil = np.zeros(q)
    xty = np.zeros(q)
    sy = 0.0
    ssum = 0.0
    ysum = 0.0
    for i in range(n):
        sy += sigma[i] * y[i]
        ssum += sigma[i]
        ysum += y[i]
    if fi:
        gsig[0] = ssum
        xty[0] = ysum
    for k in range(na):
        j = act[k]
        a = 0.0
        b = 0.0
        for i in range(n):
            a += X[i, j] * sigma[i]
            b += X[i, j] * y[i]
        gsig[fi + k] = a
        xty[fi + k] = b
        gtil[fi + k] = w[j] * sgn[k]
    m = q + nz
    K = np.zeros((m, m))
    rhs = np.zeros(m)
    gidx = np.empty(q, dtype=np.int64)   # rows of the Gram matrix of (1, X) or X
    if fi:
        gidx[0] = 0
    for k in range(na):
        gidx[fi + k] = act[k] + fi
    for a in range(q):
        ia = gidx[a]
        for b in range(q):
            ib = gidx[b]
            K[a, b] = (gram[ia, ib] - eps * (gtil[a] * gsig[b] + gsig[a] * gtil[b])
                       + n * eps * eps * gtil[a] * gtil[b])
        rhs[a] = xty[a] - eps * gtil[a] * sy + eps * c * gsig[a] - n * eps * eps * c * gtil[a]
    for k in range(nz):
        i = pinned[k]
        if fi:
            K[q + k, 0] = 1.0
            K[0, q + k] = 1.0
        for b in range(na):
            K[q + k, fi + b] = X[i, act[b]]
            K[fi + b, q + k] = X[i, act[b]]
        rhs[q + k] = y[i]
    sol = np.linalg.solve(K, rhs)
    ok = True
    for a in range(m):
        if not np.isfinite(sol[a]):
            ok = False
    return sol[:q].copy(), sol[q:].copy(), ok


@njit(cache=True)
def _line_search(r, u, sigma, eps, T, v, t_max):
    """Exact minimiser of sum_i (|r_i - t u_i| + eps (T + t v))^2 / 2 over [0, t_max]:
    ``(t, number of residuals crossed, index of the residual pinned or -1, order)``; the
    crossed residuals are ``order[:ncross]``."""
    n = r.shape[0]
    s1 = 0.0
    s2 = 0.0
    nb = 0
    tb = np.empty(n)
    idx = np.empty(n, dtype=np.int64)
    for i in range(n):
        a = sigma[i] * r[i] + eps * T
        b = -sigma[i] * u[i] + eps * v
        s1 += a * b
        s2 += b * b
        if sigma[i] * u[i] > 0.0:
            ti = r[i] / u[i]
            if ti < t_max:
                tb[nb] = ti
                idx[nb] = i
                nb += 1
    order = idx[:nb][np.argsort(tb[:nb], kind="mergesort")]
    if s1 >= 0.0:
        # no descent along the segment (the current point is the face minimiser, d = 0, or as
        # good as it): stay, and let the caller check the face minimiser
        return 0.0, 0, -1, order
    for k in range(nb):
        i = order[k]
        ti = r[i] / u[i]
        if s1 + ti * s2 >= 0.0:
            return -s1 / s2, k, -1, order
        jump = 2.0 * eps * (T + ti * v) * abs(u[i])
        if s1 + ti * s2 + jump >= 0.0:
            return ti, k, i, order
        si = sigma[i]
        a_old = si * r[i] + eps * T
        b_old = -si * u[i] + eps * v
        a_new = -si * r[i] + eps * T
        b_new = si * u[i] + eps * v
        s1 += a_new * b_new - a_old * b_old
        s2 += b_new * b_new - b_old * b_old
    if s2 > 0.0 and -s1 / s2 < t_max:
        return -s1 / s2, nb, -1, order
    return t_max, nb, -1, order


@njit(cache=True)
def warm_search(X, y, gram, w, c, eps, fi, b0, beta, max_steps):
    """Exact minimiser from the exact solution ``(b0, beta)`` of a nearby problem.  Returns
    ``(status, b0, beta, steps)``; status 1: a point that passed the face KKT checks; a negative
    status says why the search gave up: -1 more pinned residuals than the face holds, -2 a
    singular face, -3 a non-finite step, -4 a coefficient or -5 a residual with the wrong sign at
    the face minimiser, -6 no margin shift at a face with pinned residuals, -7 the step limit."""
    n, p = X.shape
    scale = 1.0
    ymax = 0.0
    for j in range(p):
        scale = max(scale, 1.0 + abs(beta[j]))
    for i in range(n):
        ymax = max(ymax, abs(y[i]))
    inact = np.zeros(p, dtype=np.bool_)
    for j in range(p):
        inact[j] = abs(beta[j]) > 1e-9 * scale
    act = np.flatnonzero(inact)
    sgn = np.sign(beta[act])
    zb = beta[act].copy()
    r = y.copy()
    for i in range(n):
        r[i] -= _row(X, i, act, zb, b0 if fi else 0.0)
    tiny = 1e-9 * (1.0 + ymax)
    pin = np.zeros(n, dtype=np.bool_)
    sigma = np.sign(r)
    for i in range(n):
        if abs(r[i]) <= tiny:
            pin[i] = True
            r[i] = 0.0
            sigma[i] = 0.0
    z0 = b0
    out_beta = np.zeros(p)
    n_add = ADD
    added = False
    for step in range(max_steps):
        na = act.shape[0]
        q = na + fi
        pinned = np.flatnonzero(pin)
        if pinned.shape[0] > q:
            return -1, b0, out_beta, step
        zf, nu, ok = _face_solve(X, y, gram, w, c, eps, fi, act, sgn, pinned, sigma)
        if not ok:
            return -2, b0, out_beta, step
        d0 = zf[0] - z0 if fi else 0.0
        db = zf[fi:] - zb
        u = np.empty(n)
        for i in range(n):
            u[i] = 0.0 if pin[i] else _row(X, i, act, db, d0)
        v = 0.0
        T = c
        t_coef = np.inf
        for k in range(na):
            wj = w[act[k]]
            v += wj * sgn[k] * db[k]
            T += wj * abs(zb[k])
            if sgn[k] * db[k] < 0.0:
                t_coef = min(t_coef, -zb[k] / db[k])
        zmax = abs(z0)
        dmax = abs(d0)
        for k in range(na):
            zmax = max(zmax, abs(zb[k]))
            dmax = max(dmax, abs(db[k]))
        if dmax <= 1e-12 * (1.0 + zmax):
            # already at the face minimiser (a vertex: the step is round-off)
            t, ncross, ipin, order = 0.0, 0, -1, np.empty(0, dtype=np.int64)
            t_coef = np.inf
        else:
            t, ncross, ipin, order = _line_search(r, u, sigma, eps, T, v, t_coef)
        if not np.isfinite(t):
            return -3, b0, out_beta, step
        if ncross == 0 and ipin < 0 and t < t_coef:
            # the face minimiser: full KKT check
            z0 = zf[0] if fi else 0.0
            zb = zf[fi:].copy()
            Tn = c
            for k in range(na):
                if zb[k] * sgn[k] <= 0.0:
                    return -4, b0, out_beta, step
                Tn += w[act[k]] * abs(zb[k])
            for i in range(n):
                r[i] = 0.0 if pin[i] else y[i] - _row(X, i, act, zb, z0)
                if not pin[i] and r[i] * sigma[i] < -1e-12 * (1.0 + ymax):
                    return -5, b0, out_beta, step
            released = False
            if pinned.shape[0]:
                if eps * Tn <= 0.0:
                    return -6, b0, out_beta, step
                # release the pinned residual whose multiplier is farthest outside [-1, 1] (one
                # at a time: at a degenerate face, releasing several can cycle)
                worst = -1
                worst_v = 1.0 + 1e-9
                for k in range(pinned.shape[0]):
                    sh = abs(nu[k] / (eps * Tn))
                    if sh > worst_v:
                        worst_v = sh
                        worst = k
                if worst >= 0:
                    i = pinned[worst]
                    pin[i] = False
                    sigma[i] = 1.0 if -nu[worst] > 0 else -1.0
                    released = True
            if released:
                continue
            qv = np.empty(n)
            Kt = n * eps * Tn
            for i in range(n):
                Kt += abs(r[i])
                qv[i] = (abs(r[i]) + eps * Tn) * sigma[i]
            for k in range(pinned.shape[0]):
                sh = min(1.0, max(-1.0, -nu[k] / (eps * Tn)))
                qv[pinned[k]] = eps * Tn * sh
            viol = np.full(p, -np.inf)
            gz = np.zeros(p)
            nviol = 0
            for j in range(p):
                if inact[j]:
                    continue
                g = 0.0
                for i in range(n):
                    g += X[i, j] * qv[i]
                gz[j] = g
                viol[j] = abs(g) - (eps * Kt * w[j] * (1.0 + 1e-9) + 1e-13 * n)
                if viol[j] > 0.0:
                    nviol += 1
            if nviol == 0:
                for k in range(na):
                    out_beta[act[k]] = zb[k]
                return 1, z0, out_beta, step + 1
            worst = np.argsort(-viol, kind="mergesort")[:min(n_add, nviol)]
            added = True
            for j in worst:
                inact[j] = True
            new_act = np.flatnonzero(inact)
            new_sgn = np.zeros(new_act.shape[0])
            new_zb = np.zeros(new_act.shape[0])
            k_old = 0
            for k in range(new_act.shape[0]):
                j = new_act[k]
                if k_old < na and act[k_old] == j:
                    new_sgn[k] = sgn[k_old]
                    new_zb[k] = zb[k_old]
                    k_old += 1
                else:
                    new_sgn[k] = 1.0 if gz[j] > 0 else -1.0
            act, sgn, zb = new_act, new_sgn, new_zb
            continue
        added_before = added
        added = False
        # move to the line-search minimiser
        if fi:
            z0 += t * d0
        for k in range(na):
            zb[k] += t * db[k]
        for i in range(n):
            r[i] -= t * u[i]
        for k in range(ncross):
            i = order[k]
            sigma[i] = -sigma[i]
        if ipin >= 0:
            pin[ipin] = True
            r[ipin] = 0.0
            sigma[ipin] = 0.0
        drop = False
        for k in range(na):
            # a coefficient leaves when the step took it to zero; one that just entered (at
            # zero) and moves the right way stays
            if zb[k] * sgn[k] <= 1e-12 * scale and sgn[k] * db[k] < 0.0:
                inact[act[k]] = False
                drop = True
        if drop and t == 0.0 and added_before:
            # entering together, the new coefficients did not all keep their signs: from now
            # on they enter one at a time
            n_add = 1
        if drop:
            keep = np.flatnonzero(inact[act])
            act, sgn, zb = act[keep].copy(), sgn[keep].copy(), zb[keep].copy()
    return -7, b0, out_beta, max_steps
