"""companion.report: numbers rounded to what they support, verdict records and tables."""
import math

import numpy as np
import pytest

from companion.report import Table, Verdict, as_verdict, fmt, fmt_se, fmt_vec, verdict, verdict_summary, verdict_table


def test_fmt_rounds_and_bounds():
    assert fmt(0.59731) == "0.597"
    assert fmt(2.54e-14) == "< 1e-9"
    assert fmt(2.54e-14, floor=1e-12) == "< 1e-12"
    assert fmt(3.2e-5, floor=1e-6) == "3.2e-5"
    assert fmt(0.0) == "0" and fmt(7) == "7" and fmt(np.int64(3)) == "3"
    assert fmt(True) == "yes" and fmt(math.nan) == "n/a" and fmt(-math.inf) == "-inf"
    assert fmt(-0.00309) == "-0.00309"
    assert fmt_vec([1.23456, 1e-15]) == "[1.23, < 1e-9]"


def test_fmt_digits_do_not_carry_roundoff():
    # two values that differ only in the 12th digit print identically
    assert fmt(0.123456789012) == fmt(0.123456789013)
    assert fmt(1e-13) == fmt(3e-14)


def test_fmt_se_rounds_to_the_standard_error():
    assert fmt_se(0.59731, 0.0168) == "0.597 (0.017)"
    assert fmt_se(12.3456, 1.234) == "12.3 (1.2)"
    assert fmt_se(1.5, 0.0) == "1.5"


def test_verdict_operator_and_kinds():
    v = verdict("slope", -0.507, 0.05, passed=abs(-0.507 + 0.5) <= 0.05, statement="slope within 0.05 of -1/2")
    assert v.passed and v["value"] == -0.507 and v["note"] == "slope within 0.05 of -1/2"
    assert verdict("x", 2.0, 1.0, op=">=").passed and not verdict("x", 0.5, 1.0, op=">=").passed
    with pytest.raises(ValueError, match="op"):
        verdict("x", 1, 1, op="~")
    with pytest.raises(ValueError, match="kind"):
        verdict("x", 1, 1, kind="proof")
    legacy = as_verdict("old", {"value": 3.0, "tolerance": 1.0, "passed": False, "note": "n"})
    assert isinstance(legacy, Verdict) and not legacy.passed and legacy.statement == "n"
    with pytest.raises(TypeError, match="old"):
        as_verdict("old", 3.0)


def test_verdict_table_text_and_html():
    vs = {"a": verdict("a", 2.5e-14, 1e-8, statement="power = SVD"),
          "b": verdict("b", 0.3, 0.25, statement="slope"),
          "c": verdict("c", 1.0, 0.0, op=">=", kind="sanity", statement="inclusion")}
    t = verdict_table(vs, caption="Checks")
    text = str(t)
    assert "< 1e-9" in text and "FAIL" in text and "sanity check" in text
    html = t._repr_html_()
    assert html.count("<tr") == 4 and "verdict-fail" in html and "&lt; 1e-9" in html
    assert html == verdict_table(vs, caption="Checks")._repr_html_()   # deterministic
    assert verdict_summary(vs) == "1 of 2 tests pass; 1 of 1 sanity checks hold (failing: b)"


def test_table_checks_shape():
    with pytest.raises(ValueError, match="cells"):
        Table(["a", "b"], [["x"]])
    with pytest.raises(ValueError, match="align"):
        Table(["a", "b"], [["x", 1]], align="l")
    assert "x  1" in str(Table(["a", "b"], [["x", 1]]))
