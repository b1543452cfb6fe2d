"""The chapter *The asymptotic distribution*: every verdict of the quick-scale experiment must hold."""
import numpy as np
import pytest

from companion.experiments import asymptotic_distribution as exp

EXPECTED = [
    f"{s}: {what}" for s in ("A_linear", "A_logistic", "B_linear") for what in (
        "means agree with the limit (max |z| <= 3)",
        "SDs agree with the limit (max |z| <= 3)",
        "KS does not reject at 1% for any coordinate (min p)",
        "Wald test of the mean vector does not reject at 1%",
        "the V-less limit is rejected (Wald p < 1%)")
] + [f"{s}: point mass at 0 agrees (two-proportion max |z| <= 3)" for s in ("A_linear", "A_logistic")]


@pytest.fixture(scope="module")
def result():
    return exp.run(scale="quick")


def test_all_verdicts_present(result):
    assert sorted(result.verdicts) == sorted(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_verdict(result, name):
    v = result.verdicts[name]
    assert v["passed"], f"{name}: {v}"


def test_v_is_nonzero_in_every_setting(result):
    for name, pq in result.pq.items():
        assert np.max(np.abs(pq.V)) > 0.01, name


def test_compare_laws_detects_a_shift():
    """The comparison machinery itself: same law passes, a shift of 0.3 SD in one coordinate is caught."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((400, 2))
    b = rng.standard_normal((40_000, 2))
    c = exp.compare_laws(a, b, rng)
    assert c["wald_p"] > 0.01 and np.all(c["ks_p"] > 0.01)
    c = exp.compare_laws(a + np.array([0.3, 0.0]), b, rng)
    assert c["wald_p"] < 0.01 and c["ks_p"][0] < 0.01
