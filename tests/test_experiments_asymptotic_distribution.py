"""The chapter *The asymptotic distribution*: every verdict of the quick-scale experiment must hold."""
import numpy as np
import pytest

from companion.experiments import asymptotic_distribution as exp

EXPECTED = [f"{s}: {what}" for s in ("A linear", "A logistic", "B linear") for what in (
    "moments", "KS", "Wald", "V-less limit rejected", "limit draws = closed form")]
# Theorem C (r = 1/2): the LLA estimator follows the limit under the *local* rule; the global argmin's
# limit has a larger atom at 0 and a different continuous part for the zero coefficient, which is
# what the better of the two finite-n minimizers follows.
EXPECTED += [f"C linear, {cmp}: {what}" for cmp in ("LLA vs local rule", "best of two vs global rule")
             for what in ("moments", "KS", "Wald")]
EXPECTED += [f"C linear, LLA vs global rule: {what}" for what in ("moments", "atom", "KS", "Wald")]
EXPECTED += ["C linear: LLA limit = local rule"]


@pytest.fixture(scope="module")
def result():
    return exp.run(scale="quick")


def test_all_verdicts_present(result):
    assert sorted(result.verdicts) == sorted(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_verdict(result, name):
    v = result.verdicts[name]
    assert v.passed, f"{name}: {v}"


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


def test_exact_moments_match_many_limit_draws():
    """The closed-form Theorem A moments against 200 000 draws of the limit (independent of the MC)."""
    from companion.asymptotics import limit_draws
    for name in ("A_linear", "A_logistic"):
        d, r = exp.settings_spec()[name]
        pq = exp.population_quantities(d)
        e = exp.theorem_a_exact_moments(pq, 1.0)
        D = limit_draws(pq, 1.0, r=1.0, n_draws=200_000, seed=5)
        se = D.std(0, ddof=1) / np.sqrt(D.shape[0])
        assert np.all(np.abs(D.mean(0) - e["mean"]) < 4 * se), name
        np.testing.assert_allclose(D.std(0, ddof=1), e["sd"], rtol=0.01)
        np.testing.assert_allclose(np.cov(D.T), e["cov"], atol=0.03 * np.max(e["sd"]) ** 2)
        np.testing.assert_allclose((D == 0).mean(0), e["p_zero"], atol=0.005)


def test_exact_moments_theorem_b_and_none_for_c():
    d, r = exp.settings_spec()["B_linear"]
    pq = exp.population_quantities(d)
    e = exp.exact_moments(pq, 1.0, 2.0)
    np.testing.assert_allclose(e["mean"], exp.theorem_b_moments(pq, 1.0, 2.0)[0])
    assert exp.exact_moments(pq, 1.0, 0.5) is None
    with pytest.raises(ValueError, match="one penalized zero"):
        exp.theorem_a_exact_moments(exp.population_quantities(exp.linear_design((1.0, 0.0, 0.0), name="two-zero")), 1.0)


def test_exact_reference_rejects_a_shift():
    """compare_laws with an exact reference: a sample from the reference passes, a shifted one fails."""
    rng = np.random.default_rng(4)
    a = rng.standard_normal((400, 2))
    ex = {"mean": np.zeros(2), "sd": np.ones(2), "p_zero": np.zeros(2)}
    b = rng.standard_normal((40_000, 2))
    assert exp.compare_laws(a, b, rng, exact=ex)["wald_p"] > 0.01
    assert exp.compare_laws(a + np.array([0.3, 0.0]), b, rng, exact=ex)["wald_p"] < 0.01


def test_run_rejects_bad_arguments():
    with pytest.raises(ValueError, match="scale"):
        exp.run(scale="huge")
    with pytest.raises(ValueError, match="only"):
        exp.run(scale="quick", only=("D_linear",))
    with pytest.raises(TypeError, match="seed"):
        exp.run(scale="quick", seed="1")
