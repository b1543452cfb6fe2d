r"""Exact polishes of the worst-sign FGSM objectives (:mod:`companion.solver`): from a smoothed
solution (or a warm start) they find the face of the non-smooth problem and solve its KKT
equations exactly.  Gaussian: the piecewise quadratic, face by face (:func:`_gaussian_polish`,
warm starts by :mod:`companion._gaussian_warm`); Poisson and the bridge penalty: Newton on the KKT
equations of a face; all three inside one shared active-set loop (:func:`_face_search`)."""
from __future__ import annotations

import numpy as np
from scipy.special import expit

from ._gaussian_warm import _face_solve, warm_search
from ._newton import _from_power


# ----------------------------------------------------------------------------------------------
# Gaussian FGSM: exact active-set polish on the piecewise-quadratic objective
# ----------------------------------------------------------------------------------------------
def _gaussian_polish(pb, b0, beta, mu):
    """Try to solve the face of the piecewise quadratic identified from a smoothed solution, by
    the shared active-set loop (:func:`_face_search`) with the exact face solve of
    :func:`_gaussian_face`.  Returns (b0, beta) of the exact minimiser, or None."""
    y, eps, w, c = pb.y, pb.eps, pb.w, pb.c
    n, fi = pb.n, pb.fit_intercept
    r = y - pb.theta(b0, beta)
    scale = 1.0 + np.abs(beta).max(initial=0.0)
    act = np.flatnonzero(np.abs(beta) > 1e-9 * scale)
    sgn = np.sign(beta[act])
    T = float(w[act] @ np.abs(beta[act])) + c
    q = len(act) + (1 if fi else 0)
    if eps * T > 0:
        # observations inside the smoothed kink: |A - B| = 2|r| eps T small relative to mu
        kinkv = 2.0 * np.abs(r) * eps * T / max(mu, 1e-300)
        cand = np.flatnonzero(kinkv < 30.0)
    else:
        cand = np.zeros(0, dtype=int)
    sigma = np.sign(r)
    sigma[sigma == 0] = 1.0

    def solve(act, sgn, Z, sigma, wz, state, grp):
        out = _gaussian_face(pb, act, sgn, Z, sigma)
        return out if out is None or out[0] == "ok" else (*out, None, wz)

    return _face_search(solve, cand, np.abs(r), sigma, lambda Z: np.full(Z.size, 0.5), act, sgn,
                        q, np.arange(n),
                        max_steps=_POLISH_STEPS, pin_first=True)


def _candidate_faces(cand, dist, q):
    """Sets of pinned observations to try, from the candidates ``cand`` in the smoothing band
    (``dist``: how far each observation is from its kink): all of them when the face can pin
    them, else none first (generic position, typical for n >> p), then the ``q`` closest."""
    empty = np.zeros(0, dtype=int)
    if cand.size > q:
        return [empty, cand[np.argsort(dist[cand])[:q]]]
    return [cand, empty] if cand.size else [empty]


