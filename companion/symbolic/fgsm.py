r"""FGSM examples, the shifted-margin loss, the linear-model worst case and the generalized
noise direction (derivations ``fgsm_examples``, ``holder_linear``, ``noise_direction``).

Notation: canonical GLM loss :math:`\ell(y,\theta) = b(\theta) - y\theta`, :math:`\theta = x'\beta`,
score :math:`\psi = b'(\theta) - y = \mu - y`.
"""
from __future__ import annotations

import itertools

import sympy as sp

from .core import (Derivation, check_condition, check_equal, check_nonnegative_polynomial,
                   check_not_equal, sign_cases)

__all__ = ["fgsm_examples", "holder_linear", "noise_direction", "softplus", "scad_penalty",
           "mcp_penalty", "scad_derivative", "mcp_derivative", "FAMILIES"]


def softplus(z):
    r""":math:`\zeta(z) = \log(1 + e^z)` (Goodfellow et al.'s :math:`\zeta`)."""
    return sp.log(1 + sp.exp(z))


#: cumulant functions b(theta) of the three canonical families
FAMILIES = {
    "gaussian": lambda th: th**2 / 2,
    "bernoulli": lambda th: sp.log(1 + sp.exp(th)),
    "poisson": lambda th: sp.exp(th),
}


def _vec(name: str, d: int, **assumptions):
    return sp.Matrix(sp.symbols(f"{name}1:{d + 1}", **assumptions))


