r"""Related results: Lyu et al. (2015)'s first-order expansion of the l_p-ball worst case and the
linear case of Roth et al. (2020)'s operator-norm regularization (derivation ``lyu_roth``)."""
from __future__ import annotations

import itertools

import sympy as sp

from .core import Derivation, check_condition, check_equal, check_nonnegative_polynomial, check_series, sign_cases

__all__ = ["lyu_roth", "dual_maximizer", "pnorm"]


def pnorm(v, p):
    """l_p norm of a sympy vector (p = sympy.oo for the max norm)."""
    if p == sp.oo:
        return sp.Max(*[sp.Abs(e) for e in v])
    return sp.Add(*[sp.Abs(e) ** p for e in v]) ** (1 / sp.sympify(p))


def dual_maximizer(g, s, p):
    r""":math:`r^* = s\,\mathrm{sign}(g)|g|^{p^*-1}/\lVert g\rVert_{p^*}^{p^*-1}`, the maximizer of
    :math:`g'r` over :math:`\lVert r\rVert_p \le s` (:math:`p=\infty`: :math:`r^* = s\,\mathrm{sign}(g)`)."""
    if p == sp.oo:
        return g.applyfunc(lambda e: s * sp.sign(e))
    ps = p / (p - 1)
    nrm = pnorm(g, ps)
    return g.applyfunc(lambda e: s * sp.sign(e) * sp.Abs(e) ** (ps - 1) / nrm ** (ps - 1))


