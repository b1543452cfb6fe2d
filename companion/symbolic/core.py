r"""Data structures and checkers shared by the symbolic derivations.

A :class:`Derivation` is an ordered list of *steps* (a description and a sympy object, for
display) and a list of :class:`Check` results.  Every check compares two independently built
objects (two sympy expressions, a series coefficient and a hand-derived coefficient, two
high-precision numbers obtained by different routes, ...) and therefore *can* fail; the tests in
``tests/test_symbolic.py`` feed each checker a deliberately wrong identity to prove it.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import mpmath
import sympy as sp

__all__ = [
    "Check", "Derivation", "check_equal", "check_not_equal", "check_series", "check_numeric",
    "check_nonnegative_polynomial", "check_condition", "sign_cases", "is_zero", "latex", "latex_lines", "visible_width",
]

#: widest displayed line, in visible characters (see :func:`visible_width`): about the book's text column
LINE_WIDTH = 72


@dataclass
class Check:
    """Outcome of one comparison.  ``detail`` is deterministic (no timings, rounded numbers)."""

    name: str
    passed: bool
    detail: str = ""

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}  {self.name}" + (f"  [{self.detail}]" if self.detail else "")


@dataclass
class Derivation:
    """A derivation: named steps for display and checks that prove the stated identities."""

    name: str
    title: str
    label: str = ""
    steps: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    seconds: float = 0.0

    def step(self, description: str, expr: Any) -> Any:
        """Record a step and return ``expr`` so the derivation can keep using it."""
        self.steps.append((description, expr))
        return expr

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def report(self) -> str:
        """Check verdicts, one per line (deterministic: suitable for notebook output)."""
        head = f"{self.name}: {'all ' + str(len(self.checks)) + ' checks passed' if self.passed else 'FAILED'}"
        return "\n".join([head] + ["  " + c.line() for c in self.checks])

    def check_table(self, caption: str | None = None):
        """The checks as a :class:`companion.report.Table`: one row per check (name, result, detail)."""
        from ..report import Table

        rows = [[c.name, "PASS" if c.passed else "FAIL", c.detail] for c in self.checks]
        return Table(["check", "result", "detail"], rows, caption=caption, align="lll")

    def display(self, width: int = LINE_WIDTH) -> None:  # pragma: no cover - exercised in the notebook
        """Show the steps in a notebook: each description (what the expression is) in Markdown, then
        the expression as LaTeX broken into lines of at most about ``width`` characters of LaTeX."""
        from IPython.display import Markdown, Math, display

        for k, (desc, expr) in enumerate(self.steps, 1):
            display(Markdown(f"**({k})** {desc}"))
            if expr is not None:
                display(Math(latex_lines(expr, width)))


def latex(expr: Any) -> str:
    """LaTeX of a sympy object, a tuple/list of them, or a (lhs, rhs) pair shown as equation."""
    if isinstance(expr, (list, tuple)):
        return r",\quad ".join(latex(e) for e in expr)
    if isinstance(expr, str):
        return expr
    return sp.latex(expr)


def visible_width(tex: str) -> int:
    """A rough width of rendered LaTeX in characters: every command counts as one glyph, braces and
    sizing commands as none, a fraction as its wider part, and a matrix, ``cases`` or ``aligned``
    block as its widest row."""
    import re

    t = re.sub(r"\\(begin|end)\{[a-z]+\}", "", tex)
    t = re.sub(r"\\(left|right|Bigl|Bigr|bigl|bigr|operatorname|mathrm|text|displaystyle)\b", "", t)
    for _ in range(3):   # \frac{a}{b} -> the longer of a and b (innermost first)
        t = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", lambda m: max(m.group(1), m.group(2), key=len), t)
    widths = []
    for row in t.split("\\\\"):
        row = re.sub(r"\\[a-zA-Z]+", "x", row)
        row = re.sub(r"[{}&_^]|\\[,:;! ]", "", row)
        widths.append(len(row))
    return max(widths)


def _term_lines(terms: Sequence[Any], width: int) -> list[str]:
    """Greedily pack the terms of a sum into lines of at most ``width`` visible characters."""
    lines, cur = [], ""
    for i, t in enumerate(terms):
        tex = sp.latex(t)
        piece = tex if i == 0 else (tex if tex.startswith("-") else "+ " + tex)
        if cur and visible_width(cur) + visible_width(piece) + 1 > width:
            lines.append(cur)
            cur = piece
        else:
            cur = (cur + " " + piece).strip()
    if cur:
        lines.append(cur)
    return lines


def _split(expr: Any, width: int) -> list[str]:
    """Lines (without alignment markers) that together show ``expr``."""
    if isinstance(expr, str):
        return [expr]
    if isinstance(expr, (list, tuple)):
        out = []
        for e in expr:
            out.extend(_split(e, width))
        return out
    expr = sp.sympify(expr) if not isinstance(expr, sp.MatrixBase) else expr
    if isinstance(expr, sp.MatrixBase):
        expr = expr.applyfunc(sp.piecewise_fold)   # a factor times a Piecewise -> the factor in each case
    elif expr.has(sp.Piecewise):
        if isinstance(expr, sp.Add):   # fold term by term: one cases block per term, not one per sign pattern
            expr = sp.Add(*[sp.piecewise_fold(a) for a in expr.args], evaluate=False)
        else:
            expr = sp.piecewise_fold(expr)
    tex = sp.latex(expr)
    if isinstance(expr, sp.MatrixBase) and expr.rows == 1 and expr.cols > 1 and expr.has(sp.Piecewise):
        return _split(expr.T, width)                   # piecewise entries side by side are too wide
    if visible_width(tex) <= width:
        return [tex]
    if isinstance(expr, sp.MatrixBase):
        if expr.rows == 1 and expr.cols > 1:           # a long row vector: show it as a column
            return _split(expr.T, width)
        if expr.cols == 1 and expr.rows > 1:           # a long column: one entry per line
            return [rf"[{i + 1}]:\ " + line if j == 0 else line
                    for i, e in enumerate(expr) for j, line in enumerate(_split(e, width - 8))]
        return [tex]
    if isinstance(expr, sp.Equality):
        rhs = _split(expr.rhs, width)
        return [sp.latex(expr.lhs) + " = " + rhs[0]] + rhs[1:]
    if isinstance(expr, sp.Add):
        return _term_lines(sp.Add.make_args(expr), width)
    if isinstance(expr, sp.Mul):
        coeff, rest = expr.as_independent(*[a for a in expr.args if isinstance(a, sp.Add)], as_Add=False)
        adds = [a for a in sp.Mul.make_args(rest) if isinstance(a, sp.Add)]
        if len(adds) == 1 and visible_width(sp.latex(coeff * (rest / adds[0]))) < width // 2:
            inner = _term_lines(sp.Add.make_args(adds[0]), width - 10)
            head = sp.latex(coeff * (rest / adds[0]))
            head = "" if head == "1" else ("-" if head == "-1" else head + r"\,")
            return [head + r"\Bigl(" + inner[0]] + inner[1:-1] + [inner[-1] + r"\Bigr)"] if len(inner) > 1 \
                else [head + r"\Bigl(" + inner[0] + r"\Bigr)"]
    return [tex]


def latex_lines(expr: Any, width: int = LINE_WIDTH) -> str:
    """LaTeX of ``expr`` (a sympy object, or a tuple of them) that fits a text column: a short
    expression on one line, a tuple of expressions one per line, a long sum broken after whole terms
    (inside ``aligned``), a long row vector shown as a column."""
    if isinstance(expr, (list, tuple)):
        one = latex(expr)
        # side by side only without case blocks: visible_width measures each row of a cases block
        # on its own, not two blocks next to each other
        if visible_width(one) <= width and not any(isinstance(e, (sp.Basic, sp.MatrixBase))
                                                   and e.has(sp.Piecewise) for e in expr):
            return one
    lines = _split(expr, width)
    if len(lines) == 1:
        return lines[0]
    return r"\begin{aligned}" + r"\\ ".join("&" + ln for ln in lines) + r"\end{aligned}"


# ----------------------------------------------------------------------------------------------
# checkers
# ----------------------------------------------------------------------------------------------
def is_zero(expr: Any) -> bool:
    """True when sympy proves ``expr == 0`` (expand, then cancel, then simplify)."""
    expr = sp.sympify(expr)
    if isinstance(expr, sp.MatrixBase):
        return all(is_zero(e) for e in expr)
    for f in (lambda e: e, sp.expand, sp.cancel, sp.simplify):
        try:
            z = f(expr)
        except Exception:  # pragma: no cover - simplification failure counts as "not proven"
            continue
        if z == 0:
            return True
    return False


def _short(expr: Any, n: int = 80) -> str:
    s = sp.sstr(expr)
    return s if len(s) <= n else s[: n - 3] + "..."


def check_equal(name: str, lhs: Any, rhs: Any, subs: Sequence[dict] | None = None) -> Check:
    """``simplify(lhs - rhs) == 0``; with ``subs`` (a list of substitution dicts, e.g. sign cases)
    the identity must hold in every case."""
    cases = list(subs) if subs else [{}]
    for case in cases:
        diff = sp.sympify(lhs).subs(case) - sp.sympify(rhs).subs(case)
        if not is_zero(diff):
            return Check(name, False, f"residual {_short(sp.simplify(diff))} in case {case}")
    return Check(name, True, f"{len(cases)} case(s)" if subs else "")


def check_not_equal(name: str, lhs: Any, rhs: Any, at: dict, expected: Any | None = None) -> Check:
    """The two sides differ: at the point ``at`` their exact difference is nonzero (and equals
    ``expected`` when given)."""
    diff = sp.simplify((sp.sympify(lhs) - sp.sympify(rhs)).subs(at))
    if is_zero(diff):
        return Check(name, False, f"difference vanishes at {at}")
    if expected is not None and not is_zero(diff - expected):
        return Check(name, False, f"difference {_short(diff)} != expected {_short(expected)}")
    return Check(name, True, f"difference at {at} is {_short(diff)}")


def check_series(name: str, expr: Any, var: sp.Symbol, coeffs: dict, order: int | None = None) -> Check:
    """Taylor coefficients of ``expr`` in ``var`` (at 0) equal the given ``{power: coeff}``;
    powers up to ``order - 1`` that are not listed must vanish."""
    order = order if order is not None else max(coeffs) + 1
    deriv = sp.sympify(expr)
    for k in range(order):
        # k-th Taylor coefficient = (d/dvar)^k expr at 0 / k!  (expr is analytic in var near 0)
        got = (deriv.subs(var, 0).doit() / sp.factorial(k))
        deriv = sp.diff(deriv, var)
        want = coeffs.get(k, 0)
        if not is_zero(got - want):
            return Check(name, False, f"coefficient of {var}^{k}: {_short(got)} != {_short(want)}")
    return Check(name, True, f"coefficients of {var}^0..{var}^{order - 1}")


def check_numeric(name: str, a: Any, b: Any, tol: float = 1e-25, dps: int = 40) -> Check:
    """High-precision numeric agreement ``|a - b| <= tol * max(1, |b|)``; ``a`` and ``b`` may be
    sympy expressions (evaluated with ``evalf(dps)``) or mpmath numbers / callables."""
    with mpmath.workdps(dps):
        av = a() if callable(a) else a
        bv = b() if callable(b) else b
        av = mpmath.mpf(sp.N(av, dps)) if isinstance(av, sp.Basic) else mpmath.mpf(av)
        bv = mpmath.mpf(sp.N(bv, dps)) if isinstance(bv, sp.Basic) else mpmath.mpf(bv)
        err = abs(av - bv)
        ok = err <= tol * max(1, abs(bv))
        return Check(name, bool(ok), f"value {mpmath.nstr(bv, 12)}, |diff| {'<=' if ok else '>'} {tol:.0e}")


def check_nonnegative_polynomial(name: str, expr: Any, gens: Sequence[sp.Symbol]) -> Check:
    """``expr`` is a polynomial in the *positive* symbols ``gens`` whose coefficients are all
    nonnegative rationals, hence ``expr >= 0`` on the positive orthant."""
    poly = sp.Poly(sp.expand(expr), *gens)
    bad = [c for c in poly.coeffs() if not (c.is_number and c >= 0)]
    if bad:
        return Check(name, False, f"negative/non-numeric coefficient {_short(bad[0])}")
    return Check(name, True, f"{len(poly.coeffs())} nonnegative coefficient(s)")


def check_condition(name: str, condition: bool, detail: str = "") -> Check:
    """A computed boolean (e.g. an exact sign or a strict inequality between computed numbers)."""
    return Check(name, bool(condition), detail)


def sign_cases(symbols: Iterable[sp.Symbol], positive: Iterable[sp.Symbol] | None = None) -> list[dict]:
    """All substitutions ``symbol -> +/- positive_symbol``: a case analysis over sign patterns."""
    symbols = list(symbols)
    pos = list(positive) if positive is not None else [
        sp.Symbol(f"{s.name}_+", positive=True) for s in symbols]
    return [{s: sg * p for s, sg, p in zip(symbols, signs, pos)}
            for signs in itertools.product((1, -1), repeat=len(symbols))]
