r"""First-order expansion in epsilon of the Generalized FGSM objective (derivation ``first_order``).

.. math::
   \sum_i \ell(y_i, \theta_i + \varepsilon s_i P(\beta))
   = \sum_i \ell_i + n\varepsilon P(\beta) A_n(\beta) + R_n,\qquad
   A_n = \tfrac1n \sum_i |\psi_i|,

with the exact remainder :math:`R_n = \sum_i \int_0^{h_i} (h_i - u)\, b''(\theta_i + u)\,du`,
:math:`h_i = \varepsilon s_i P`, so :math:`|R_n| \le n \varepsilon^2 P^2 \sup b''/2`.
"""
from __future__ import annotations

import sympy as sp

from .core import Derivation, check_equal, check_series
from .fgsm import FAMILIES

__all__ = ["first_order"]


def first_order(n: int = 2) -> Derivation:
    D = Derivation("first_order", "First-order expansion of the Generalized FGSM objective", "sym-first-order")
    th, y, u = sp.symbols("theta y u", real=True)
    eps, P, q = sp.symbols("varepsilon P q", positive=True)
    s = sp.Symbol("s")
    b = sp.Function("b")
    # generic cumulant function
    f = D.step(r"One observation, generic $b$: $\ell(y, \theta + \varepsilon s P)$ with $s = \mathrm{sign}(\psi)$",
               b(th + eps * s * P) - y * (th + eps * s * P))
    ser = sp.series(f, eps, 0, 3).removeO().doit()
    D.step(r"Taylor series in $\varepsilon$ (to second order)", ser)
    psi = sp.diff(b(th), th) - y
    D.add(check_series("generic b: coefficients eps^0, eps^1, eps^2 = l, s*P*psi, s^2 P^2 b''/2",
                       f, eps, {0: b(th) - y * th, 1: s * P * psi, 2: s**2 * P**2 * sp.diff(b(th), th, 2) / 2}))
    psi_s = sp.Symbol("psi", real=True)
    D.step(r"$s\,\psi = \mathrm{sign}(\psi)\psi = |\psi|$ and $s^2 = 1$ when $\psi \ne 0$", sp.sign(psi_s) * psi_s)
    D.add(check_equal("sign(psi)*psi = |psi| (psi > 0, psi < 0)", sp.sign(psi_s) * psi_s, sp.Abs(psi_s),
                      subs=[{psi_s: q}, {psi_s: -q}]))
    # exact remainder for each family
    h = sp.Symbol("h", real=True)
    sup_b2 = {"gaussian": sp.Integer(1), "bernoulli": sp.Rational(1, 4), "poisson": None}
    for fam, bf in FAMILIES.items():
        loss = lambda t: bf(t) - y * t  # noqa: E731
        psi_f = sp.diff(bf(th), th) - y
        R = loss(th + h) - loss(th) - h * psi_f
        b2 = sp.diff(bf(th), th, 2)
        D.step(rf"{fam.capitalize()}: exact remainder $R(h) = \ell(\theta+h) - \ell(\theta) - h\psi$", sp.simplify(R))
        # R is the unique solution of R'' = b''(theta + h), R(0) = R'(0) = 0, i.e. the integral form
        D.add(check_equal(f"{fam}: R(0) = 0", R.subs(h, 0), 0))
        D.add(check_equal(f"{fam}: R'(0) = 0", sp.diff(R, h).subs(h, 0), 0))
        D.add(check_equal(f"{fam}: R''(h) = b''(theta + h)", sp.diff(R, h, 2), b2.subs(th, th + h)))
        if fam != "bernoulli":
            integral = sp.integrate((h - u) * b2.subs(th, th + u), (u, 0, h))
            D.add(check_equal(f"{fam}: R(h) = int_0^h (h-u) b''(theta+u) du", R, integral))
        D.add(check_series(f"{fam}: R(eps*s*P) = eps^2 P^2 b''(theta)/2 + O(eps^3)  (s = 1)",
                           R.subs(h, eps * P), eps, {2: P**2 * b2 / 2}))
        if sup_b2[fam] is not None and fam == "bernoulli":
            sig = sp.exp(th) / (1 + sp.exp(th))
            D.add(check_equal("bernoulli: 1/4 - b'' = (mu - 1/2)^2 >= 0, so sup b'' = 1/4",
                              sp.Rational(1, 4) - b2, (sig - sp.Rational(1, 2)) ** 2))
        if fam == "gaussian":
            D.add(check_equal("gaussian: R = eps^2 P^2/2 exactly (b'' = 1)", R.subs(h, eps * P), eps**2 * P**2 / 2))
    # the sum over n observations, with psi_i = q_i of either sign (y_i = b'(theta_i) - q_i)
    for fam, bf in FAMILIES.items():
        ths = sp.symbols(f"theta1:{n + 1}", real=True)
        qs = sp.symbols(f"q1:{n + 1}", positive=True)
        for signs in ((1, 1), (1, -1), (-1, -1))[: 3 if n == 2 else 1]:
            total, ys = 0, []
            for ti, qi, sg in zip(ths, qs, signs):
                yi = sp.diff(bf(th), th).subs(th, ti) - sg * qi       # so psi_i = sg * q_i
                si = sp.sign(sg * qi)
                total += bf(ti + eps * si * P) - yi * (ti + eps * si * P)
                ys.append(yi)
            clean = sum(bf(ti) - yi * ti for ti, yi in zip(ths, ys))
            A_n = sum(qs) / n                                            # mean |psi_i|
            second = P**2 * sum(sp.diff(bf(th), th, 2).subs(th, ti) for ti in ths) / 2
            D.add(check_series(f"{fam}, n={n}, signs of psi {signs}: sum = sum l_i + n eps P A_n + eps^2 P^2 sum b''_i/2 + O(eps^3)",
                               total, eps, {0: clean, 1: n * P * A_n, 2: second}))
    D.step(r"Hence $\sum_i \ell(y_i, \theta_i + \varepsilon s_i P) = \sum_i \ell_i + n\varepsilon P A_n + R_n$, "
           r"$|R_n| \le n\varepsilon^2P^2 \sup b''/2$ ($\sup b'' = 1$ Gaussian, $1/4$ Bernoulli; Poisson: "
           r"$e^{\theta_i + \varepsilon P}$ locally)",
           sp.Symbol("n") * eps * P * sp.Symbol("A_n"))
    return D
