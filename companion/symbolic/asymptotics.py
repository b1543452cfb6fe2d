r"""Knight--Fu type asymptotics of FGSM-regularized GLM estimators (derivations ``knight_fu``,
``kappa_v``, ``orthogonal``, ``pivotal``).

These are the book's own reconstruction, derived from first principles; they are consistent with
the claims of Zuo (2018).  Objective (first-order form, sum over observations):

.. math::  Z_n(\beta) = \sum_i \ell(y_i, x_i'\beta) + \lambda_n P(\beta) A_n(\beta),\qquad
           A_n(\beta) = \tfrac1n\sum_i|\psi_i(\beta)|,\quad \lambda_n = n\varepsilon_n .

At :math:`\beta_0 + u/\sqrt n`, with :math:`\kappa = E|\psi(\beta_0)|` and
:math:`V = \nabla_\beta E|\psi(\beta)|\,|_{\beta_0} = E[\mathrm{sign}(\mu_0 - Y) b''(X'\beta_0) X]`.
"""
from __future__ import annotations

import mpmath
import sympy as sp

from .core import (Derivation, check_condition, check_equal, check_not_equal, check_numeric,
                   check_series)

__all__ = ["knight_fu", "kappa_v", "orthogonal", "pivotal", "Phi", "soft_threshold_moments",
           "logistic_kappa_v"]


def Phi(x):
    """Standard normal cdf as a sympy expression."""
    return (1 + sp.erf(x / sp.sqrt(2))) / 2


def phi(x):
    return sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)


# ----------------------------------------------------------------------------------------------
# 5. Knight--Fu expansion
# ----------------------------------------------------------------------------------------------
def _dispersion_penalty_term(r, sg, lam_power, with_A=True):
    """G(w) = w^k * lambda_n [P(b0 + u t) A(b0 + u t) - P(b0) A(b0)] with t = w^m = 1/sqrt(n),
    lambda_n = lambda0 n^lam_power = lambda0 * w^(-k); coordinate 1 has b01 = sg * c != 0, coordinate 2 has b02 = 0."""
    w, c, lam0, kap = sp.symbols("w c lambda0 kappa", positive=True)
    u1, u2, V1, V2, h11, h12, h22 = sp.symbols("u1 u2 V1 V2 h11 h12 h22", real=True)
    r = sp.nsimplify(r)
    m = sp.fraction(r)[1]                      # t = w^m makes t^r an integer power of w
    t = w**m
    k = 2 * sp.nsimplify(lam_power) * m        # lambda_n = lambda0 n^alpha = lambda0 t^(-2 alpha) = lambda0 w^(-k)
    # |b01 + u1 t|^r = (c + sg*u1*t)^r for t small; |u2 t|^r = |u2|^r t^r
    P_new = (c + sg * u1 * t) ** r + sp.Abs(u2) ** r * w ** (m * r)
    P_old = c**r
    if with_A:
        A_new = kap + (V1 * u1 + V2 * u2) * t + (h11 * u1**2 + 2 * h12 * u1 * u2 + h22 * u2**2) * t**2 / 2
        A_old = kap
    else:
        A_new = A_old = 1
    G = lam0 * (P_new * A_new - P_old * A_old)          # = w^k * (lambda_n [...])
    syms = dict(w=w, c=c, lam0=lam0, kap=kap, u1=u1, u2=u2, V1=V1, V2=V2)
    return G, int(k), syms


