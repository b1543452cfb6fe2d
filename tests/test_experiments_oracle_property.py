"""Every verdict of the Oracle property chapter (notebooks/oracle_property.ipynb) at quick scale, and
the pieces behind them.

The Monte Carlo is cached on disk (.mc_cache/oracle_property); a cold run takes a few minutes."""
import numpy as np
import pytest

from companion.experiments import oracle_property as op

SETTINGS = ("scad_n13", "scad_n15", "bridge")


@pytest.fixture(scope="module")
def result():
    return op.run(scale="quick")


NAMES = (
    [f"{s}: P(b3=0) increases with n" for s in SETTINGS]
    + ["scad_n15: P(b3=0) >= 0.9 at largest n", "bridge: P(b3=0) at n^3/8 > at Theorem C rate"]
    + [f"{s}: bias (all data sets) = first order, every n" for s in SETTINGS]
    + [f"{s}: bias | b3=0 = exact ({lab} seeds)" for s in SETTINGS for lab in ("design", "fresh")]
    + [f"{s}: slope of log|bias| = exact ({lab} seeds)" for s in SETTINGS[:2] for lab in ("design", "fresh")]
    + [f"n^-1/5 bias grows, n^-1/3 bias shrinks ({lab} seeds)" for lab in ("design", "fresh")]
    + [f"{s}: first order = limit of exact bias" for s in SETTINGS]
    + [f"{s}: sd (all data sets) = oracle sd, largest n" for s in SETTINGS]
    + [f"{s}: sd | b3=0 within 1% of oracle sd" for s in SETTINGS]
)
# the original bias criterion fails at quick scale for SCAD (n = 100, data sets with b3 != 0); the
# chapter keeps it visible as "fails, explained"
EXPLAINED = {"scad_n13: bias (all data sets) = first order, every n",
             "scad_n15: bias (all data sets) = first order, every n"}


def test_all_verdicts_listed(result):
    assert sorted(result.verdicts) == sorted(NAMES)


@pytest.mark.parametrize("name", sorted(set(NAMES) - EXPLAINED))
def test_verdict(result, name):
    v = result.verdicts[name]
    assert v.passed, f"{name}: {v}"


@pytest.mark.parametrize("name", sorted(EXPLAINED))
def test_original_bias_criterion_fails_visibly(result, name):
    v = result.verdicts[name]
    assert not v.passed and v.status == "fails, explained"


def test_sanity_checks_are_labelled(result):
    kinds = {k: v.kind for k, v in result.verdicts.items()}
    assert {k for k, x in kinds.items() if x == "sanity"} == {f"{s}: sd | b3=0 within 1% of oracle sd"
                                                             for s in SETTINGS}


def test_fresh_seeds_are_fresh(result):
    assert op.FRESH_SEED != op.SEED
    assert result.mc_fresh.seed == op.FRESH_SEED and result.mc.seed == op.SEED
    assert not np.array_equal(result.mc_fresh.estimates["oracle"][0], result.mc.estimates["oracle"][0])


def test_formula_grid_rule():
    """n = 100 fails the SCAD precondition rule (a lam_100 = 0.44 is too close to 0.5); the bridge has none."""
    ns = np.array([100, 300, 1000, 3000, 10000])
    for s in ("scad_n13", "scad_n15"):
        assert op.formula_grid(s, ns).tolist() == [False, True, True, True, True]
    assert op.formula_grid("bridge", ns).all()
    with pytest.raises(ValueError, match="setting"):
        op.formula_grid("lasso", ns)


def test_slopes_distinguish_the_schedules(result):
    """The exact slopes differ by more than 10 bootstrap SE, so the grid separates the two rates."""
    d = result.slopes["design"]
    gap = d["scad_n15"]["slope_exact"] - d["scad_n13"]["slope_exact"]
    assert gap > 10 * np.hypot(d["scad_n15"]["slope_se"], d["scad_n13"]["slope_se"])