def fgsm_examples(d: int = 2) -> Derivation:
    r"""FGSM examples and the shifted-margin loss for Gaussian, Bernoulli ({0,1} and {-1,+1}
    labels) and Poisson, and where Goodfellow et al. (2015, Sec. 5)'s printed formula fails."""
    D = Derivation("fgsm_examples", "FGSM examples and the shifted-margin loss", "sym-fgsm-examples")
    x, beta = _vec("x", d, real=True), _vec("beta", d, real=True)
    y, th = sp.symbols("y theta", real=True)
    eps = sp.Symbol("varepsilon", positive=True)
    theta = (x.T * beta)[0]
    pos = list(sp.symbols(f"c1:{d + 1}", positive=True))
    cases = sign_cases(beta, pos)          # all sign patterns of beta, beta_j = +/- c_j
    norm1 = sum(sp.Abs(b) for b in beta)
    D.step(r"Linear predictor $\theta = x'\beta$ and $\lVert\beta\rVert_1$ ($d = %d$)" % d, (theta, norm1))

    for fam, bfun in FAMILIES.items():
        loss = (y - theta) ** 2 / 2 if fam == "gaussian" else bfun(theta) - y * theta
        psi = sp.diff(bfun(th), th) - y                    # score as a function of theta
        psi_x = psi.subs(th, theta)
        grad = sp.Matrix([sp.diff(loss, xj) for xj in x])
        D.step(rf"{fam.capitalize()}: loss $\ell(y, x'\beta)$ and $\nabla_x \ell$", (loss, grad.T))
        D.add(check_equal(f"{fam}: grad_x l = psi * beta", grad, psi_x * beta))
        # FGSM example: x + eps * sign(grad); its predictor, compared with the shifted margin
        x_adv = x + eps * grad.applyfunc(sp.sign)
        theta_adv = (x_adv.T * beta)[0]
        s = sp.sign(psi_x)
        D.add(check_equal(f"{fam}: x_adv'beta = x'beta + eps*s*||beta||_1 (sign cases of beta)",
                          theta_adv, theta + eps * s * norm1, subs=cases))
        loss_adv = loss.subs(dict(zip(x, x_adv)), simultaneous=True)
        if fam == "gaussian":
            shifted = (y - theta - eps * s * norm1) ** 2 / 2
        else:
            shifted = bfun(theta + eps * s * norm1) - y * (theta + eps * s * norm1)
        D.add(check_equal(f"{fam}: l(x_adv) = l(y, theta + eps*s*||beta||_1)", loss_adv, shifted, subs=cases))

    # Gaussian closed form (|r| + eps ||beta||_1)^2 / 2 with r = y - theta, s = -sign(r)
    r, N = sp.Symbol("r", real=True), sp.Symbol("N", positive=True)
    rho = sp.Symbol("rho", positive=True)
    gauss_shift = (r - eps * (-sp.sign(r)) * N) ** 2 / 2
    D.step(r"Gaussian: with $r = y - x'\beta$, $s = -\mathrm{sign}(r)$ and $N = \lVert\beta\rVert_1$ the loss at "
           r"$x^{adv}$ is $(r - \varepsilon s N)^2/2$, which equals", (sp.Abs(r) + eps * N) ** 2 / 2)
    D.add(check_equal("gaussian: (r + eps*sign(r)*N)^2/2 = (|r| + eps N)^2/2 (r>0, r<0)",
                      gauss_shift, (sp.Abs(r) + eps * N) ** 2 / 2, subs=[{r: rho}, {r: -rho}]))

    # Bernoulli {0,1}: closed form softplus(-ytil*theta + eps*N), ytil = 2y - 1
    b = FAMILIES["bernoulli"]
    closed01 = softplus(-(2 * y - 1) * th + eps * N)
    D.step(r"Bernoulli, $y\in\{0,1\}$, $\tilde y = 2y-1$: $\ell(x^{adv}) = $", closed01)
    for yv in (0, 1):
        s_y = sp.sign(sp.simplify(sp.diff(b(th), th) - yv))      # = -ytil, exactly
        D.add(check_equal(f"bernoulli y={yv}: s = sign(mu - y) = -(2y-1)", s_y, -(2 * yv - 1)))
        lhs = b(th + eps * s_y * N) - yv * (th + eps * s_y * N)
        # compare exp of both sides (exp is injective), which sympy expands exactly
        D.add(check_equal(f"bernoulli y={yv}: l(y, theta+eps*s*N) = softplus(-ytil*theta + eps*N)",
                          sp.exp(lhs), sp.exp(closed01.subs(y, yv))))

    # Bernoulli {-1,+1}: loss softplus(-y theta); Goodfellow's printed form
    loss_pm = softplus(-y * th)
    s_pm = sp.Symbol("s")
    correct = softplus(eps * N - y * th)
    printed = softplus(y * (eps * N - th))
    D.step(r"Bernoulli, $y\in\{-1,+1\}$: loss $\zeta(-y\theta)$, $\zeta(z) = \log(1+e^z)$; "
           r"$\partial_\theta \ell = -y\,\zeta'(-y\theta)$ so $s = -y$", loss_pm)
    for yv in (1, -1):
        dl = sp.diff(loss_pm, th).subs(y, yv)
        s_y = sp.sign(sp.simplify(dl))
        D.add(check_equal(f"labels +-1, y={yv:+d}: s = sign(dl/dtheta) = -y", s_y, -yv))
        D.add(check_equal(f"labels +-1, y={yv:+d}: l(y, theta + eps*s*N) = zeta(eps*N - y*theta)",
                          sp.exp(loss_pm.subs(y, yv).subs(th, th + eps * s_y * N)),
                          sp.exp(correct.subs(y, yv))))
    D.step(r"Correct general form $\zeta(\varepsilon\lVert w\rVert_1 - y(w'x+b))$ vs. the printed "
           r"$\zeta(y(\varepsilon\lVert w\rVert_1 - w'x - b))$ (with $\theta = w'x + b$)",
           sp.Eq(sp.Symbol("correct"), correct))
    D.step(r"Goodfellow et al.'s printed form (their Sec. 5), with $N = \lVert w\rVert_1$",
           sp.Eq(sp.Symbol("printed"), printed))
    D.add(check_equal("Goodfellow printed form is right for y=+1", printed.subs(y, 1), correct.subs(y, 1)))
    D.add(check_not_equal("Goodfellow printed form is NOT right for y=-1 (difference at theta=0 is -eps*N)",
                          printed.subs(y, -1), correct.subs(y, -1), at={th: 0}, expected=-eps * N))
    D.step(r"For $y=-1$: printed $-$ correct $= \zeta(\theta - \varepsilon N) - \zeta(\theta + \varepsilon N) < 0$; "
           r"its value at $\theta = 0$",
           sp.simplify((printed - correct).subs({y: -1, th: 0})))
    return D