def knight_fu() -> Derivation:
    D = Derivation("knight_fu", "Knight-Fu expansion: the asymptotic objective functions", "sym-knight-fu")
    t = sp.Symbol("t", positive=True)
    n = sp.Symbol("n", positive=True)
    r, c, lam0, kap = sp.symbols("r c lambda0 kappa", positive=True)
    u1, u2, V1, V2 = sp.symbols("u1 u2 V1 V2", real=True)

    # (a) loss part: per-observation Taylor series in t = 1/sqrt(n)
    b = sp.Function("b")
    x = sp.Matrix(sp.symbols("x1:3", real=True))
    u = sp.Matrix([u1, u2])
    b0 = sp.Matrix(sp.symbols("beta01:3", real=True))
    y = sp.Symbol("y", real=True)
    eta0 = (x.T * b0)[0]
    loss = b((x.T * (b0 + u * t))[0]) - y * (x.T * (b0 + u * t))[0]
    D.step(r"Loss of one observation at $\beta_0 + u t$, $t = 1/\sqrt n$", loss)
    psi0 = sp.diff(b(eta0), b0[0]) / x[0] - y      # b'(eta0) - y
    D.add(check_series("loss: l(b0+ut) = l(b0) + t psi x'u + t^2 b''(x'b0)(x'u)^2/2 + O(t^3)", loss, t,
                       {0: b(eta0) - y * eta0, 1: sp.simplify(psi0) * (x.T * u)[0],
                        2: sp.Subs(sp.Derivative(b(sp.Symbol("z")), sp.Symbol("z"), 2), sp.Symbol("z"), eta0).doit()
                        * (x.T * u)[0] ** 2 / 2}))
    D.step(r"Summing over $n = t^{-2}$ observations: $t\sum_i\psi_i x_i'u = -u'W_n$ with "
           r"$W_n = -n^{-1/2}\sum_i \psi_i x_i \to N(0, E[\psi^2XX'])$, $t^2\sum_i b''_i (x_i'u)^2/2 \to u'Iu/2$, "
           r"and the cubic term is $t^3 \cdot O(n) = O(t)$", None)

    # (b) orders in n of the penalty/dispersion terms: lambda_n = lambda0 n^alpha
    alpha = sp.Symbol("alpha", positive=True)
    terms = {
        "lambda_n [|b0j + u_j t|^r - |b0j|^r], b0j != 0": alpha - sp.Rational(1, 2),
        "lambda_n |u_j t|^r, b0j = 0": alpha - r / 2,
        "lambda_n P(b0) [A(b0+ut) - kappa] (V term)": alpha - sp.Rational(1, 2),
        "lambda_n [P(b0+ut) - P(b0)][A(b0+ut) - kappa], b0j != 0": alpha - 1,
        "lambda_n |u_j t|^r [A(b0+ut) - kappa], b0j = 0": alpha - r / 2 - sp.Rational(1, 2),
    }
    # check the first exponent by a series with symbolic r: (c + u t)^r - c^r = r c^(r-1) u t + O(t^2)
    D.add(check_series("symbolic r: (c + u1 t)^r - c^r = r c^(r-1) u1 t + O(t^2)", (c + u1 * t) ** r - c**r, t,
                       {1: r * c ** (r - 1) * u1}))
    D.add(check_series("symbolic r, b0j = -c < 0: |b0j + u1 t|^r - |b0j|^r = r u1 sign(b0j)|b0j|^(r-1) t + O(t^2)",
                       (c - u1 * t) ** r - c**r, t, {1: r * u1 * (-1) * c ** (r - 1)}))
    D.add(check_equal("zero coefficient: |u2 t|^r = t^r |u2|^r (exact)", sp.expand_power_base(sp.Abs(u2 * t) ** r),
                      t**r * sp.Abs(u2) ** r))
    table = {}
    for regime, a_val, rcond in (("r=1", sp.Rational(1, 2), {r: 1}), ("r>1", sp.Rational(1, 2), {r: 1 + sp.Symbol("delta", positive=True)}),
                                 ("r<1", r / 2, {r: 1 / (1 + sp.Symbol("delta", positive=True))})):
        table[regime] = [sp.simplify(e.subs(alpha, a_val).subs(rcond)) for e in terms.values()]
    tex = [r"$\lambda_n(\lvert\beta_{0j}+u_jt\rvert^r-\lvert\beta_{0j}\rvert^r)$, $\beta_{0j}\ne0$",
           r"$\lambda_n\lvert u_jt\rvert^r$, $\beta_{0j}=0$",
           r"$\lambda_nP(\beta_0)[A(\beta_0+ut)-\kappa]$ ($V$ term)",
           r"$\lambda_n[P(\beta_0+ut)-P(\beta_0)][A(\beta_0+ut)-\kappa]$, $\beta_{0j}\ne0$",
           r"$\lambda_n\lvert u_jt\rvert^r[A(\beta_0+ut)-\kappa]$, $\beta_{0j}=0$"]
    rows = ["| term | exponent of $n$ | $r=1$ | $r=1+\\delta$ | $r=1/(1+\\delta)$ |", "|---|---|---|---|---|"]
    for i, (lab, e) in enumerate(zip(tex, terms.values())):
        rows.append(f"| {lab} | ${sp.latex(e)}$ | " + " | ".join(f"${sp.latex(table[k][i])}$" for k in table) + " |")
    D.step(r"Exponent of $n$ of each term when $\lambda_n = \lambda_0 n^{\alpha}$ ($\alpha = 1/2$ for $r \ge 1$, "
           r"$\alpha = r/2$ for $r < 1$), and its value in the three regimes ($\delta > 0$): 0 = survives, "
           r"negative = vanishes" + "\n\n" + "\n".join(rows), None)
    signs = {k: [sp.sign(e) for e in v] for k, v in table.items()}
    D.add(check_condition("r=1: nonzero-coef, zero-coef and V terms are O(1); cross terms vanish",
                          signs["r=1"] == [0, 0, 0, -1, -1], str(signs["r=1"])))
    D.add(check_condition("r>1: nonzero-coef and V terms O(1); zero-coef term vanishes (exponent (1-r)/2 < 0)",
                          signs["r>1"] == [0, -1, 0, -1, -1], str(signs["r>1"])))
    D.add(check_condition("r<1 (lambda_n ~ n^(r/2)): only the zero-coef term survives; nonzero-coef and V terms ~ n^((r-1)/2)",
                          signs["r<1"] == [-1, 0, -1, -1, -1], str(signs["r<1"])))
    D.add(check_equal("r<1: exponent of the nonzero-coef and V terms is (r-1)/2",
                      terms["lambda_n [|b0j + u_j t|^r - |b0j|^r], b0j != 0"].subs(alpha, r / 2), (r - 1) / 2))

    # (c) full limits for concrete r, coordinate 1: b01 = sg*c != 0, coordinate 2: b02 = 0
    def theorem(rv, sg, with_A=True):
        k_ = kap if with_A else 1
        Vu = (V1 * u1 + V2 * u2) if with_A else 0
        if rv == 1:
            return lam0 * k_ * (u1 * sg + sp.Abs(u2)) + lam0 * c * Vu
        if rv > 1:
            return lam0 * k_ * rv * u1 * sg * c ** (rv - 1) + lam0 * c**rv * Vu
        return lam0 * k_ * sp.Abs(u2) ** rv

    for with_A, tag in ((True, "FGSM"), (False, "penalized likelihood (kappa=1, no V)")):
        for rv in (sp.Integer(1), sp.Integer(2), sp.Rational(3, 2), sp.Rational(1, 2)):
            lam_power = sp.Rational(1, 2) if rv >= 1 else rv / 2
            for sg in (1, -1):
                G, k, S = _dispersion_penalty_term(rv, sg, lam_power, with_A)
                want = theorem(rv, sg, with_A).subs({lam0: S["lam0"], kap: S["kap"], c: S["c"], u1: S["u1"], u2: S["u2"],
                                                     V1: S["V1"], V2: S["V2"]})
                coeffs = {j: 0 for j in range(k)}
                coeffs[k] = want
                order = k + 1
                if rv < 1:      # next term ~ t^(1-r) = n^((r-1)/2): nonzero coefficient and V terms
                    kk = sp.Integer(k) + (1 - rv) * sp.fraction(rv)[1]
                    nxt = S["lam0"] * ((S["kap"] if with_A else 1) * rv * S["u1"] * sg * S["c"] ** (rv - 1)
                                       + ((S["c"] ** rv * (S["V1"] * S["u1"] + S["V2"] * S["u2"])) if with_A else 0))
                    coeffs[int(kk)] = nxt
                    order = int(kk) + 1
                name = {1: "A", 2: "B", sp.Rational(3, 2): "B", sp.Rational(1, 2): "C"}[rv]
                D.add(check_series(f"Theorem {name} ({tag}), r={rv}, sign(b01)={sg:+d}: limit of lambda_n[P A - P0 kappa]",
                                   G, S["w"], coeffs, order=order))
    # display the limits
    W = sp.Matrix(sp.symbols("W1 W2", real=True))
    i11, i12, i22 = sp.symbols("I11 I12 I22", real=True)
    I = sp.Matrix([[i11, i12], [i12, i22]])
    quad = -(u.T * W)[0] + (u.T * I * u)[0] / 2
    s1 = sp.Symbol(r"\sigma_1")
    D.step(r"Theorem A ($r=1$), coordinate 1 with $\beta_{01} \ne 0$, $\sigma_1 = \mathrm{sign}(\beta_{01})$, coordinate 2 "
           r"with $\beta_{02} = 0$: $V_1(u)=$", quad + lam0 * kap * (s1 * u1 + sp.Abs(u2)) + lam0 * c * (V1 * u1 + V2 * u2))
    D.step(r"Theorem B ($r>1$): $V_r(u) =$", quad + lam0 * kap * r * s1 * c ** (r - 1) * u1 + lam0 * c**r * (V1 * u1 + V2 * u2))
    D.step(r"Theorem C ($0<r<1$, $\lambda_n/n^{r/2}\to\lambda_0$): $V_r(u) =$", quad + lam0 * kap * sp.Abs(u2) ** r)
    D.step(r"Here $n^{-1/2}$-expansion in terms of $n$: $\lambda_n = \lambda_0\sqrt n$, $t = n^{-1/2}$", sp.Eq(t, n ** sp.Rational(-1, 2)))
    return D