def lyu_roth() -> Derivation:
    D = Derivation("lyu_roth", "Lyu et al. (2015) and Roth et al. (2020): the linear case", "sym-lyu-roth")
    s = sp.Symbol("s", positive=True)
    # concrete rational gradients for which the dual norms are exact
    cases = [
        (sp.Integer(2), sp.Matrix([3, -4, 12])),
        (sp.Integer(3), sp.Matrix([1, -4, 9])),          # p* = 3/2
        (sp.Integer(4), sp.Matrix([-1, 8, 27])),         # p* = 4/3
        (sp.oo, sp.Matrix([3, -1, 2])),                  # p* = 1 (FGSM)
    ]
    for p, g in cases:
        ps = sp.Integer(1) if p == sp.oo else p / (p - 1)
        rstar = dual_maximizer(g, s, p)
        D.step(rf"$p = {sp.latex(p)}$, $p^* = {sp.latex(ps)}$, $g = {sp.latex(g.T)}$: maximizer $r^*$", rstar.T)
        D.add(check_equal(f"p={p}: ||r*||_p = s", pnorm(rstar, p), s))
        D.add(check_equal(f"p={p}: g'r* = s ||g||_(p*)", (g.T * rstar)[0], s * pnorm(g, ps)))
    # symbolic g in R^2 for p = 2
    g1, g2 = sp.Symbol("g1", positive=True), sp.Symbol("g2", real=True)   # g != 0
    gs = sp.Matrix([g1, g2])
    r2 = dual_maximizer(gs, s, sp.Integer(2))
    D.add(check_equal("p=2, symbolic g: ||r*||_2 = s", pnorm(r2, 2), s))
    D.add(check_equal("p=2, symbolic g: g'r* = s ||g||_2", (gs.T * r2)[0], s * pnorm(gs, 2)))
    # optimality for p = 2: Lagrange's identity ||g||^2||r||^2 - (g'r)^2 = sum_{i<j} (g_i r_j - g_j r_i)^2 >= 0
    g = sp.Matrix(sp.symbols("g1:4", real=True))
    rv = sp.Matrix(sp.symbols("r1:4", real=True))
    D.add(check_equal("p=2 optimality (Cauchy-Schwarz via Lagrange's identity)",
                      (g.T * g)[0] * (rv.T * rv)[0] - (g.T * rv)[0] ** 2,
                      sum((g[i] * rv[j] - g[j] * rv[i]) ** 2 for i, j in itertools.combinations(range(3), 2))))
    # first-order expansion for a GLM: L(x + s e) = L + s psi beta'e + O(s^2)
    d = 2
    x = sp.Matrix(sp.symbols("x1:3", real=True))
    beta = sp.Matrix(sp.symbols("beta1:3", real=True))
    qpsi = sp.Symbol("q", positive=True)
    c = list(sp.symbols("c1:3", positive=True))
    theta = (x.T * beta)[0]
    grad = D.step(r"GLM (Poisson, $b = e^\theta$): $\nabla_x \ell = \psi\beta$", sp.Symbol("psi") * beta.T)
    y = sp.Symbol("y", real=True)
    loss = sp.exp(theta) - y * theta
    gradx = sp.Matrix([sp.diff(loss, xj) for xj in x])
    D.add(check_equal("Poisson: grad_x l = (e^theta - y) beta", gradx, (sp.exp(theta) - y) * beta))
    for pp, label in ((sp.oo, "p=inf (FGSM)"), (sp.Integer(2), "p=2")):
        for sg in (1, -1):
            ysub = {y: sp.exp(theta) - sg * qpsi}                # psi = sg * q at the base point x
            for case in sign_cases(beta, c):
                e = dual_maximizer(gradx.subs(ysub).subs(case), 1, pp)
                shifted = loss.subs(case).subs(dict(zip(x, x + s * e)), simultaneous=True).subs(ysub).subs(case)
                psn = 1 if pp == sp.oo else 2
                want = qpsi * pnorm(beta.subs(case), psn)     # |psi| ||beta||_(p*)
                D.add(check_series(f"{label}, sign(psi)={sg:+d}, beta={tuple(case.values())}: "
                                   f"d/ds l(x + s r*) at s=0 = |psi| ||beta||_p*",
                                   shifted, s, {0: loss.subs(ysub).subs(case), 1: want}, order=2))
    psi = sp.Symbol("psi", real=True)
    b3 = sp.Matrix(sp.symbols("beta1:4", real=True))
    for ps in (sp.Integer(1), sp.Integer(2), sp.Rational(3, 2)):
        D.add(check_equal(f"||psi beta||_{ps} = |psi| ||beta||_{ps}",
                          pnorm(psi * b3, ps),
                          sp.Abs(psi) * pnorm(b3, ps), subs=sign_cases([psi] + list(b3))))
    # Roth et al.: J = beta' (1 x d); ||J||_(inf, q) = max_{||v||_inf <= 1} ||beta'v||_q = ||beta||_1
    q = sp.Symbol("q", positive=True)
    a = sp.Symbol("a", real=True)
    D.step(r"Roth et al.: $\lVert J\rVert_{\infty,q} = \max_{\lVert v\rVert_\infty\le1}\lVert Jv\rVert_q$ with "
           r"$J = \beta'$; for a scalar $\lVert a\rVert_q = (|a|^q)^{1/q}$", (sp.Abs(a) ** q) ** (1 / q))
    D.add(check_equal("||a||_q = |a| for a scalar, every q > 0", (sp.Abs(a) ** q) ** (1 / q), sp.Abs(a)))
    b = sp.Matrix(sp.symbols("beta1:4", real=True))
    cc = list(sp.symbols("c1:4", positive=True))
    ok, nchk, attained_all = True, 0, True
    for case in sign_cases(b, cc):
        norm1 = sum(sp.Abs(e) for e in b.subs(case))
        attained = False
        for vert in itertools.product((1, -1), repeat=3):
            val = sum(vj * bj for vj, bj in zip(vert, b.subs(case)))
            for sgn in (1, -1):   # ||beta||_1 -/+ beta'v >= 0  <=>  |beta'v| <= ||beta||_1
                ok = ok and check_nonnegative_polynomial("", norm1 - sgn * val, cc).passed
                nchk += 1
            attained = attained or sp.expand(norm1 - val) == 0
        attained_all = attained_all and attained
    D.add(check_condition("|beta'v| <= ||beta||_1 at every vertex of the cube (d=3, all sign cases)", ok,
                          f"{nchk} nonnegative-coefficient polynomials"))
    D.add(check_condition("the bound ||beta||_1 is attained at a vertex in every sign case", attained_all))
    D.add(check_equal("attained at v = sign(beta): beta'sign(beta) = ||beta||_1",
                      (b.T * b.applyfunc(sp.sign))[0], sum(sp.Abs(e) for e in b), subs=sign_cases(b, cc)))
    return D