def holder_linear(d: int = 3, n: int = 3) -> Derivation:
    r"""Linear model: FGSM attains the worst case over the l_inf ball (Hoelder), and the sum
    expansion RSS/2 + eps||beta||_1 sum|r_i| + n eps^2 ||beta||_1^2 / 2."""
    D = Derivation("holder_linear", "Linear model: FGSM is the worst case over the l_inf ball", "sym-holder")
    beta = _vec("beta", d, real=True)
    t = _vec("t", d, real=True)                  # perturbation delta = eps * t, |t_j| <= 1
    r = sp.Symbol("r", real=True)
    eps = sp.Symbol("varepsilon", positive=True)
    f = D.step(r"Loss at $x+\delta$, $\delta = \varepsilon t$, $\lVert t\rVert_\infty \le 1$, $r = y - x'\beta$",
               (r - eps * (t.T * beta)[0]) ** 2 / 2)
    H = sp.hessian(f, list(t))
    D.step(r"Hessian in $t$ (rank one, positive semidefinite: $v'Hv = \varepsilon^2 (\beta'v)^2$), so the "
           r"maximum over the cube $[-1,1]^d$ is attained at a vertex", H)
    D.add(check_equal("Hessian = eps^2 * beta beta'", H, eps**2 * beta * beta.T))
    v = _vec("v", d, real=True)
    D.add(check_equal("v'Hv = eps^2 (beta'v)^2 >= 0", (v.T * H * v)[0], eps**2 * ((beta.T * v)[0]) ** 2))
    norm1 = sum(sp.Abs(b) for b in beta)
    target = D.step(r"Claimed supremum $(|r| + \varepsilon\lVert\beta\rVert_1)^2/2$", (sp.Abs(r) + eps * norm1) ** 2 / 2)
    rho = sp.Symbol("rho", positive=True)
    pos = list(sp.symbols(f"c1:{d + 1}", positive=True))
    n_vertex, ok_bound, ok_attain = 0, True, True
    bad = ""
    for rs in (1, -1):
        for case in sign_cases(beta, pos):
            case = dict(case)
            case[r] = rs * rho
            tgt = target.subs(case)
            attained = False
            for vert in itertools.product((1, -1), repeat=d):
                val = f.subs(dict(zip(t, vert))).subs(case)
                gap = sp.expand(2 * (tgt - val))
                chk = check_nonnegative_polynomial("gap", gap, [rho, eps] + pos)
                n_vertex += 1
                if not chk.passed:
                    ok_bound, bad = False, f"vertex {vert}, case {case}"
                attained = attained or gap == 0
            ok_attain = ok_attain and attained
    D.add(check_condition(f"every vertex value <= (|r| + eps||beta||_1)^2/2 (all sign cases, d={d})", ok_bound,
                          f"{n_vertex} vertex/sign cases, gap polynomial has nonnegative coefficients" + (f"; {bad}" if bad else "")))
    D.add(check_condition("the bound is attained at some vertex in every sign case", ok_attain))
    t_star = D.step(r"Explicit maximizer (the FGSM direction, $s = \mathrm{sign}(\mu - y) = -\mathrm{sign}(r)$)",
                    -sp.sign(r) * beta.applyfunc(sp.sign))
    cases = []
    for rs in (1, -1):
        for case in sign_cases(beta, pos):
            case = dict(case)
            case[r] = rs * rho
            cases.append(case)
    D.add(check_equal("loss at x + eps*s*sign(beta) = (|r| + eps||beta||_1)^2/2",
                      f.subs(dict(zip(t, t_star)), simultaneous=True), target, subs=cases))
    # sum over observations
    rr = list(sp.symbols(f"r1:{n + 1}", real=True))
    N = sp.Symbol("N", positive=True)
    lhs = D.step(r"Sum over $n=%d$ observations, $N = \lVert\beta\rVert_1$" % n,
                 sum((sp.Abs(ri) + eps * N) ** 2 / 2 for ri in rr))
    rhs = D.step(r"$= \mathrm{RSS}/2 + \varepsilon N \sum_i |r_i| + n\varepsilon^2 N^2/2$",
                 sum(ri**2 for ri in rr) / 2 + eps * N * sum(sp.Abs(ri) for ri in rr) + n * eps**2 * N**2 / 2)
    D.add(check_equal(f"sum of (|r_i| + eps N)^2/2 expansion (n={n})", lhs, rhs))
    return D


# ----------------------------------------------------------------------------------------------
# penalties
# ----------------------------------------------------------------------------------------------
def scad_penalty(t, lam, a=sp.Rational(37, 10)):
    """SCAD penalty of Fan & Li (2001) at t >= 0."""
    lam, a = sp.sympify(lam), sp.sympify(a)
    return sp.Piecewise((lam * t, t <= lam),
                        ((2 * a * lam * t - t**2 - lam**2) / (2 * (a - 1)), t <= a * lam),
                        (lam**2 * (a + 1) / 2, True))


def scad_derivative(t, lam, a=sp.Rational(37, 10)):
    """Fan & Li's p'(t) = lam {1(t <= lam) + (a lam - t)_+ / ((a - 1) lam) 1(t > lam)}."""
    lam, a = sp.sympify(lam), sp.sympify(a)
    return sp.Piecewise((lam, t <= lam), ((a * lam - t) / (a - 1), t <= a * lam), (0, True))