# ----------------------------------------------------------------------------------------------
# 6. kappa and V
# ----------------------------------------------------------------------------------------------
def _gauss_expect(f, dps):
    """E f(Z), Z ~ N(0,1), by tanh-sinh quadrature on [-16, 16] (the tail mass beyond is < 1e-57)."""
    with mpmath.workdps(dps):
        c = 1 / mpmath.sqrt(2 * mpmath.pi)
        return c * mpmath.quad(lambda z: f(z) * mpmath.exp(-z * z / 2), [-16, 0, 16])


def logistic_kappa_v(a=0, slope=1, dps=30):
    r"""kappa = E[2 mu (1 - mu)] and V = E[(1 - 2 mu) mu (1 - mu) X] for logistic regression with
    X = (1, Z), Z ~ N(0, 1), beta0 = (a, slope), by mpmath quadrature at ``dps`` digits."""
    with mpmath.workdps(dps):
        a, slope = mpmath.mpf(a), mpmath.mpf(slope)
        mu = lambda z: 1 / (1 + mpmath.exp(-(a + slope * z)))  # noqa: E731

        def w(z):
            m = mu(z)
            return m * (1 - m)

        def v(z):
            m = mu(z)
            return (1 - 2 * m) * m * (1 - m)

        kappa = _gauss_expect(lambda z: 2 * w(z), dps)
        v0 = _gauss_expect(v, dps)
        v1 = _gauss_expect(lambda z: v(z) * z, dps)
    return kappa, v0, v1