def _gaussian_interpolation_polish(pb):
    r"""The interpolating solution, for ``p + 1 >= n`` and a small ``eps``.  When every residual
    is zero the objective is :math:`\frac n2\varepsilon^2T^2`, so the fit is the basis pursuit
    :math:`\min_z T` subject to :math:`X_1z = y`; it is the FGSM solution when the multipliers of
    the pinned residuals lie in [-1, 1] (that is, when :math:`\varepsilon` is below
    :math:`1/(n\lVert s\rVert_\infty)` for a dual certificate ``s`` of the basis pursuit).  The
    support comes from a linear program (HiGHS), the vertex on it (every residual pinned) is
    solved exactly, and the warm active-set search (:func:`_gaussian_warm`) releases residuals or
    moves the support if the multipliers ask for it.  Returns ``(b0, beta)`` or None."""
    from scipy.optimize import linprog

    X, y, w = pb.X, pb.y, pb.w
    n, p = pb.n, pb.p
    fi = 1 if pb.fit_intercept else 0
    if p + fi < n:
        return None
    cost = np.concatenate((np.zeros(fi), w, w))
    A = np.hstack((np.ones((n, fi)), X, -X))
    bounds = [(None, None)] * fi + [(0.0, None)] * (2 * p)
    lp = linprog(cost, A_eq=A, b_eq=y, bounds=bounds, method="highs")
    pb.passes += 2
    if lp.status != 0:
        return None
    lp_beta = lp.x[fi:fi + p] - lp.x[fi + p:]
    scale = 1.0 + np.abs(lp_beta).max(initial=0.0)
    act = np.flatnonzero(np.abs(lp_beta) > 1e-9 * scale)
    if len(act) + fi != n:
        return None  # not a vertex with as many unknowns as residuals to pin
    # the exact vertex on that support, then the warm active-set search from it
    X1 = np.column_stack((np.ones(n), X[:, act])) if fi else X[:, act]
    try:
        z = np.linalg.solve(X1, y)
    except np.linalg.LinAlgError:
        return None
    if np.any(np.sign(z[fi:]) != np.sign(lp_beta[act])):
        return None
    beta = np.zeros(p)
    beta[act] = z[fi:]
    return _gaussian_warm(pb, float(z[0]) if fi else 0.0, beta)


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


#: residual-sign corrections tried per face in the Poisson and bridge polishes
_POLISH_FLIPS = 5
#: active-set steps (pin, release or flip residuals) tried per face in the Gaussian polish
_POLISH_STEPS = 40
#: zero coefficients entering the support per step of the Gaussian face search
_POLISH_ADD = 4


def _gaussian_face(pb, act, sgn, Z, sigma):
    """Exact minimiser on the face (support ``act`` with signs ``sgn``, zero residuals ``Z``,
    residual signs ``sigma``): ``("ok", b0, beta)`` if it satisfies the full KKT conditions, else
    the active-set change it asks for: ``("flip", idx, None)`` (residuals with the wrong sign),
    ``("release", idx, signs)`` (pinned residuals whose multiplier leaves [-1, 1], with that
    multiplier's sign), ``("drop", idx, None)`` (coefficients that crossed zero) or ``("add", idx,
    signs)`` (zero coefficients outside their subgradient bounds, the worst ``_POLISH_ADD``, with
    the sign of their gradient); None for a singular face."""
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
        return ("flip", np.flatnonzero(bad), None)
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
    return "ok", b0n, beta_new


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

    def solve(act, sgn, Z, sigma, wz, z, grp):
        out = _kink_face(pb, act, sgn, Z, sigma, z0.copy() if z is None else z, wz, grp)
        return out if out is None or out[0] == "ok" else (*out[:3], out[3], out[4])

    return _face_search(solve, np.flatnonzero(np.abs(diff) < 30.0 * mu), np.abs(diff),
                        np.where(diff >= 0, 1.0, -1.0), _kink_weights(diff, mu), act, sgn, q,
                        _row_groups(pb.y, pb.X[:, act]), max_steps=_POLISH_FLIPS + 1,
                        pin_first=False)


def _row_groups(y, Xa):
    """Labels of the observations with identical ``(y_i, x_i)`` on the face's columns: they share
    their linear predictor and their kink, so a face pins them together (a sparse design with few
    active features and a count response has many such ties)."""
    rows = np.column_stack((y, Xa))
    return np.unique(rows, axis=0, return_inverse=True)[1].ravel()


def _pinned_groups(Z, labels):
    """For each observation, the index in ``Z`` of the pinned group it belongs to, or -1."""
    of_label = np.full(labels.max(initial=-1) + 1, -1)
    of_label[labels[Z]] = np.arange(Z.size)
    return of_label[labels]


def _kink_weights(diff, mu):
    """Starting convex weights of observations pinned at their kink: the soft-max weights
    ``expit(diff / mu)`` of the smoothed solution."""
    def weights(Z):
        with np.errstate(over="ignore"):
            return expit(diff[Z] / max(mu, 1e-300))
    return weights


