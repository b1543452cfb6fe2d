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

# Theorem C (r = 1/2): the LLA estimator follows the limit under the *local* rule; the global argmin's
# limit has a larger atom at 0 and a different continuous part for the zero coefficient, which is
# what the better of the two finite-n minimizers follows.
_AGREE = ("means agree with the limit (max |z| <= 3)",
          "SDs agree with the limit (max |z| <= 3)",
          "point mass at 0 agrees (two-proportion max |z| <= 3)",
          "KS does not reject at 1% for any coordinate (min p)",
          "Wald test of the mean vector does not reject at 1%")
EXPECTED += [f"C_linear, local rule: {w}" for w in _AGREE]
EXPECTED += [f"C_linear, best of the two minimizers vs global rule: {w}" for w in _AGREE]
EXPECTED += [f"C_linear, global rule: {w}" for w in (
    "means agree with the limit (max |z| <= 3)",
    "SDs agree with the limit (max |z| <= 3)",
    "point mass at 0 differs (two-proportion |z| > 3)",
    "KS rejects at 1% for the zero coefficient (p)",
    "Wald test of the mean vector does not reject at 1%")]
EXPECTED += ["C_linear: the local rule is the limit of LLA (max |u_local - u_LLA| <= 1e-8)"]


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


def test_theorem_c_rate_and_minimizers(result):
    """n eps_n = lam0 n^(r/2) for r < 1 (lam0 sqrt(n) otherwise); the better of the two minimizers
    only ever replaces an LLA fit with a nonzero zero-coefficient by one with it at 0."""
    n = result.n
    assert result.info["n_eps"]["C_linear"] == pytest.approx(exp.LAM0 * n ** 0.25)
    assert result.info["n_eps"]["A_linear"] == pytest.approx(exp.LAM0 * n ** 0.5)
    S, Sb = result.sim["C_linear"], result.sim_best["C_linear"]
    changed = np.any(S != Sb, axis=1)
    assert np.all(S[changed, 2] != 0) and np.all(Sb[changed, 2] == 0)
    tc = result.theorem_c["C_linear"]
    assert tc["lla_beaten"] == pytest.approx(changed.mean())
    assert tc["p_zero_global"][0] > tc["p_zero_local"][0]


def test_lla_limit_is_local_rule_on_a_small_problem():
    """LLA on the limit objective against the local rule of limit_draws, independent of the MC."""
    from companion.asymptotics import draw_W, limit_draws
    d, r = exp.settings_spec()["C_linear"]
    pq = exp.population_quantities(d)
    W = draw_W(pq, 2000, 11)
    L, _, open_rows = exp.lla_limit_draws(pq, 1.0, r, W)
    D = limit_draws(pq, 1.0, r=r, W=W, rule="local")
    assert open_rows == 0 and np.max(np.abs(L - D)) < 1e-8


def test_compare_laws_detects_a_shift():
    """The comparison machinery itself: same law passes, a shift of 0.3 SD in one coordinate is caught."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((400, 2))
    b = rng.standard_normal((40_000, 2))
    c = exp.compare_laws(a, b, rng)
    assert c["wald_p"] > 0.01 and np.all(c["ks_p"] > 0.01)
    c = exp.compare_laws(a + np.array([0.3, 0.0]), b, rng)
    assert c["wald_p"] < 0.01 and c["ks_p"][0] < 0.01
