r"""Results as the book shows them: numbers rounded to what their error supports, verdicts, tables.

Every number a chapter prints goes through :func:`fmt` (significant digits, or a bound such as
``"< 1e-12"`` for values at round-off or solver-tolerance level), so that a committed output does not
depend on the CPU, the BLAS kernel or the thread count that produced it.  Verdicts are
:class:`Verdict` records; :func:`verdict_table` renders a list of them as one table (HTML in the
book, aligned text in a terminal), one row per check.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["fmt", "fmt_se", "fmt_vec", "Verdict", "verdict", "as_verdict", "Table", "verdict_table",
           "verdict_summary", "ROUNDOFF_FLOOR"]

#: Default display floor: a magnitude below it is printed as ``"< 1e-09"``, never as its digits.
ROUNDOFF_FLOOR = 1e-9


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def fmt(x, digits: int = 3, floor: float | None = ROUNDOFF_FLOOR) -> str:
    """``x`` with ``digits`` significant digits; ``"< floor"`` when ``0 < |x| < floor``.

    ``floor`` is the level below which the value is decided by round-off or by the stopping rule of
    a solver, so only a bound is reproducible.  Integers are printed exactly, booleans as yes/no,
    NaN as ``"n/a"``.
    """
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if _is_int(x):
        return str(int(x))
    if isinstance(x, str):
        return x
    x = float(x)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if floor is not None and abs(x) < floor:
        return "0" if x == 0 else f"< {floor:.0e}".replace("e-0", "e-")
    if x == 0:
        return "0"
    s = f"{x:.{digits}g}"
    if "e" in s:
        mant, exp = s.split("e")
        s = f"{mant}e{int(exp)}"
    return s


def fmt_se(x: float, se: float, se_digits: int = 2) -> str:
    """``x`` rounded to the decimal place of its standard error, followed by the SE in brackets:
    ``fmt_se(0.59731, 0.0168) == "0.597 (0.017)"``."""
    x, se = float(x), float(se)
    if not np.isfinite(se) or se <= 0:
        return fmt(x)
    place = math.floor(math.log10(se)) - (se_digits - 1)
    dec = max(0, -place)
    xr = round(x, -place)
    ser = round(se, -place)
    return f"{xr:.{dec}f} ({ser:.{dec}f})"


def fmt_vec(v, digits: int = 3, floor: float | None = ROUNDOFF_FLOOR) -> str:
    """A vector as ``[a, b, c]`` with :func:`fmt` applied to each entry."""
    return "[" + ", ".join(fmt(x, digits, floor) for x in np.ravel(np.asarray(v, dtype=float))) + "]"


# --------------------------------------------------------------------------- verdicts
_KINDS = {"<=": "≤", ">=": "≥", "<": "<", ">": ">", "==": "="}


@dataclass
class Verdict:
    """One pre-specified check: ``value`` compared with ``tolerance`` by ``op``.

    ``kind`` is ``"test"`` (a check that a wrong theory would fail) or ``"sanity"`` (a property that
    holds by construction or by inclusion; shown, but not counted as evidence).  ``floor`` is the
    display floor of the value (see :func:`fmt`).  ``status`` may record a pre-registered verdict that
    failed and is kept visible with its explanation (``"fails, explained"``).
    """

    name: str
    value: float
    tolerance: float
    passed: bool
    statement: str = ""
    op: str = "<="
    kind: str = "test"
    floor: float | None = ROUNDOFF_FLOOR
    digits: int = 3
    status: str | None = None

    def __post_init__(self):
        if self.op not in _KINDS:
            raise ValueError(f"op must be one of {sorted(_KINDS)}, got {self.op!r}")
        if self.kind not in ("test", "sanity"):
            raise ValueError(f"kind must be 'test' or 'sanity', got {self.kind!r}")
        self.passed = bool(self.passed)

    # dict-style access keeps code written for the older ``{"value": ..., "passed": ...}`` records
    def __getitem__(self, key: str) -> Any:
        if key in ("note", "what"):
            return self.statement
        return getattr(self, key)

    def get(self, key: str, default=None):
        try:
            return self[key]
        except AttributeError:
            return default

    @property
    def result(self) -> str:
        if self.status:
            return self.status
        return "PASS" if self.passed else "FAIL"

    def shown_value(self) -> str:
        return fmt(self.value, self.digits, self.floor)

    def criterion(self) -> str:
        return f"{_KINDS[self.op]} {fmt(self.tolerance, 3, None)}"


def verdict(name: str, value, tolerance, passed: bool | None = None, statement: str = "", *,
            op: str = "<=", kind: str = "test", floor: float | None = ROUNDOFF_FLOOR, digits: int = 3,
            status: str | None = None) -> Verdict:
    """Build a :class:`Verdict`; ``passed`` defaults to ``value op tolerance``."""
    if op not in _KINDS:
        raise ValueError(f"op must be one of {sorted(_KINDS)}, got {op!r}")
    value, tolerance = float(value), float(tolerance)
    if passed is None:
        passed = {"<=": value <= tolerance, ">=": value >= tolerance, "<": value < tolerance,
                  ">": value > tolerance, "==": value == tolerance}[op]
    return Verdict(name=name, value=value, tolerance=tolerance, passed=bool(passed), statement=statement,
                   op=op, kind=kind, floor=floor, digits=digits, status=status)


def as_verdict(name: str, v) -> Verdict:
    """A :class:`Verdict` from a verdict or from a legacy dict with ``value``, ``tolerance``,
    ``passed`` and optionally ``note``/``what``/``kind``/``op``/``floor``."""
    if isinstance(v, Verdict):
        return v
    if not isinstance(v, Mapping):
        raise TypeError(f"verdict {name!r} must be a Verdict or a mapping, got {type(v).__name__}")
    statement = v.get("statement") or v.get("note") or v.get("what") or ""
    op = v.get("op", v.get("kind") if v.get("kind") in _KINDS else "<=")
    kind = v.get("kind") if v.get("kind") in ("test", "sanity") else "test"
    return Verdict(name=name, value=float(v["value"]), tolerance=float(v["tolerance"]), passed=bool(v["passed"]),
                   statement=statement, op=op, kind=kind, floor=v.get("floor", ROUNDOFF_FLOOR),
                   digits=int(v.get("digits", 3)), status=v.get("status"))


def _items(verdicts) -> list[Verdict]:
    if isinstance(verdicts, Mapping):
        return [as_verdict(k, v) for k, v in verdicts.items()]
    return [as_verdict(getattr(v, "name", str(i)), v) for i, v in enumerate(verdicts)]


# --------------------------------------------------------------------------- tables
@dataclass
class Table:
    """A small table with a deterministic HTML rendering (for the book) and an aligned plain-text one
    (for a terminal and for the notebook tests).  Cells are strings, or numbers formatted by
    :func:`fmt`."""

    header: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str | None = None
    align: str | None = None          # one letter per column: "l" or "r"
    css_class: str = "companion-table"
    row_classes: Sequence[str] | None = None
    footnote: str | None = None

    def __post_init__(self):
        ncol = len(self.header)
        for r in self.rows:
            if len(r) != ncol:
                raise ValueError(f"every row needs {ncol} cells, got {len(r)}: {r!r}")
        if self.align is None:
            self.align = "l" + "r" * (ncol - 1)
        if len(self.align) != ncol:
            raise ValueError(f"align needs one letter per column ({ncol}), got {self.align!r}")

    def _cells(self):
        return [[c if isinstance(c, str) else fmt(c) for c in r] for r in self.rows]

    def _repr_html_(self) -> str:
        out = [f'<table class="{self.css_class}">']
        if self.caption:
            out.append(f"<caption>{html.escape(self.caption)}</caption>")
        out.append("<thead><tr>" + "".join(
            f'<th class="{"text-left" if a == "l" else "text-right"}">{html.escape(str(h))}</th>'
            for h, a in zip(self.header, self.align)) + "</tr></thead>")
        out.append("<tbody>")
        for i, r in enumerate(self._cells()):
            cls = f' class="{self.row_classes[i]}"' if self.row_classes and self.row_classes[i] else ""
            out.append(f"<tr{cls}>" + "".join(
                f'<td class="{"text-left" if a == "l" else "text-right"}">{html.escape(c)}</td>'
                for c, a in zip(r, self.align)) + "</tr>")
        out.append("</tbody></table>")
        if self.footnote:
            out.append(f'<p class="companion-table-note">{html.escape(self.footnote)}</p>')
        return "".join(out)

    def __str__(self) -> str:
        cells = [list(map(str, self.header))] + self._cells()
        widths = [max(len(r[j]) for r in cells) for j in range(len(self.header))]
        lines = []
        if self.caption:
            lines.append(self.caption)
        for k, r in enumerate(cells):
            lines.append("  ".join(c.ljust(w) if a == "l" else c.rjust(w)
                                   for c, w, a in zip(r, widths, self.align)).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        if self.footnote:
            lines.append(self.footnote)
        return "\n".join(lines)

    __repr__ = __str__


def verdict_table(verdicts, caption: str | None = None, *, show_statement: bool = True) -> Table:
    """One row per verdict: name, what it states, value, criterion, result (``PASS``, ``FAIL``, or a
    recorded status), and whether it is a test or a sanity check."""
    items = _items(verdicts)
    header = ["check"] + (["what it states"] if show_statement else []) + ["value", "criterion", "result", "kind"]
    rows, classes = [], []
    for v in items:
        row = [v.name] + ([v.statement] if show_statement else []) + [
            v.shown_value(), v.criterion(), v.result, "sanity check" if v.kind == "sanity" else "test"]
        rows.append(row)
        classes.append("verdict-pass" if v.passed else "verdict-fail")
    align = "l" + ("l" if show_statement else "") + "rrll"
    return Table(header, rows, caption=caption, align=align, row_classes=classes)


def verdict_summary(verdicts) -> str:
    """``"12 of 12 tests pass; 2 sanity checks hold"`` (failures named)."""
    items = _items(verdicts)
    tests = [v for v in items if v.kind == "test"]
    sanity = [v for v in items if v.kind == "sanity"]
    passed = sum(v.passed for v in tests)
    s = f"{passed} of {len(tests)} tests pass"
    if sanity:
        s += f"; {sum(v.passed for v in sanity)} of {len(sanity)} sanity checks hold"
    failed = [v.name for v in tests if not v.passed]
    if failed:
        s += " (failing: " + ", ".join(failed) + ")"
    return s