def _face_search(solve, cand, dist, sigma0, wz0, act, sgn, q, labels, max_steps, pin_first):
    r"""The active-set loop shared by the exact polishes (Gaussian, Poisson, bridge).

    A face is the support ``act`` with signs ``sgn``, the observations ``Z`` pinned at their kink
    (with convex weights ``wz``) and the branch ``sigma`` (+1/-1, 0 when pinned) of every other
    observation; it pins at most ``q`` observations (its number of unknowns).  Starting faces
    (:func:`_candidate_faces`): none pinned, and the candidates ``cand`` inside the smoothing band
    (the ``q`` closest by ``dist``), with branches ``sigma0`` and weights ``wz0(Z)``.
    Observations with the same ``labels`` (identical data on the face) are one group: ``Z`` holds
    one of each, ``grp`` maps every observation to its pinned group (-1: none).

    ``solve(act, sgn, Z, sigma, wz, state, grp)`` solves one face (``state``: the previous face
    solution, None at the start) and returns None (give up this start), ``("ok", b0, beta)``, or a
    change ``(kind, idx, vals, state, wz)``:

    * ``"flip"``: observations on the wrong side of their kink.  With ``pin_first`` they are pinned
      when the face has room for all of them and flipped otherwise (the Gaussian face is a linear
      solve: a pinned residual costs nothing); without it a branch is flipped once and an
      observation asked again is pinned (a pinned observation adds an unknown to a Newton solve);
    * ``"release"``: pinned observations whose multiplier (kink weight) leaves its range go to the
      branch ``vals``;
    * ``"drop"`` / ``"add"``: coefficients that crossed zero leave the support, zero coefficients
      outside their bounds enter it with signs ``vals`` (faces with a fixed support never ask).

    A start is abandoned after a repeated face, a flip of more than ``max(q, n / 100)`` groups at
    once, more pinned observations than ``q``, or ``max_steps`` face solves."""
    cand = cand[np.sort(np.unique(labels[cand], return_index=True)[1])]  # one per group
    for Z in _candidate_faces(cand, dist, q):
        grp = _pinned_groups(Z, labels)
        sigma = sigma0.copy()
        sigma[grp >= 0] = 0.0
        out = _search_from(solve, act, sgn, Z, sigma, wz0(Z), grp, q, labels, max_steps,
                           pin_first)
        if out is not None:
            return out
    return None


def _search_from(solve, act, sgn, Z, sigma, wz, grp, q, labels, max_steps, pin_first):
    """One start of :func:`_face_search`; returns ``(b0, beta)`` or None."""
    n = labels.size
    act, sgn = np.asarray(act, dtype=int), np.asarray(sgn, dtype=float)
    state = None
    flipped = np.zeros(n, dtype=np.int8)
    seen = set()
    for _ in range(max_steps):
        key = (act.tobytes(), np.flatnonzero(sgn < 0).tobytes(), Z.tobytes(),
               np.flatnonzero(sigma < 0).tobytes())
        if key in seen:
            return None
        seen.add(key)
        out = solve(act, sgn, Z, sigma, wz, state, grp)
        if out is None:
            return None
        if out[0] == "ok":
            return out[1], out[2]
        kind, idx, vals, state, wz = out
        if kind == "release":
            keep = ~np.isin(Z, idx)
            for i, s in zip(idx, vals):
                sigma[labels == labels[i]] = s
            Z, wz = Z[keep], wz[keep]
            grp = _pinned_groups(Z, labels)
        elif kind == "drop":
            keep = ~np.isin(act, idx)
            act, sgn = act[keep], sgn[keep]
            q -= idx.size
        elif kind == "add":
            order = np.argsort(np.concatenate((act, idx)), kind="stable")
            act = np.concatenate((act, idx))[order]
            sgn = np.concatenate((sgn, vals))[order]
            q += idx.size
        else:  # "flip"
            if np.unique(labels[idx]).size > max(q, 0.01 * n):
                return None
            if pin_first:
                if Z.size + idx.size <= q:
                    Z = np.union1d(Z, idx)
                    wz = np.full(Z.size, 0.5)
                    grp = _pinned_groups(Z, labels)
                    sigma[idx] = 0.0
                else:
                    sigma[idx] = -sigma[idx]
                continue
            again = idx[flipped[idx] >= 1]
            new = idx[flipped[idx] < 1]
            sigma[new] = -sigma[new]
            flipped[new] += 1
            if again.size:
                again = again[np.sort(np.unique(labels[again], return_index=True)[1])]
                if Z.size + again.size > q:
                    return None
                Z = np.concatenate((Z, again))
                wz = np.concatenate((wz, np.full(again.size, 0.5)))
                grp = _pinned_groups(Z, labels)
                sigma[grp >= 0] = 0.0
        if Z.size > q:
            return None
    return None


