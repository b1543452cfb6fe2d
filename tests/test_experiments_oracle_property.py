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
    "scad_n13: support bias = prediction (n >= 300)",
    "scad_n15: support bias = prediction (n >= 300)",
    "bridge: support bias = prediction (n >= 300)",
    "scad_n13: oracle sd at largest n",
    "scad_n15: oracle sd at largest n",
    "bridge: oracle sd at largest n",
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
