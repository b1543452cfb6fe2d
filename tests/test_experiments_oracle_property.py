"""Every verdict of the Oracle property chapter (notebooks/oracle_property.ipynb) at quick scale.

The Monte Carlo is cached on disk (.mc_cache/oracle_property); a cold run takes a few minutes."""
import numpy as np
import pytest

from companion.experiments import oracle_property as op


@pytest.fixture(scope="module")
def result():
    return op.run(scale="quick")


NAMES = [
    "scad_n13: P(b3=0) increases with n",
    "scad_n15: P(b3=0) increases with n",
    "bridge: P(b3=0) increases with n",
    "scad_n15: P(b3=0) at largest n >= 0.9",
    "scad_n13: bias | b3=0 = population minimizer (n >= 300)",
    "scad_n15: bias | b3=0 = population minimizer (n >= 300)",
    "bridge: bias | b3=0 = population minimizer (n >= 300)",
    "scad_n13: first-order formula = limit of exact bias",
    "scad_n15: first-order formula = limit of exact bias",
    "bridge: first-order formula = limit of exact bias",
    "scad_n13: oracle sd at largest n (b3=0, within 1%)",
    "scad_n15: oracle sd at largest n (b3=0, within 1%)",
    "bridge: oracle sd at largest n (b3=0, within 1%)",
    "|bias| n^-1/5 > n^-1/3 at largest n",
    "P(b3=0): n^3/8 rate > Theorem C rate, largest n",
]


def test_all_verdicts_listed(result):
    assert sorted(result.verdicts) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_verdict(result, name):
    v = result.verdicts[name]
    assert v["passed"], f"{name}: {v}"


def test_support_never_lost(result):
    for s in ("scad_n13", "scad_n15", "bridge"):
        assert np.all(result.p_support[s] == 1.0)


def test_prediction_uses_flat_region(result):
    """The SCAD formula needs |beta0_j| > a lam_n on the support at every n of the design."""
    assert np.all(op.A_SCAD * result.lam["scad_n15"] < 0.5)
    assert np.all(op.A_SCAD * result.lam["scad_n13"] < 0.5)


def test_local_rule_has_smaller_point_mass(result):
    m = result.minimizers["bridge"]
    assert m["p_zero_best"] >= m["p_zero_lla"]
    assert result.minimizers["scad_n15"]["beaten"] <= m["beaten"]


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