def _branch_mix(pb, th, t, base, pinned, w_pinned):
    """Both branches of the worst-sign loss at linear predictors ``th`` and shift ``t``
    (values ``A``, ``B`` and their first two derivatives) and their mix on a face: weight ``pi``
    = 1 on branch + (``base``), 0 on branch -, ``w_pinned`` at the pinned observations; ``f1``
    and ``fT`` the mixed derivatives in theta and T."""
    A, a1, a2 = pb._f(th + t)
    B, b1, b2 = pb._f(th - t)
    pi = base.copy()
    pi[pinned] = w_pinned
    f1 = pi * a1 + (1.0 - pi) * b1
    fT = pb.eps * (pi * a1 - (1.0 - pi) * b1)
    return A, a1, a2, B, b1, b2, pi, f1, fT


def _face_hessian(Xa, m2, hzT, g, eps, fi):
    r"""Hessian of a face's Lagrangian in ``(intercept, coefficients)``: the weighted Gram matrix
    :math:`X_1'\mathrm{diag}(m_2)X_1` plus the terms of the margin shift, whose gradient is
    ``g``: :math:`h g' + g h' + \varepsilon^2\sum_i m_{2i}\, g g'` with ``h = hzT``."""
    XD = Xa * m2[:, None]
    Hb = XD.T @ Xa
    if fi:
        q = Hb.shape[0] + 1
        H = np.empty((q, q))
        H[0, 0] = m2.sum()
        v = XD.sum(axis=0)
        H[0, 1:] = v
        H[1:, 0] = v
        H[1:, 1:] = Hb
    else:
        H = Hb
    return H + np.outer(hzT, g) + np.outer(g, hzT) + eps * eps * m2.sum() * np.outer(g, g)


def _saddle_solve(J, a1, b1, Z, Xa, g, eps, fi, R, Dv=None, mult=None):
    """Newton direction of a face's KKT equations: the saddle-point system with the Jacobian
    ``J`` of the stationarity and, for the observations ``Z`` at their kink, the gradient rows of
    the kink equations :math:`A_i - B_i`, each scaled by the size ``mult`` of its group (columns
    scaled by ``Dv`` for coordinates carried in power form); None when it is singular or not
    finite."""
    q = J.shape[0]
    nz = Z.size
    if nz:
        XZ = np.column_stack((np.ones(nz), Xa[Z])) if fi else Xa[Z]
        C = (a1 - b1)[Z][:, None] * XZ + np.outer(eps * (a1 + b1)[Z], g)
        if mult is not None:
            C = C * mult[:, None]
        K = np.zeros((q + nz, q + nz))
        K[:q, :q] = J
        K[:q, q:] = C.T
        K[q:, :q] = C if Dv is None else C * Dv[None, :]
    else:
        K = J
    try:
        d = -np.linalg.solve(K, R)
    except np.linalg.LinAlgError:
        return None
    return d if np.all(np.isfinite(d)) else None