def _logistic_mean_abs_psi(beta, a0, s0, dps):
    """F(beta) = E|Y - expit(X'beta)| with Y | Z ~ Bernoulli(expit(a0 + s0 Z)): exact sum over Y."""
    b0, b1 = beta

    def f(z):
        mu0 = 1 / (1 + mpmath.exp(-(a0 + s0 * z)))
        m = 1 / (1 + mpmath.exp(-(b0 + b1 * z)))
        return mu0 * (1 - m) + (1 - mu0) * m

    return _gauss_expect(f, dps)


def kappa_v() -> Derivation:
    D = Derivation("kappa_v", "kappa and V in closed form", "sym-kappa-v")
    e = sp.Symbol("e", real=True)
    sigma, bl, z, cc = sp.symbols("sigma b z c", positive=True)
    # Gaussian
    dens = sp.exp(-e**2 / (2 * sigma**2)) / (sigma * sp.sqrt(2 * sp.pi))
    kappa_g = D.step(r"Gaussian noise $N(0,\sigma^2)$: $\kappa = E|e|$", sp.integrate(sp.Abs(e) * dens, (e, -sp.oo, sp.oo)))
    D.add(check_equal("gaussian: kappa = sigma*sqrt(2/pi)", kappa_g, sigma * sp.sqrt(2 / sp.pi)))
    esign_g = sp.integrate(dens, (e, 0, sp.oo)) - sp.integrate(dens, (e, -sp.oo, 0))
    D.step(r"$E\,\mathrm{sign}(e) = P(e>0) - P(e<0)$, and $V = E[\mathrm{sign}(-e)X] = -E[\mathrm{sign}(e)]E[X]$ (independence)", esign_g)
    D.add(check_equal("gaussian: E sign(e) = 0, so V = 0", esign_g, 0))
    # Laplace
    dens_l = sp.exp(-sp.Abs(e) / bl) / (2 * bl)
    D.add(check_equal("laplace: density integrates to 1", sp.integrate(dens_l, (e, -sp.oo, sp.oo)), 1))
    kappa_l = D.step(r"Laplace noise (scale $b$): $\kappa$", sp.integrate(sp.Abs(e) * dens_l, (e, -sp.oo, sp.oo)))
    D.add(check_equal("laplace: kappa = b", kappa_l, bl))
    D.add(check_equal("laplace: E sign(e) = 0, so V = 0",
                      sp.integrate(dens_l, (e, 0, sp.oo)) - sp.integrate(dens_l, (e, -sp.oo, 0)), 0))
    # centred exponential: e = Z - 1, Z ~ Exp(1)
    kappa_e = D.step(r"Centred exponential $e = Z - 1$, $Z\sim\mathrm{Exp}(1)$: $\kappa = E|Z-1| = "
                     r"\int_0^1 (1-z)e^{-z}dz + \int_1^\infty (z-1)e^{-z}dz$",
                     sp.integrate((1 - z) * sp.exp(-z), (z, 0, 1)) + sp.integrate((z - 1) * sp.exp(-z), (z, 1, sp.oo)))
    D.add(check_equal("exponential: kappa = 2/e", kappa_e, 2 * sp.exp(-1)))
    p_pos = sp.integrate(sp.exp(-z), (z, 1, sp.oo))
    D.add(check_equal("exponential: P(e > 0) = 1/e", p_pos, sp.exp(-1)))
    V_e = D.step(r"$V = -E[\mathrm{sign}(e)]E[X] = (1 - 2P(e>0))E[X]$: coefficient of $E[X]$", -(2 * p_pos - 1))
    # independent route: intercept-only model, G(c) = E|c - e| for c > -1 (a = c + 1 > 0)
    aa = sp.Symbol("a", positive=True)
    G = (sp.integrate((aa - z) * sp.exp(-z), (z, 0, aa)) + sp.integrate((z - aa) * sp.exp(-z), (z, aa, sp.oo)))
    Gc = G.subs(aa, cc + 1)
    D.step(r"Independent route (intercept only, $X = 1$): $G(c) = E|c - e|$ in closed form", sp.simplify(G))
    D.add(check_equal("exponential: G(0) = E|e| = 2/e", G.subs(aa, 1), kappa_e))
    D.add(check_equal("exponential: V = G'(0) = 1 - 2/e (derivative of E|psi| in the intercept)",
                      sp.diff(G, aa).subs(aa, 1), V_e))
    D.add(check_equal("exponential: V coefficient = 1 - 2/e", V_e, 1 - 2 * sp.exp(-1)))
    D.add(check_condition("exponential: V != 0 (1 - 2/e > 0)", bool(sp.N(V_e, 30) > 0), f"1 - 2/e = {sp.N(V_e, 8)}"))
    _ = Gc
    # logistic: conditional identities
    eta, eta1 = sp.symbols("eta eta1", real=True)
    m = lambda h: 1 / (1 + sp.exp(-h))  # noqa: E731
    mu0 = m(eta)
    h = mu0 * (1 - m(eta1)) + (1 - mu0) * m(eta1)     # E[|Y - m(eta1)| | eta], Y ~ Bernoulli(mu0)
    D.step(r"Logistic: $E[|Y - \mu(\eta')|\,\mid X] = \mu_0(1-\mu(\eta')) + (1-\mu_0)\mu(\eta')$", h)
    D.add(check_equal("logistic: E[|psi| | X] = 2 mu0 (1 - mu0)", h.subs(eta1, eta), 2 * mu0 * (1 - mu0)))
    D.add(check_equal("logistic: d/deta' E[|psi| | X] at eta0 = (1 - 2 mu0) mu0 (1 - mu0) = E[sign(mu0-Y)|X] b''",
                      sp.diff(h, eta1).subs(eta1, eta), (1 - 2 * mu0) * mu0 * (1 - mu0)))
    integrand_int = (1 - 2 * m(z)) * m(z) * (1 - m(z))
    zz = sp.Symbol("zeta", real=True)
    f_int = integrand_int.subs(z, zz) * phi(zz)
    D.add(check_equal("logistic, beta0=(0,1): intercept integrand is odd in z, so V_0 = 0",
                      f_int.subs(zz, -zz) + f_int, 0))
    D.add(check_equal("logistic, beta0=(0,1): slope integrand is even in z (V_1 need not vanish)",
                      (zz * f_int).subs(zz, -zz), zz * f_int))
    kap, v0, v1 = logistic_kappa_v(0, 1)
    D.step(r"$X = (1, Z)$, $\beta_0 = (0, 1)$: $(\kappa, V_0, V_1)$ by 30-digit quadrature",
           sp.Matrix([[sp.Float(kap, 10), sp.Float(v0 + 0, 10) if abs(v0) > 1e-20 else 0, sp.Float(v1, 10)]]))
    D.add(check_numeric("logistic (0,1): V_intercept = 0", v0, 0, tol=1e-25))
    D.add(check_condition("logistic (0,1): V_slope = E[(1-2mu)mu(1-mu)Z] < 0 (nonzero for balanced classes)",
                          v1 < -1e-3, f"V_slope = {mpmath.nstr(v1, 10)}"))
    # independent route: high-precision derivative of F(beta) = E|Y - expit(X'beta)|
    # (central differences with h = 1e-14 at 45 digits: truncation error ~ h^2 = 1e-28)
    with mpmath.workdps(45):
        h_ = mpmath.mpf(10) ** -14
        F = lambda b0, b1: _logistic_mean_abs_psi((b0, b1), 0, 1, 45)  # noqa: E731
        k_direct = F(0, 1)
        g0 = (F(h_, 1) - F(-h_, 1)) / (2 * h_)
        g1 = (F(0, 1 + h_) - F(0, 1 - h_)) / (2 * h_)
    D.add(check_numeric("logistic (0,1): kappa = E|Y - mu0| (exact sum over Y) = E[2mu0(1-mu0)]", kap, k_direct, tol=1e-25))
    D.add(check_numeric("logistic (0,1): V_intercept = d/dbeta_0 E|psi| (numerical derivative)", v0, g0, tol=1e-20))
    D.add(check_numeric("logistic (0,1): V_slope = d/dbeta_1 E|psi| (numerical derivative)", v1, g1, tol=1e-20))
    for a in (1, -1):
        ka, va0, va1 = logistic_kappa_v(a, 1, dps=15)
        D.add(check_condition(f"logistic ({a},1), unbalanced: V_intercept != 0 with sign {-a:+d}",
                              mpmath.sign(va0) == -a and abs(va0) > 1e-3, f"V_0 = {mpmath.nstr(va0, 10)}"))
    return D


