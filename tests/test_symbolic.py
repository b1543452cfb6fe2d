"""Symbolic derivations: every check of every derivation passes, and the checkers catch wrong
identities (a checker that cannot fail would prove nothing)."""
import functools
import io

import numpy as np
import pytest
import sympy as sp

import companion
from companion import symbolic as sym
from companion.symbolic import core
from companion.symbolic.fgsm import softplus




_run = functools.lru_cache(maxsize=None)(sym.run)   # each derivation runs once per test session


@pytest.mark.parametrize("name", list(sym.DERIVATIONS))
def test_derivation_checks_pass(name):
    d = _run(name)
    assert d.checks, f"{name} has no checks"
    failed = [c.line() for c in d.checks if not c.passed]
    assert not failed, "\n".join(failed)
    assert d.steps, f"{name} has no displayable steps"
    assert d.label.startswith("sym-")


# ------------------------------------------------------------------ the checkers can fail
x, y = sp.symbols("x y", real=True)


def test_check_equal_catches_wrong_identity():
    assert not core.check_equal("wrong", (x + 1) ** 2, x**2 + 1).passed
    assert core.check_equal("right", (x + 1) ** 2, x**2 + 2 * x + 1).passed


def test_check_equal_sign_cases_catch_case_dependent_identity():
    # sign(x) * x = x holds for x > 0 only
    assert not core.check_equal("wrong", sp.sign(x) * x, x, subs=core.sign_cases([x])).passed
    assert core.check_equal("right", sp.sign(x) * x, sp.Abs(x), subs=core.sign_cases([x])).passed


def test_check_series_catches_wrong_coefficient():
    assert not core.check_series("wrong", sp.exp(x), x, {0: 1, 1: 1, 2: 1}).passed
    assert not core.check_series("missing term", sp.exp(x), x, {0: 1, 2: sp.Rational(1, 2)}).passed
    assert core.check_series("right", sp.exp(x), x, {0: 1, 1: 1, 2: sp.Rational(1, 2)}).passed


def test_check_numeric_catches_wrong_value():
    assert not core.check_numeric("wrong", sp.pi, sp.Rational(22, 7)).passed
    assert not core.check_numeric("15 digits is not 30", sp.pi, float(sp.pi), tol=1e-25).passed
    assert core.check_numeric("right", sp.pi, sp.N(sp.pi, 50)).passed


def test_check_nonnegative_polynomial_and_not_equal():
    a, b = sp.symbols("a b", positive=True)
    assert not core.check_nonnegative_polynomial("wrong", a - b, [a, b]).passed
    assert core.check_nonnegative_polynomial("right", (a + b) ** 2, [a, b]).passed
    assert not core.check_not_equal("equal after all", (x + 1) ** 2, x**2 + 2 * x + 1, at={x: 3}).passed
    assert not core.check_not_equal("wrong expected", x, 0, at={x: 3}, expected=2).passed


def test_goodfellow_printed_form_fails_for_negative_label():
    eps, N = sp.symbols("epsilon N", positive=True)
    th = sp.Symbol("theta", real=True)
    printed = softplus(y * (eps * N - th))
    correct = softplus(eps * N - y * th)
    assert not core.check_equal("printed = correct for y=-1", sp.exp(printed.subs(y, -1)),
                                sp.exp(correct.subs(y, -1))).passed
    assert core.check_equal("printed = correct for y=+1", sp.exp(printed.subs(y, 1)), sp.exp(correct.subs(y, 1))).passed


def test_exponential_v_sign():
    """V = (1 - 2/e) E[X] for e = Exp(1) - 1; the opposite sign is rejected."""
    d = sym.kappa_v()
    v_coef = [e for desc, e in d.steps if desc.startswith("$V = -E")][0]
    assert core.check_equal("right", v_coef, 1 - 2 * sp.exp(-1)).passed
    assert not core.check_equal("wrong sign", v_coef, -(1 - 2 * sp.exp(-1))).passed


def test_main_exit_status_reflects_failures():
    def good():
        d = core.Derivation("good", "good")
        d.add(core.check_equal("ok", x + x, 2 * x))
        return d

    def bad():
        d = core.Derivation("bad", "bad")
        d.add(core.check_equal("wrong", x + x, 3 * x))
        return d

    def crashing():
        raise RuntimeError("boom")

    buf = io.StringIO()
    assert all(d.passed for d in sym.run_all(registry={"good": good}, stream=buf))
    assert sym.main([], registry={"good": good}) == 0
    assert sym.main([], registry={"good": good, "bad": bad}) == 1
    assert sym.main([], registry={"crashing": crashing}) == 1
    assert not core.Derivation("empty", "empty").passed   # no checks is not a pass


def test_symbolic_closed_form_matches_package_numerics():
    """The sympy shifted-margin formulas agree with companion's numerical implementation."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 3))
    coef = np.array([0.7, -1.2, 0.0])
    ybin = rng.integers(0, 2, size=50)
    eps = 0.1
    th, yy, e_, N = sp.symbols("theta y epsilon N", real=True)
    f = sp.lambdify((th, yy, e_, N), softplus(-(2 * yy - 1) * th + e_ * N), "numpy")
    want = f(X @ coef, ybin, eps, np.abs(coef).sum())
    np.testing.assert_allclose(companion.fgsm_loss(X, ybin, coef, eps, family="bernoulli"), want, rtol=1e-12)
    ypm = 2 * ybin - 1
    g = sp.lambdify((th, yy, e_, N), softplus(yy * (e_ * N - th)), "numpy")
    np.testing.assert_allclose(companion.goodfellow_printed_loss(X, ypm, coef, eps),
                               g(X @ coef, ypm, eps, np.abs(coef).sum()), rtol=1e-12)


def test_displayed_steps_fit_the_column():
    """Every displayed step of every derivation is at most LINE_WIDTH visible characters wide, and the
    epsilon of the derivations renders as the text's \\varepsilon."""
    for name in sym.DERIVATIONS:
        for desc, expr in _run(name).steps:
            assert desc, f"{name}: a step without a description"
            if expr is None:
                continue
            tex = core.latex_lines(expr)
            assert core.visible_width(tex) <= core.LINE_WIDTH, f"{name}: {desc!r} is too wide: {tex[:200]}"
            assert r"\epsilon" not in tex, f"{name}: {desc!r} uses \\epsilon instead of \\varepsilon"


def test_latex_lines_breaks_long_sums_after_whole_terms():
    terms = sp.symbols("a1:30")
    long_sum = sum(t**2 * sp.Symbol("varepsilon") for t in terms)
    tex = core.latex_lines(long_sum, width=40)
    assert tex.startswith(r"\begin{aligned}") and tex.count(r"\\") >= 3
    assert r"\varepsilon" in tex
    body = tex[len(r"\begin{aligned}"):-len(r"\end{aligned}")]
    assert all(core.visible_width(line) <= 40 for line in body.split(r"\\"))
    # a short expression stays on one line, unchanged
    assert core.latex_lines(x + 1) == sp.latex(x + 1)


def test_check_table_lists_every_check():
    d = core.Derivation("t", "t")
    d.add(core.check_equal("ok", x + x, 2 * x))
    d.add(core.check_equal("wrong", x + x, 3 * x))
    rows = d.check_table().rows
    assert [r[:2] for r in rows] == [["ok", "PASS"], ["wrong", "FAIL"]]