def _face_newton(x, wz, evaluate, step):
    """Damped Newton on the residual norm of a face's KKT equations from ``(x, wz)``, shared by
    the kink faces (:func:`_kink_face`, :func:`_bridge_face`): ``evaluate(x, wz)`` gives the
    residual, its norm and the state, ``step(it, x, st, R)`` the direction in ``(x, wz)`` (None:
    give up).  Full steps near the solution; at most ``_FACE_NEWTON`` steps and
    ``_FACE_HALVINGS`` halvings in all.  Returns ``(x, wz, state)``, or None when the start is not
    finite or a step cannot be computed."""
    with np.errstate(over="ignore", invalid="ignore"):
        R, nrm, st = evaluate(x, wz)
    if not np.isfinite(nrm):
        return None
    q = x.size
    halvings = 0
    for it in range(_FACE_NEWTON):
        d = step(it, x, st, R)
        if d is None:
            return None
        s = 1.0
        while True:
            xn = x + s * d[:q]
            wn = wz + s * d[q:]
            with np.errstate(over="ignore", invalid="ignore"):
                Rn, nn, stn = evaluate(xn, wn)
            if nn <= (1.0 - 1e-4 * s) * nrm:
                break
            halvings += 1
            if halvings > _FACE_HALVINGS:
                break
            s *= 0.5
        if not nn <= nrm:
            break  # no further decrease (round-off level, or the face is out of reach)
        x, wz, R, st, nrm = xn, wn, Rn, stn, nn
        if np.abs(s * d).max(initial=0.0) <= 1e-13 * (1.0 + np.abs(x).max(initial=0.0)):
            break
    return x, wz, st


def _kink_checks(A, B, Z, pinned, sigma, wz):
    """The branch conditions of a face solution (branch values ``A``, ``B`` of every
    observation): ``("off",)`` if an observation of ``Z`` is not at its kink (Newton did not
    reach the face), ``("flip", idx, None)`` for observations not ``pinned`` on the wrong side of
    their kink (``sigma``), ``("release", idx, branch)`` for kink weights outside [0, 1] (to the
    branch they point at), else None."""
    fscale = 1.0 + np.abs(A) + np.abs(B)
    if Z.size and np.any(np.abs(A - B)[Z] > 1e-10 * fscale[Z]):
        return ("off",)
    bad = ~pinned & (sigma * (A - B) < -1e-12 * fscale)
    if np.any(bad):
        return "flip", np.flatnonzero(bad), None
    tolw = 1e-9
    badw = (wz < -tolw) | (wz > 1.0 + tolw)
    if np.any(badw):
        return "release", Z[badw], np.where(wz[badw] > 1.0, 1.0, -1.0)
    return None