# ----------------------------------------------------------------------------------------------
# 7. orthogonal design
# ----------------------------------------------------------------------------------------------
def soft_threshold_moments(c, lam, s):
    r"""For :math:`z \sim N(c, s^2)` and :math:`S(z,\lambda) = \mathrm{sign}(z)(|z|-\lambda)_+`:
    ``(P(S = 0), E S, Var S)`` as sympy expressions."""
    p0 = Phi((lam - c) / s) - Phi((-lam - c) / s)
    m1, m2 = c - lam, c + lam                     # means of z - lam and z + lam
    mean = (m1 * Phi(m1 / s) + s * phi(m1 / s)) + (m2 * Phi(-m2 / s) - s * phi(m2 / s))
    second = ((m1**2 + s**2) * Phi(m1 / s) + m1 * s * phi(m1 / s)) + ((m2**2 + s**2) * Phi(-m2 / s) - m2 * s * phi(m2 / s))
    return p0, mean, second - mean**2


def orthogonal() -> Derivation:
    D = Derivation("orthogonal", "Orthogonal design: closed-form argmin of V1", "sym-orthogonal")
    u, zc, W, Vj = sp.symbols("u z W V_j", real=True)
    I, lam, dlt, lam0, kap, N1 = sp.symbols("I_jj lambda delta lambda0 kappa N", positive=True)
    sg = sp.Symbol("sigma_j")
    f = D.step(r"Coordinate $j$ with $\beta_{0j} = 0$ ($N = \lVert\beta_0\rVert_1$): $V_1$ restricted to $u_j$",
               -u * W + I * u**2 / 2 + lam0 * kap * sp.Abs(u) + lam0 * N1 * Vj * u)
    D.step(r"$= I_{jj}u^2/2 - u z + \lambda|u|$ with $z = W_j - \lambda_0 N V_j$, $\lambda = \lambda_0\kappa$; minimizer "
           r"$u_j = S(z, \lambda)/I_{jj}$", None)
    g = I * u**2 / 2 - u * zc + lam * sp.Abs(u)
    D.add(check_equal("objective rewrites with z = W - lambda0 N V_j, lambda = lambda0 kappa",
                      f, g.subs({zc: W - lam0 * N1 * Vj, lam: lam0 * kap})))
    a_, b_ = sp.symbols("a b", positive=True)
    # z > lambda: u* = (z - lambda)/I > 0 is stationary
    up = (lam + dlt - lam) / I
    D.add(check_equal("z = lambda + delta: derivative zero at u* = (z - lambda)/I",
                      sp.diff(g, u).subs(zc, lam + dlt).subs(u, up), 0))
    un = (-lam - dlt + lam) / I
    D.add(check_equal("z = -lambda - delta: derivative zero at u* = (z + lambda)/I",
                      sp.diff(g, u).subs(zc, -lam - dlt).subs(u, un), 0))
    zin = lam * (a_ - b_) / (a_ + b_)       # any z in (-lambda, lambda)
    D.add(check_condition("|z| < lambda: 0 in subdifferential [-z - lambda, -z + lambda] at u = 0",
                          bool(sp.simplify(-zin - lam).is_nonpositive) and bool(sp.simplify(-zin + lam).is_nonnegative)))
    f2 = -u * W + I * u**2 / 2 + lam0 * kap * sg * u + lam0 * N1 * Vj * u
    ustar = D.step(r"Coordinate with $\beta_{0j}\ne0$, $\sigma_j = \mathrm{sign}(\beta_{0j})$: $u_j =$",
                   (W - lam0 * kap * sg - lam0 * N1 * Vj) / I)
    D.add(check_equal("b0j != 0: derivative zero at u_j = (W - lambda0 kappa sign - lambda0 N V_j)/I",
                      sp.diff(f2, u).subs(u, ustar), 0))
    # distribution: W ~ N(0, s^2); z ~ N(c, s^2), c = -lambda0 N V_j
    c, s = sp.symbols("c s", real=True)
    s = sp.Symbol("s", positive=True)
    p0, mean, var = soft_threshold_moments(c, lam, s)
    D.step(r"$P(u_j = 0)$ for $z\sim N(c, s^2)$, $c = -\lambda_0 N V_j$", p0)
    D.step(r"$E\,S(z,\lambda)$ (so $E u_j = E S/I_{jj}$, bias of $\sqrt n(\hat\beta_j - 0)$)", mean)
    D.step(r"Second moment $E\,S(z,\lambda)^2$; then $\mathrm{Var}\,S = E\,S^2 - (E\,S)^2$ "
           r"(and $\mathrm{Var}\,u_j = \mathrm{Var}\,S/I_{jj}^2$)", var + mean**2)
    D.add(check_equal("lambda = 0: E S = c", mean.subs(lam, 0), c))
    D.add(check_equal("lambda = 0: Var S = s^2", var.subs(lam, 0), s**2))
    D.add(check_equal("c = 0: E S = 0 (symmetry)", mean.subs(c, 0), 0))
    # high-precision quadrature
    vals = {c: sp.Rational(3, 10), lam: sp.Rational(7, 10), s: sp.Rational(6, 5)}
    with mpmath.workdps(40):
        cv, lv, sv = (mpmath.mpf(3) / 10, mpmath.mpf(7) / 10, mpmath.mpf(6) / 5)
        dens = lambda zz: mpmath.npdf(zz, cv, sv)  # noqa: E731
        q_p0 = mpmath.quad(dens, [-lv, lv])
        q_m = mpmath.quad(lambda zz: (zz - lv) * dens(zz), [lv, mpmath.inf]) + \
            mpmath.quad(lambda zz: (zz + lv) * dens(zz), [-mpmath.inf, -lv])
        q_2 = mpmath.quad(lambda zz: (zz - lv) ** 2 * dens(zz), [lv, mpmath.inf]) + \
            mpmath.quad(lambda zz: (zz + lv) ** 2 * dens(zz), [-mpmath.inf, -lv])
        q_v = q_2 - q_m**2
    D.add(check_numeric("P(u=0): closed form = quadrature (c=3/10, lambda=7/10, s=6/5)", p0.subs(vals), q_p0, tol=1e-28))
    D.add(check_numeric("E S: closed form = quadrature", mean.subs(vals), q_m, tol=1e-28))
    D.add(check_numeric("Var S: closed form = quadrature", var.subs(vals), q_v, tol=1e-28))
    return D


