r"""Experiment of the chapter *Gradient regularization (Lyu et al.)* (``notebooks/gradient_regularization.ipynb``).

Lyu, Huang and Liang (2015) replace the inner maximum of adversarial training by its first-order
expansion,

.. math::

    \max_{\lVert r\rVert_p\le s} L(x + r) = L(x) + s\lVert\nabla_x L(x)\rVert_{p^*} + R(s),
    \qquad 1/p + 1/p^* = 1,

attained to first order at :math:`r^* = s\,\mathrm{sign}(g)\lvert g\rvert^{p^*-1}/\lVert g\rVert_{p^*}^{p^*-1}`
(:func:`dual_norm_maximizer`).  This module checks the expansion in two settings.

1. **GLMs** (Gaussian and Bernoulli).  :math:`\nabla_x\ell = \psi\beta` with :math:`\psi = \mu - y`, and the
   loss is monotone in the margin on each side of the ball, so the maximum is exact at the shifted margin:
   :math:`\ell(y, x'\beta + s\,\mathrm{sgn}(\psi)\lVert\beta\rVert_{p^*})` (:func:`glm_worst_case`).  The
   maximizer is exactly :math:`r^*`; only the *loss* has a Taylor remainder
   :math:`R(s) = \tfrac12 s^2\lVert\beta\rVert_{p^*}^2 b''(\theta) + O(s^3)`.  The exact maximum is computed
   independently by vertex enumeration (:func:`vertex_max`, :math:`p\in\{1,\infty\}`) and by projected
   gradient ascent (:func:`pga_max`).
2. **A ReLU network** (64-32-10 on scikit-learn's digits, numpy, trained briefly with Adam).  The exact
   inner maximum (many-step PGA with restarts) has a Taylor remainder :math:`R(s) = O(s^2)`, and in
   addition the first-order maximizer is no longer exact: :math:`\max - L(x + r^*) > 0`.

:func:`run` returns every number of the chapter and the verdicts asserted by ``tests/test_related_lyu.py``.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from ..adversarial import shifted_margin_loss
from ..families import get_family
from ..report import verdict

__all__ = ["P_VALUES", "S_CHECK", "FD_STEP", "S_GLM", "S_MLP", "SIZES", "TRAIN", "PGA", "dual_exponent", "lp_norm",
           "dual_norm_maximizer", "project_ball", "pga_max", "vertex_max", "glm_loss_of_r", "glm_worst_case",
           "glm_penalty", "glm_remainder_coefficient", "random_glm", "breast_cancer_glm", "loglog_slope",
           "digits_data", "init_mlp", "mlp_forward", "mlp_loss_grad", "train_mlp", "mlp_inner_max",
           "GLMCheck", "MLPCheck", "LyuResult", "glm_checks", "mlp_check", "run"]

P_VALUES = (1.0, 2.0, np.inf)
S_GLM = np.geomspace(1e-3, 1e-1, 7)          # radii for the GLM remainder
S_MLP = np.geomspace(5e-4, 1.6e-2, 6)        # l_inf radii (l2 radii: 8 times these) for the network (pixels in [0, 1])
SIZES = (64, 32, 10)
TRAIN = {"steps": 200, "lr": 1e-2, "seed": 0}
PGA = {"steps": 150, "restarts": 4}
SEED = 2015
S_CHECK = 0.3                                 # radius of the GLM closed-form checks
FD_STEP = 1e-6                                # finite-difference step for the penalty check


# --------------------------------------------------------------------------- norms and the dual maximizer
def dual_exponent(p: float) -> float:
    """:math:`p^*` with :math:`1/p + 1/p^* = 1` (``inf`` for ``p = 1`` and ``1`` for ``p = inf``)."""
    p = float(p)
    if p == 1.0:
        return np.inf
    if np.isinf(p):
        return 1.0
    return p / (p - 1.0)


def lp_norm(v, p, axis=-1):
    """:math:`\\lVert v\\rVert_p` along ``axis``."""
    v = np.asarray(v, float)
    if np.isinf(p):
        return np.max(np.abs(v), axis=axis)
    return np.sum(np.abs(v) ** p, axis=axis) ** (1.0 / p)


def dual_norm_maximizer(g, s, p):
    r"""Lyu's maximizer of :math:`g'r` over :math:`\lVert r\rVert_p \le s` (rows of ``g``):
    :math:`r^* = s\,\mathrm{sign}(g)\lvert g\rvert^{p^*-1}/\lVert g\rVert_{p^*}^{p^*-1}`, with
    :math:`g'r^* = s\lVert g\rVert_{p^*}`.  ``p = inf`` gives FGSM, :math:`s\,\mathrm{sign}(g)`; ``p = 1``
    (:math:`p^* = \infty`) puts all of ``s`` on the first coordinate of largest :math:`\lvert g_j\rvert`."""
    g = np.asarray(g, float)
    p = float(p)
    if np.isinf(p):
        return s * np.sign(g)
    if p == 1.0:
        r = np.zeros_like(g)
        j = np.argmax(np.abs(g), axis=-1)
        np.put_along_axis(r, np.expand_dims(j, -1),
                          s * np.sign(np.take_along_axis(g, np.expand_dims(j, -1), -1)), axis=-1)
        return r
    q = dual_exponent(p)
    nq = lp_norm(g, q)[..., None]
    return s * np.sign(g) * (np.abs(g) / np.where(nq > 0, nq, 1.0)) ** (q - 1.0)


def _project_l1(v, s):
    """Euclidean projection of the rows of ``v`` onto the l1 ball of radius ``s`` (sort and threshold)."""
    a = np.abs(v)
    inside = a.sum(-1) <= s
    u = -np.sort(-a, axis=-1)
    css = np.cumsum(u, axis=-1) - s
    k = np.arange(1, v.shape[-1] + 1)
    rho = np.sum(u - css / k > 0, axis=-1)
    tau = np.take_along_axis(css, (rho - 1)[..., None], -1) / rho[..., None]
    out = np.sign(v) * np.maximum(a - tau, 0.0)
    return np.where(inside[..., None], v, out)


def project_ball(v, s, p):
    """Euclidean projection of the rows of ``v`` onto :math:`\\{\\lVert r\\rVert_p\\le s\\}`, ``p`` in {1, 2, inf}."""
    v = np.asarray(v, float)
    if np.isinf(p):
        return np.clip(v, -s, s)
    if p == 2.0:
        n = np.linalg.norm(v, axis=-1, keepdims=True)
        return v * np.minimum(1.0, s / np.where(n > 0, n, 1.0))
    if p == 1.0:
        return _project_l1(v, s)
    raise ValueError("project_ball supports p in {1, 2, inf}")


def _ascent_direction(g, p):
    """Normalized ascent step before projection: sign(g) (l_inf), g/||g||_2 (l2), g/||g||_inf (l1)."""
    if np.isinf(p):
        return np.sign(g)
    n = lp_norm(g, 2.0 if p == 2.0 else np.inf)[..., None]
    return g / np.where(n > 0, n, 1.0)


def pga_max(fun_grad, r0, s, p, steps=PGA["steps"], step0=2.0, decay=0.97):
    r"""Projected gradient ascent of :math:`F(r)` over :math:`\lVert r\rVert_p\le s` from the rows of ``r0``
    (one start per row; ``fun_grad(r)`` returns per-row values and gradients).  Step :math:`k` is
    :math:`r \leftarrow \Pi(r + \alpha_k\,\mathrm{dir}(\nabla F))` with :math:`\alpha_k = \mathrm{step0}\,s\,\mathrm{decay}^k`.
    Returns the best value seen per row and the iterate attaining it."""
    r = project_ball(np.array(r0, float), s, p)
    val, g = fun_grad(r)
    best, arg = val.copy(), r.copy()
    for k in range(steps):
        r = project_ball(r + step0 * s * decay ** k * _ascent_direction(g, p), s, p)
        val, g = fun_grad(r)
        better = val > best
        best = np.where(better, val, best)
        arg = np.where(better[:, None], r, arg)
    return best, arg


def vertex_max(fun, d, s, p):
    r"""Exact maximum of a convex function of :math:`r` over the :math:`\ell_1` or :math:`\ell_\infty` ball by
    enumerating the vertices (:math:`\pm s e_j`, or all :math:`2^d` points of :math:`\{-s, s\}^d`).
    ``fun`` maps a ``(m, d)`` array of vertices to an ``(n, m)`` array of values; returns the max per row
    and the maximizing vertex."""
    if np.isinf(p):
        V = s * np.array(list(itertools.product((-1.0, 1.0), repeat=d)))
    elif p == 1.0:
        V = s * np.vstack([np.eye(d), -np.eye(d)])
    else:
        raise ValueError("a ball with finitely many vertices: p in {1, inf}")
    vals = fun(V)
    j = np.argmax(vals, axis=1)
    return vals[np.arange(vals.shape[0]), j], V[j]


# --------------------------------------------------------------------------- GLMs
def glm_loss_of_r(X, y, beta, family, intercept=0.0):
    """Per-row loss :math:`F_i(r) = \\ell(y_i, (x_i + r_i)'\\beta + b_0)` and its gradient :math:`\\psi_i\\beta`,
    as a ``fun_grad`` for :func:`pga_max` (row ``i`` of ``r`` perturbs observation ``i``)."""
    fam = get_family(family)
    theta = X @ beta + intercept

    def fun_grad(r):
        t = theta + r @ beta
        return fam.loss(y, t), fam.score(y, t)[:, None] * beta[None, :]
    return fun_grad


def _sgn(y, theta, fam):
    return np.where(fam.score(y, theta) >= 0, 1.0, -1.0)


def glm_worst_case(X, y, beta, s, p, family, intercept=0.0):
    r"""Closed form of :math:`\max_{\lVert r\rVert_p\le s}\ell(y, (x + r)'\beta + b_0) =
    \ell\bigl(y, \theta + s\,\mathrm{sgn}(\psi)\lVert\beta\rVert_{p^*}\bigr)`, :math:`\psi = \mu - y`
    (ties to +1).  Also returns the maximizer :math:`r^*` (Lyu's, with :math:`g = \psi\beta`)."""
    fam = get_family(family)
    theta = X @ beta + intercept
    sg = _sgn(y, theta, fam)
    T = lp_norm(beta, dual_exponent(p))
    rstar = dual_norm_maximizer(sg[:, None] * beta[None, :], s, p)
    return fam.loss(y, theta + s * sg * T), rstar


def glm_penalty(X, y, beta, p, family, intercept=0.0):
    r"""Lyu's penalty for a GLM, :math:`\lVert\nabla_x\ell\rVert_{p^*} = \lvert\psi\rvert\lVert\beta\rVert_{p^*}`."""
    fam = get_family(family)
    return np.abs(fam.score(y, X @ beta + intercept)) * lp_norm(beta, dual_exponent(p))


def glm_remainder_coefficient(X, y, beta, p, family, intercept=0.0):
    r"""Leading coefficient of the remainder, :math:`R(s)/s^2 \to \tfrac12\lVert\beta\rVert_{p^*}^2\ell''(\theta)`
    (canonical link, :math:`\ell(y, \theta) = b(\theta) - y\theta`: :math:`\ell'' = b''(\theta) = \mathrm{Var}(Y\mid\theta)`)."""
    fam = get_family(family)
    return 0.5 * lp_norm(beta, dual_exponent(p)) ** 2 * fam.variance(X @ beta + intercept)


def random_glm(family, n=40, d=8, seed=SEED):
    """Random design ``N(0, I_d)``, coefficients ``N(0, 1)``, responses drawn from the model."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    beta = rng.normal(size=d)
    theta = X @ beta
    if family == "gaussian":
        y = theta + rng.normal(size=n)
    else:
        y = (rng.random(n) < 1 / (1 + np.exp(-theta))).astype(float)
    return X, y, beta


def breast_cancer_glm():
    """Standardized breast-cancer data (30 features, ``y = 1`` benign) and a ridge-logistic fit
    (scikit-learn, ``C = 0.1``) as the coefficients at which the worst case is evaluated."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    m = LogisticRegression(C=0.1, max_iter=10000, tol=1e-12).fit(X, y)
    return X, y.astype(float), m.coef_.ravel().copy(), float(m.intercept_[0])


def loglog_slope(s, v):
    """Least-squares slope of :math:`\\log v` on :math:`\\log s`."""
    return float(np.polyfit(np.log(s), np.log(v), 1)[0])


# --------------------------------------------------------------------------- a ReLU network (numpy)
def digits_data(n_test=300, seed=SEED):
    """scikit-learn's digits, pixels scaled to [0, 1]; a seeded split into training and ``n_test`` test rows."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    idx = np.random.default_rng(seed).permutation(len(y))
    X, y = X[idx] / 16.0, y[idx]
    return X[n_test:], X[:n_test], y[n_test:], y[:n_test]


def init_mlp(seed, sizes=SIZES):
    """He-initialized weights ``[(W1, b1), (W2, b2)]`` with ``W`` of shape (out, in)."""
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(o, i)) * np.sqrt(2.0 / i), np.zeros(o)) for i, o in zip(sizes[:-1], sizes[1:])]


def mlp_forward(params, X):
    """Logits :math:`f(x) = W_2\\,\\mathrm{relu}(W_1x + b_1) + b_2` for the rows of ``X``; also the hidden layer."""
    (W1, b1), (W2, b2) = params
    z1 = X @ W1.T + b1
    h = np.maximum(z1, 0.0)
    return h @ W2.T + b2, z1, h


def mlp_loss_grad(params, X, y):
    r"""Per-row cross entropy :math:`\mathrm{CE}(f(x), y)` and its input gradient
    :math:`\nabla_x = W_1'\,\bigl(1[z_1 > 0]\odot W_2'(p - e_y)\bigr)`."""
    (W1, _), (W2, _) = params
    z, z1, _ = mlp_forward(params, X)
    zmax = z.max(-1, keepdims=True)
    lse = zmax[:, 0] + np.log(np.exp(z - zmax).sum(-1))
    loss = lse - z[np.arange(len(y)), y]
    P = np.exp(z - lse[:, None])
    P[np.arange(len(y)), y] -= 1.0
    return loss, ((P @ W2) * (z1 > 0)) @ W1


def train_mlp(X, y, steps=TRAIN["steps"], lr=TRAIN["lr"], seed=TRAIN["seed"], sizes=SIZES):
    """Full-batch Adam on the mean cross entropy (manual backpropagation); returns parameters and loss curve."""
    params = init_mlp(seed, sizes)
    flat = [a.copy() for pair in params for a in pair]
    m = [np.zeros_like(a) for a in flat]
    v = [np.zeros_like(a) for a in flat]
    n, Y = len(y), np.eye(sizes[-1])[y]
    losses = []
    for t in range(1, steps + 1):
        W1, b1, W2, b2 = flat
        z, z1, h = mlp_forward([(W1, b1), (W2, b2)], X)
        z = z - z.max(-1, keepdims=True)
        P = np.exp(z)
        P /= P.sum(-1, keepdims=True)
        losses.append(float(-np.mean(np.log(P[np.arange(n), y]))))
        dz = (P - Y) / n
        dh = (dz @ W2) * (z1 > 0)
        grads = [dh.T @ X, dh.sum(0), dz.T @ h, dz.sum(0)]
        for k, gk in enumerate(grads):
            m[k] = 0.9 * m[k] + 0.1 * gk
            v[k] = 0.999 * v[k] + 0.001 * gk ** 2
            flat[k] = flat[k] - lr * (m[k] / (1 - 0.9 ** t)) / (np.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)
    return [(flat[0], flat[1]), (flat[2], flat[3])], np.array(losses)


def mlp_inner_max(params, X, y, s, p, restarts=PGA["restarts"], steps=PGA["steps"], seed=SEED):
    r"""Exact inner maximum :math:`\max_{\lVert r\rVert_p\le s}\mathrm{CE}(f(x + r), y)` per row by PGA with
    ``restarts`` starts: Lyu's :math:`r^*`, the centre, and random points of the ball.  Returns the
    maximum, the clean loss :math:`L`, :math:`\lVert\nabla_x L\rVert_{p^*}` and :math:`L(x + r^*)`."""
    n, d = X.shape
    L, g = mlp_loss_grad(params, X, y)
    rstar = dual_norm_maximizer(g, s, p)
    rng = np.random.default_rng(seed)
    starts = [rstar, np.zeros_like(rstar)]
    starts += [project_ball(rng.uniform(-s, s, size=(n, d)), s, p) for _ in range(restarts - 2)]
    R0 = np.concatenate(starts)
    Xr, yr = np.tile(X, (len(starts), 1)), np.tile(y, len(starts))
    best, _ = pga_max(lambda r: mlp_loss_grad(params, Xr + r, yr), R0, s, p, steps=steps)
    Lstar = mlp_loss_grad(params, X + rstar, y)[0]
    best = np.maximum(best.reshape(len(starts), n).max(0), Lstar)
    return best, L, lp_norm(g, dual_exponent(p)), Lstar


# --------------------------------------------------------------------------- experiment
@dataclass
class GLMCheck:
    label: str
    p: float
    n: int
    d: int
    closed_vs_pga: float         # max |closed form - PGA maximum|
    closed_vs_vertex: float      # max |closed form - vertex enumeration| (nan for p = 2 or large d)
    pga_above_closed: float      # max (PGA - closed form): > 0 would refute the closed form
    maximizer_error: float       # max ||argmax_PGA - r*||_inf
    penalty_error: float         # max | ||grad_x l||_{p*} (finite differences) - |psi| ||beta||_{p*} |


@dataclass
class MLPCheck:
    p: float
    s: np.ndarray
    remainder: np.ndarray        # mean over points of max - L - s ||grad||_{p*}
    maximizer_gap: np.ndarray    # mean over points of max - L(x + r*)
    frac_negative: np.ndarray    # fraction of points with remainder < 0
    slope: float
    slope_first_half: float
    slope_second_half: float
    maximizer_gap_slope: float


@dataclass
class LyuResult:
    glm: list
    zuo_error: float
    glm_s: np.ndarray
    glm_remainder: dict          # family -> mean remainder per s (p = inf), random data
    glm_coef: dict               # family -> mean predicted coefficient 1/2 ||beta||_1^2 b''(theta)
    glm_maximizer_gap: dict      # family -> max over s of |max - l(x + r*)|
    glm_slopes: dict
    mlp: dict                    # p -> MLPCheck
    train_loss: np.ndarray
    test_accuracy: float
    n_points: int
    verdicts: dict = field(default_factory=dict)


def _fd_grad_norm(X, y, beta, family, intercept, q, h=FD_STEP):
    """Dual norm of the central finite-difference input gradient of the loss (independent of psi*beta)."""
    fam = get_family(family)
    G = np.empty_like(X)
    for j in range(X.shape[1]):
        e = np.zeros(X.shape[1])
        e[j] = h
        G[:, j] = (fam.loss(y, (X + e) @ beta + intercept) - fam.loss(y, (X - e) @ beta + intercept)) / (2 * h)
    return lp_norm(G, q)


def glm_checks(s=S_CHECK):
    """Closed form vs independent maxima for the random Gaussian/Bernoulli GLMs and the breast-cancer fit."""
    cases = []
    for fam in ("gaussian", "bernoulli"):
        X, y, beta = random_glm(fam)
        cases.append((f"random {fam}", X, y, beta, 0.0, fam))
    X, y, beta, b0 = breast_cancer_glm()
    cases.append(("breast cancer, logistic", X, y, beta, b0, "bernoulli"))
    out = []
    for label, X, y, beta, b0, fam in cases:
        n, d = X.shape
        for p in P_VALUES:
            closed, rstar = glm_worst_case(X, y, beta, s, p, fam, b0)
            fg = glm_loss_of_r(X, y, beta, fam, b0)
            rng = np.random.default_rng(SEED)
            best = np.full(n, -np.inf)
            arg = np.zeros_like(X)
            for start in (np.zeros_like(X), rng.uniform(-s, s, size=X.shape), rng.normal(size=X.shape)):
                b, a = pga_max(fg, start, s, p)
                arg = np.where((b > best)[:, None], a, arg)
                best = np.maximum(best, b)
            vert = np.nan
            if p != 2.0 and (p == 1.0 or d <= 12):
                fam_ = get_family(fam)
                theta = X @ beta + b0
                vmax, _ = vertex_max(lambda V: fam_.loss(y[:, None], theta[:, None] + (V @ beta)[None, :]), d, s, p)
                vert = float(np.max(np.abs(vmax - closed)))
            pen_fd = _fd_grad_norm(X, y, beta, fam, b0, dual_exponent(p))
            out.append(GLMCheck(label, float(p), n, d, float(np.max(np.abs(best - closed))), vert,
                                float(np.max(best - closed)), float(np.max(np.abs(arg - rstar))),
                                float(np.max(np.abs(pen_fd - glm_penalty(X, y, beta, p, fam, b0))))))
    return out


def mlp_check(params, X, y, p, s_grid):
    """Remainder and maximizer gap of the network, averaged over the rows of ``X``, on a grid of radii."""
    rem, gap, neg = [], [], []
    for s in s_grid:
        best, L, gn, Lstar = mlp_inner_max(params, X, y, s, p)
        r = best - L - s * gn
        rem.append(r.mean())
        gap.append((best - Lstar).mean())
        neg.append(np.mean(r < 0))
    rem, gap = np.array(rem), np.array(gap)
    h = len(s_grid) // 2
    return MLPCheck(float(p), np.asarray(s_grid), rem, gap, np.array(neg), loglog_slope(s_grid, rem),
                    loglog_slope(s_grid[:h + 1], rem[:h + 1]), loglog_slope(s_grid[h:], rem[h:]),
                    loglog_slope(s_grid, gap))


SLOPE_TOL = 0.25


def _err(x):
    """An absolute error at round-off level, shown as a bound: an exact 0 and 1e-16 print alike
    (which of the two a machine produces depends on its floating-point kernels)."""
    return max(abs(float(x)), np.finfo(float).tiny)


def run(n_points=300) -> LyuResult:
    """All checks of the chapter and their verdicts (deterministic; a few seconds on two cores)."""
    glm = glm_checks()
    # Zuo: p = inf closed form is the book's shifted-margin loss
    zuo = 0.0
    for fam in ("gaussian", "bernoulli"):
        X, y, beta = random_glm(fam)
        for s in (0.05, 0.3, 1.0):
            zuo = max(zuo, float(np.max(np.abs(glm_worst_case(X, y, beta, s, np.inf, fam)[0]
                                               - shifted_margin_loss(X, y, beta, s, fam)))))
    rem, coef, mgap, slopes = {}, {}, {}, {}
    for fam in ("gaussian", "bernoulli"):
        X, y, beta = random_glm(fam)
        fg = glm_loss_of_r(X, y, beta, fam)
        L = fg(np.zeros_like(X))[0]
        pen = glm_penalty(X, y, beta, np.inf, fam)
        r_s, g_s = [], []
        for s in S_GLM:
            closed, rstar = glm_worst_case(X, y, beta, s, np.inf, fam)
            r_s.append(np.mean(closed - L - s * pen))
            best, _ = pga_max(fg, np.zeros_like(X), s, np.inf)
            g_s.append(np.max(np.abs(best - fg(rstar)[0])))
        rem[fam], mgap[fam] = np.array(r_s), float(np.max(g_s))
        coef[fam] = float(np.mean(glm_remainder_coefficient(X, y, beta, np.inf, fam)))
        slopes[fam] = loglog_slope(S_GLM, rem[fam])
    Xtr, Xte, ytr, yte = digits_data()
    params, losses = train_mlp(Xtr, ytr)
    acc = float(np.mean(np.argmax(mlp_forward(params, Xte)[0], -1) == yte))
    Xp, yp = Xte[:n_points], yte[:n_points]
    mlp = {p: mlp_check(params, Xp, yp, p, S_MLP * (8.0 if p == 2.0 else 1.0)) for p in (2.0, np.inf)}

    res = LyuResult(glm, zuo, S_GLM, rem, coef, mgap, slopes, mlp, losses, acc, n_points)
    v = res.verdicts
    # display floors: errors at machine precision are shown as bounds (their digits depend on the CPU)
    cp = max(c.closed_vs_pga for c in glm)
    v["glm_closed_form_equals_pga_max"] = verdict(
        "glm_closed_form_equals_pga_max", _err(cp), 1e-10,
        statement="max |closed form - PGA maximum| over data sets, p in {1, 2, inf}", floor=1e-12)
    cv = max(c.closed_vs_vertex for c in glm if np.isfinite(c.closed_vs_vertex))
    v["glm_closed_form_equals_vertex_max"] = verdict(
        "glm_closed_form_equals_vertex_max", _err(cv), 1e-12,
        statement="max |closed form - vertex enumeration|, p in {1, inf}", floor=1e-12)
    me = max(c.maximizer_error for c in glm)
    v["glm_maximizer_is_lyu_r_star"] = verdict(
        "glm_maximizer_is_lyu_r_star", _err(me), 1e-8, statement="max ||argmax(PGA) - r*||_inf", floor=1e-8)
    pe = max(c.penalty_error for c in glm)
    v["glm_penalty_is_abs_psi_times_dual_norm"] = verdict(
        "glm_penalty_is_abs_psi_times_dual_norm", pe, 1e-6,
        statement="max | ||grad_x l||_p* (finite differences) - |psi| ||beta||_p* |", floor=1e-7)
    v["p_inf_is_zuo_shifted_margin"] = verdict(
        "p_inf_is_zuo_shifted_margin", _err(zuo), 1e-12,
        statement="max |closed form (p = inf) - companion.adversarial.shifted_margin_loss|", floor=1e-12)
    g = max(mgap.values())
    v["glm_first_order_maximizer_exact"] = verdict(
        "glm_first_order_maximizer_exact", _err(g), 1e-12,
        statement="max over s of |PGA max - l(x + r*)|, random GLMs, p = inf", floor=1e-12)
    for fam in ("gaussian", "bernoulli"):
        ratio = rem[fam][0] / S_GLM[0] ** 2 / coef[fam]
        v[f"glm_remainder_coefficient_{fam}"] = verdict(
            f"glm_remainder_coefficient_{fam}", _err(ratio - 1), 0.01,
            statement=f"|R(s)/(s^2 C) - 1| at s = {S_GLM[0]:g}, C = mean 1/2 ||beta||_1^2 b''(theta)", floor=1e-9)
    for p, m in mlp.items():
        name = "inf" if np.isinf(p) else "2"
        v[f"mlp_remainder_slope_p{name}"] = verdict(
            f"mlp_remainder_slope_p{name}", abs(m.slope - 2), SLOPE_TOL, statement=f"|slope - 2|, slope {m.slope:.3f}")
        v[f"mlp_first_order_maximizer_not_exact_p{name}"] = verdict(
            f"mlp_first_order_maximizer_not_exact_p{name}", m.maximizer_gap[-1], 1e-6, op=">",
            statement="mean max - L(x + r*) at the largest s")
    return res