def _kink_face(pb, act, sgn, Z, sigma, z, wz, grp):
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
    ``("flip", idx, None, z, wz)`` / ``("release", idx, branch, z, wz)`` for an active-set change
    (branches contradicted / kink weights outside [0, 1]), or None."""
    X, eps, w, c = pb.X, pb.eps, pb.w, pb.c
    p = pb.p
    fi = pb.fit_intercept
    off = 1 if fi else 0
    Xa = X[:, act]
    pb.passes += len(act) / max(p, 1)
    gt = w[act] * sgn
    gtil = np.concatenate(([0.0], gt)) if fi else gt
    base = (sigma > 0).astype(float)
    pinned = grp >= 0
    mult = np.bincount(grp[pinned], minlength=Z.size).astype(float)

    def X1t(v):
        g = Xa.T @ v
        return np.concatenate(([v.sum()], g)) if fi else g

    def evaluate(z, wz):
        th = Xa @ z[off:]
        if fi:
            th += z[0]
        t = eps * (float(gt @ z[off:]) + c)
        A, a1, a2, B, b1, b2, pi, f1, fT = _branch_mix(pb, th, t, base, pinned, wz[grp[pinned]])
        G = X1t(f1) + gtil * fT.sum()
        R = np.concatenate((G, mult * (A - B)[Z]))
        nrm = float(np.linalg.norm(R)) if np.all(np.isfinite(R)) else np.inf
        return R, nrm, (t, A, a1, a2, B, b1, b2, pi, f1, fT)

    def step(it, z, st, R):
        t, A, a1, a2, B, b1, b2, pi, f1, fT = st
        pb.passes += len(act) / max(p, 1)
        m2 = pi * a2 + (1.0 - pi) * b2
        H = _face_hessian(Xa, m2, X1t(eps * (pi * a2 - (1.0 - pi) * b2)), gtil, eps, fi)
        return _saddle_solve(H, a1, b1, Z, Xa, gtil, eps, fi, R, mult=mult)

    # a face whose equations Newton cannot solve from this start is abandoned early (the polish
    # is only an accelerator: the smoothing continuation goes on)
    out = _face_newton(z, wz, evaluate, step)
    if out is None:
        return None
    z, wz, st = out
    t, A, a1, a2, B, b1, b2, pi, f1, fT = st
    b0n = float(z[0]) if fi else 0.0
    bn = z[off:]
    beta_new = np.zeros(p)
    beta_new[act] = bn
    if np.any(bn * sgn <= 0):
        return None
    change = _kink_checks(A, B, Z, grp >= 0, sigma, wz)
    if change is not None:
        return None if change[0] == "off" else (*change, z, wz)
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
    p = pb.p
    fi = pb.fit_intercept
    T = pb.T(beta)
    if not eps * T > 0:
        return None
    q = p + (1 if fi else 0)
    theta = pb.theta(b0, beta)
    diff = pb._f(theta + eps * T)[0] - pb._f(theta - eps * T)[0]
    if not np.all(np.isfinite(diff)):
        return None

    def solve(act, sgn, Z, sigma, wz, state, grp):
        bz, bb = (b0, beta) if state is None else state
        out = _bridge_face(pb, Z, sigma, bz, bb, wz, grp)
        return out if out is None or out[0] == "ok" else (*out[:3], (out[3], out[4]), out[5])

    act = np.arange(p)  # every coefficient is free: T is smooth
    return _face_search(solve, np.flatnonzero(np.abs(diff) < 30.0 * mu), np.abs(diff),
                        np.where(diff >= 0, 1.0, -1.0), _kink_weights(diff, mu), act,
                        np.ones(p), q, _row_groups(pb.y, pb.X), max_steps=_POLISH_FLIPS + 1,
                        pin_first=False)


def _bridge_face(pb, Z, sigma, b0, beta, wz, grp):
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
    ``("flip", idx, None, b0, beta, wz)`` / ``("release", idx, branch, b0, beta, wz)`` for an
    active-set change (branches contradicted / kink weights outside [0, 1]), or None."""
    X, eps, r = pb.X, pb.eps, pb.r
    p = pb.p
    fi = pb.fit_intercept
    off = 1 if fi else 0
    q = p + off
    cols = np.arange(off, q)
    base = (sigma > 0).astype(float)
    pinned = grp >= 0
    mult = np.bincount(grp[pinned], minlength=Z.size).astype(float)
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
        A, a1, a2, B, b1, b2, pi, f1, fT = _branch_mix(pb, th, t, base, pinned, wz[grp[pinned]])
        K = float(fT.sum())
        R = np.concatenate((X1t(f1) + gT * K, mult * (A - B)[Z]))
        nrm = float(np.linalg.norm(R)) if np.all(np.isfinite(R)) else np.inf
        return R, nrm, (bt, gT, K, A, a1, a2, B, b1, b2, pi, f1)

    def step(it, v, st, R):
        nonlocal pw
        bt, gT, K, A, a1, a2, B, b1, b2, pi, f1 = st
        pb.passes += 1
        m2 = pi * a2 + (1.0 - pi) * b2
        H = _face_hessian(X, m2, X1t(eps * (pi * a2 - (1.0 - pi) * b2)), gT, eps, fi)
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
        return _saddle_solve(J, a1, b1, Z, X, gT, eps, fi, R, Dv, mult)

    v = np.concatenate(([b0], beta)) if fi else np.array(beta, dtype=float)
    out = _face_newton(v, wz, evaluate, step)
    if out is None:
        return None
    v, wz, st = out
    bt, gT, K, A, a1, a2, B, b1, b2, pi, f1 = st
    b0n = float(v[0]) if fi else 0.0
    change = _kink_checks(A, B, Z, grp >= 0, sigma, wz)
    if change is not None:
        return None if change[0] == "off" else (*change, b0n, bt, wz)
    return "ok", b0n, bt