# ----------------------------------------------------------------------------------------------
# 8. noise-level pivotality
# ----------------------------------------------------------------------------------------------
def pivotal() -> Derivation:
    D = Derivation("pivotal", "Noise-level pivotality of FGSM", "sym-pivotal")
    sigma, lam0 = sp.symbols("sigma lambda0", positive=True)
    u = sp.Matrix(sp.symbols("u1 u2", real=True))
    v = sp.Matrix(sp.symbols("v1 v2", real=True))
    Z = sp.Matrix(sp.symbols("Z1 Z2", real=True))
    i11, i12, i22 = sp.symbols("I11 I12 I22", real=True)
    I = sp.Matrix([[i11, i12], [i12, i22]])
    s1 = sp.Symbol("sigma_1")            # sign of the nonzero coefficient b01 (b02 = 0)

    def V1(uu, kappa):
        pen = s1 * uu[0] + sp.Abs(uu[1])
        return -(uu.T * (sigma * Z))[0] + (uu.T * I * uu)[0] / 2 + lam0 * kappa * pen

    kap_f = sigma * sp.sqrt(2 / sp.pi)
    fg = D.step(r"FGSM, linear Gaussian model: $W = \sigma Z$, $\kappa = \sigma\sqrt{2/\pi}$, $V = 0$: $V_1(u) =$", V1(u, kap_f))
    sub = dict(zip(u, sigma * v))
    fg_v = D.step(r"Substitute $u = \sigma v$", sp.expand(V1(u, kap_f).subs(sub, simultaneous=True)))
    G = D.step(r"$= \sigma^2 G(v)$ with $G$ free of $\sigma$:",
               -(v.T * Z)[0] + (v.T * I * v)[0] / 2 + lam0 * sp.sqrt(2 / sp.pi) * (s1 * v[0] + sp.Abs(v[1])))
    D.add(check_equal("FGSM: V1(sigma v) = sigma^2 G(v; lambda0)", fg_v, sigma**2 * G))
    D.add(check_condition("FGSM: G does not involve sigma", sigma not in G.free_symbols))
    D.add(check_equal("FGSM: d/dsigma [V1(sigma v)/sigma^2] = 0", sp.diff(fg_v / sigma**2, sigma), 0))
    la = D.step(r"Lasso (penalized likelihood, $\kappa = 1$): $V_1(\sigma v)/\sigma^2$",
                sp.expand(V1(u, 1).subs(sub, simultaneous=True) / sigma**2))
    mu = sp.Symbol("mu", positive=True)
    G_l = -(v.T * Z)[0] + (v.T * I * v)[0] / 2 + mu * (s1 * v[0] + sp.Abs(v[1]))
    D.add(check_equal("Lasso: V1(sigma v)/sigma^2 = G_lasso(v; lambda0/sigma)", la, G_l.subs(mu, lam0 / sigma)))
    at = {v[0]: 1, v[1]: 1, s1: 1, lam0: 1, sigma: 1}
    D.add(check_not_equal("Lasso: d/dsigma [V1(sigma v)/sigma^2] != 0", sp.diff(la, sigma), 0, at=at,
                          expected=-2))
    # orthogonal design: P(u_j = 0) for a zero coefficient, Var W_j = sigma^2 I_jj, c = 0
    Ijj = sp.Symbol("I_jj", positive=True)
    p_f = D.step(r"Orthogonal design, $\beta_{0j}=0$: FGSM $P(u_j = 0) = 2\Phi(\lambda_0\kappa/s_j) - 1$, "
                 r"$s_j = \sigma\sqrt{I_{jj}}$", 2 * Phi(lam0 * kap_f / (sigma * sp.sqrt(Ijj))) - 1)
    p_l = D.step(r"Lasso: $P(u_j = 0) = $", 2 * Phi(lam0 / (sigma * sp.sqrt(Ijj))) - 1)
    D.add(check_equal("FGSM: P(u_j = 0) does not depend on sigma", sp.diff(p_f, sigma), 0))
    D.add(check_not_equal("Lasso: P(u_j = 0) depends on sigma", sp.diff(p_l, sigma), 0,
                          at={lam0: 1, sigma: 1, Ijj: 1}))
    p0 = soft_threshold_moments(0, lam0 * kap_f, sigma * sp.sqrt(Ijj))[0]
    D.add(check_equal("FGSM: 2 Phi(.) - 1 agrees with the orthogonal-design formula (c = 0)", p0, p_f))
    return D