def mcp_penalty(t, lam, gamma=3):
    """Minimax concave penalty of Zhang (2010) at t >= 0."""
    lam, gamma = sp.sympify(lam), sp.sympify(gamma)
    return sp.Piecewise((lam * t - t**2 / (2 * gamma), t <= gamma * lam), (gamma * lam**2 / 2, True))


def mcp_derivative(t, lam, gamma=3):
    """p'(t) = (lam - t/gamma)_+."""
    lam, gamma = sp.sympify(lam), sp.sympify(gamma)
    return sp.Piecewise((lam - t / gamma, t <= gamma * lam), (0, True))


def noise_direction(d: int = 2) -> Derivation:
    r"""Generalized FGSM direction ``d_j = sign(beta_j) p(|beta_j|)/|beta_j|`` with ``d'beta = P(beta)``
    for L1, bridge L_r, SCAD (a = 3.7) and MCP (gamma = 3)."""
    D = Derivation("noise_direction", "Generalized FGSM: the noise direction", "sym-noise-direction")
    beta = _vec("beta", d, real=True)
    pos = list(sp.symbols(f"c1:{d + 1}", positive=True))
    tt = sp.Symbol("t", positive=True)
    lam = sp.Symbol("lambda", positive=True)
    rr = sp.Symbol("r", positive=True)
    a, gamma = sp.Rational(37, 10), 3
    pens = {
        "L1": lambda u: u,
        "bridge L_r": lambda u: u**rr,
        "SCAD": lambda u: scad_penalty(u, lam, a),
        "MCP": lambda u: mcp_penalty(u, lam, gamma),
    }
    D.step(r"SCAD penalty $p(t)$, $t\ge 0$, $a = 3.7$", scad_penalty(tt, lam, a))
    D.step(r"MCP penalty $p(t)$, $t \ge 0$, $\gamma = 3$", mcp_penalty(tt, lam, gamma))
    for name, p in pens.items():
        direction = beta.applyfunc(lambda b: sp.sign(b) * p(sp.Abs(b)) / sp.Abs(b))
        dtb = (direction.T * beta)[0]
        P = sum(p(sp.Abs(b)) for b in beta)
        # shown with beta_j sign(beta_j) written as |beta_j|; the check below uses dtb as computed
        shown = dtb.subs({b * sp.sign(b): sp.Abs(b) for b in beta})
        D.step(rf"{name}: direction $d$ and $d'\beta$ (with $\beta_j\,\mathrm{{sign}}(\beta_j) = \lvert\beta_j\rvert$)",
               (direction.T, shown))
        D.add(check_equal(f"{name}: d'beta = P(beta) (all sign cases)", dtb, P, subs=sign_cases(beta, pos)))
    # SCAD / MCP: the pieces fit together (continuity of p and p') and p' is the published derivative
    for name, pen, der, knots in (("SCAD", scad_penalty(tt, lam, a), scad_derivative(tt, lam, a), (lam, a * lam)),
                                  ("MCP", mcp_penalty(tt, lam, gamma), mcp_derivative(tt, lam, gamma), (gamma * lam,))):
        pieces = [e for e, _ in pen.args]
        dpieces = [e for e, _ in der.args]
        for k, knot in enumerate(knots):
            D.add(check_equal(f"{name}: p continuous at knot {k + 1}", pieces[k].subs(tt, knot), pieces[k + 1].subs(tt, knot)))
            D.add(check_equal(f"{name}: p' continuous at knot {k + 1}", sp.diff(pieces[k], tt).subs(tt, knot),
                              sp.diff(pieces[k + 1], tt).subs(tt, knot)))
        for k, (e, de) in enumerate(zip(pieces, dpieces)):
            D.add(check_equal(f"{name}: piece {k + 1} derivative = published p'", sp.diff(e, tt), de))
    # exact rational check with one coordinate in each SCAD region and both signs
    bvals = [sp.Rational(1, 2), sp.Rational(-2), sp.Rational(5), sp.Rational(-3, 10)]
    for name, p in (("SCAD", lambda u: scad_penalty(u, 1, a)), ("MCP", lambda u: mcp_penalty(u, 1, gamma))):
        dvec = [sp.sign(b) * p(abs(b)) / abs(b) for b in bvals]
        lhs = sum(dj * bj for dj, bj in zip(dvec, bvals))
        rhs = sum(p(abs(b)) for b in bvals)
        D.add(check_condition(f"{name}: exact rational d'beta = P(beta) at beta={tuple(bvals)}, lambda=1",
                              lhs == rhs and lhs.is_Rational, f"P = {rhs}"))
    return D
