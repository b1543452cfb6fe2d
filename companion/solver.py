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
from sklearn.exceptions import ConvergenceWarning

from ._newton import _smooth_newton, _split_newton
from ._polish import (_bridge_polish, _gaussian_interpolation_polish, _gaussian_polish,
                      _gaussian_warm, _kink_polish)
from ._problem import _Problem
from ._working_set import solve_working_set
from .families import get_family
from .penalties import Bridge, get_penalty

#: L1-type problems with more features than this (or a sparse X) are solved on working sets
_WS_MIN_P = 200

__all__ = ["FitResult", "_fit_fgsm", "_fit_penalized", "fgsm_objective", "penalized_objective"]


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


#: intermediate smoothing stages stop at optimality residual _STAGE_TOL * mu
_STAGE_TOL = 0.1
#: smoothing level (relative) at which a warm-started continuation starts
_WARM_MU = 1e-5
#: a smoothed Gaussian fit with every residual in the band and at least this fraction of n
#: unknowns in its support triggers the interpolation polish (when p + 1 >= n)
_INTERPOLATE_FRAC = 0.5


def _polish(pb, b0, beta, mu, tol, scale, warm=False, interpolate=False):
    """The family's exact face polish from the smoothed point ``(b0, beta)`` (``warm``: from the
    exact solution of a nearby problem; ``interpolate``: the Gaussian interpolating solution):
    ``(b0, beta, kkt)`` when it returns a point no worse than the current one that meets ``tol``,
    else None."""
    if pb.family == "gaussian" and pb.r is None:
        if interpolate:
            pol = _gaussian_interpolation_polish(pb)
        else:
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


def _may_interpolate(pb, b0, beta, mu):
    """Whether a smoothed Gaussian fit may be (next to) the interpolating one: at least a fraction
    ``_INTERPOLATE_FRAC`` of the residuals inside the smoothing band (as read by
    :func:`_gaussian_polish`) and at least ``_INTERPOLATE_FRAC * n`` unknowns in its support
    (intercept included)."""
    r = pb.y - pb.theta(b0, beta)
    T = pb.T(beta)
    in_band = 2.0 * np.abs(r) * pb.eps * T < 30.0 * mu
    scale = 1.0 + np.abs(beta).max(initial=0.0)
    unknowns = np.count_nonzero(np.abs(beta) > 1e-9 * scale) + (1 if pb.fit_intercept else 0)
    return bool(np.mean(in_band) >= _INTERPOLATE_FRAC) and unknowns >= pb.n * _INTERPOLATE_FRAC


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
    try_interpolation = (pb.family == "gaussian" and pb.r is None
                         and pb.p + (1 if pb.fit_intercept else 0) >= pb.n)
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
        if try_interpolation and _may_interpolate(pb, b0, beta, mu):
            # p + 1 >= n and most residuals sit in the smoothing band: the solution may interpolate
            # (or pin nearly every residual), faces the search from a smoothed fit does not reach;
            # start from the interpolating vertex instead
            try_interpolation = False
            hit = _polish(pb, b0, beta, mu, tol, scale, interpolate=True)
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
        colsq = np.asarray(X.power(2).sum(axis=0)).ravel()
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