def test_bias_slope_recovers_a_known_power():
    """bias_slope on synthetic estimates whose paired bias is exactly c n^0.1 returns slope 0.1."""
    rng = np.random.default_rng(0)
    ns = np.array([300, 1000, 3000])
    R = 50
    est_o = rng.normal(size=(3, R, 3))
    est_o[:, :, 2] = 0
    est_s = est_o.copy()
    for k, n in enumerate(ns):
        est_s[k, :, :2] += -0.05 * n ** 0.1 / np.sqrt(n)
    pop = np.array([[-0.05 * n ** 0.1] * 2 for n in ns])
    r = op.bias_slope(est_s, est_o, ns, pop, rng, B=20)
    assert r["slope"] == pytest.approx(0.1, abs=1e-9)
    assert r["slope_exact"] == pytest.approx(0.1, abs=1e-9)
    assert r["slope_se"] < 1e-9


def test_support_never_lost(result):
    for s in SETTINGS:
        assert np.all(result.p_support[s] == 1.0)


def test_prediction_uses_flat_region(result):
    """The SCAD formula needs |beta0_j| > a lam_n on the support at every n of the design."""
    assert np.all(op.A_SCAD * result.lam["scad_n15"] < 0.5)
    assert np.all(op.A_SCAD * result.lam["scad_n13"] < 0.5)


def test_local_rule_has_smaller_point_mass(result):
    m = result.minimizers["bridge"]
    assert m["p_zero_best"] >= m["p_zero_lla"]
    assert result.minimizers["scad_n15"]["beaten"] <= m["beaten"]


def test_thm_c_position(result):
    lo, hi = sorted(result.thm_c_limit_p_zero.values())
    for p, pos in zip(result.p_zero["bridge_thmC"], result.thm_c_position):
        assert pos == ("below both" if p < lo else "above both" if p > hi else "between")


def test_population_objective_matches_monte_carlo():
    """Closed-form population risk against 10^6 simulated observations (4 SE)."""
    from companion.penalties import Bridge
    rng = np.random.default_rng(3)
    b = np.array([0.9, 0.6, 0.0])
    pen, eps = Bridge(0.5), 0.05
    X, y = op.DESIGN.sample(1_000_000, rng)
    vals = 0.5 * (np.abs(y - X @ b) + eps * pen.value(b)) ** 2
    se = vals.std() / np.sqrt(vals.size)
    assert abs(op.population_objective(b, eps, pen) - vals.mean()) < 4 * se


def test_population_bias_first_order_limits():
    """sqrt(n)(beta*_n - beta0) approaches the first-order formulas; SCAD's relative gap is the
    1 / (1 + 2 f_e(0) c_n) curvature factor of E|r| (f_e(0) = 1/e for centred Exp(1) noise)."""
    from companion.asymptotics import population_quantities, scad_support_bias
    pq = population_quantities(op.DESIGN)
    for n in (300, 3000):
        lam = op.lam_scad(n, op.C15, 1 / 5)
        c = 2 * (op.A_SCAD + 1) * lam ** 2 / 2
        pop = op.population_support_bias("scad_n15", n)
        first = scad_support_bias(pq, n, lam, op.A_SCAD)[:2]
        np.testing.assert_allclose(pop, first / (1 + 2 * np.exp(-1) * c), rtol=2e-3)


def test_summary_has_the_required_keys(result):
    from companion.results import to_jsonable
    s = to_jsonable(op.summarize(result))
    assert {"verdicts", "tables", "figures", "spot"} <= set(s)
    v = s["verdicts"]["scad_n15: bias | b3=0 = exact (fresh seeds)"]
    assert {"value", "tolerance", "passed", "statement", "op", "kind", "status"} <= set(v)
    for t in s["tables"].values():
        assert all(len(r) == len(t["header"]) for r in t["rows"])
    assert 2 <= len(s["spot"]) <= 4
