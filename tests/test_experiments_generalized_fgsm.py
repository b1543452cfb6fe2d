"""Every verdict of the Generalized FGSM chapter (notebooks/generalized_fgsm.ipynb)."""
import numpy as np
import pytest

from companion.experiments import generalized_fgsm as gf
from companion.penalties import L1


@pytest.fixture(scope="module")
def result():
    return gf.run(scale="quick")


NAMES = [
    "d'beta = P(beta), all penalties",
    "generated loss = closed form, all cases",
    "twin gap = Newton step (gaussian, L1)",
    "twin gap = Newton step (gaussian, L2)",
    "twin gap predicted (bernoulli, L1)",
    "twin gap predicted (bernoulli, L2)",
    "same on 10 fresh data sets (bernoulli, L1)",
    "same on 10 fresh data sets (bernoulli, L2)",
    "training reaches argmin L_n (L1)",
    "training misses argmin L_n (L2)",
    "training reaches zero of its field (L2)",
    "grad L_n - field = eps(r-1) d sum s psi (L2)",
]


def test_verdicts_present(result):
    assert list(result.verdicts) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_verdict(result, name):
    v = result.verdicts[name]
    assert v.passed, f"{name}: {v}"


def test_identities_are_sanity_checks(result):
    kinds = {k: v.kind for k, v in result.verdicts.items()}
    assert kinds["d'beta = P(beta), all penalties"] == "sanity"
    assert kinds["twin gap = Newton step (gaussian, L2)"] == "sanity"
    assert kinds["twin gap predicted (bernoulli, L1)"] == "test"


def test_bernoulli_prediction_beats_first_order(result):
    """The full prediction must be much better than its first-order part, and its tolerance (fixed by
    the neglected terms) must exclude the first-order part: the verdict can fail."""
    for pen in ("L1", "L2"):
        t = result.twins[("bernoulli", pen)]
        assert t["rel_err_first"] > t["tolerance"] > t["rel_err"]


def test_wrong_prediction_fails():
    """A prediction without the second-order terms is rejected by the same tolerance."""
    X, y = gf._datasets()["bernoulli"]
    t = gf.twin_comparison(X, y, "bernoulli", L1(), lam0=1.0, with_mle=False)
    err_first = np.linalg.norm(t["gap"] - t["pred_first"]) / np.linalg.norm(t["gap"])
    assert err_first > t["tolerance"]


def test_population_prediction_direction(result):
    """The population prediction -eps P(beta0) I^-1 V points the same way as the mean gap."""
    for p in result.population.values():
        a, b = p["population"], p["mean"]
        assert a @ b / (np.linalg.norm(a) * np.linalg.norm(b)) > 0.9


def test_l2_training_gap_is_the_identity(result):
    """At the training limit the FGSM gradient is eps (r-1) d sum_i s_i psi_i^adv, not zero."""
    t = result.training["L2"]
    assert np.max(np.abs(t["grad_at_train"][1:])) > 100 * np.max(np.abs(t["field_at_train"]))
    assert np.max(np.abs(t["grad_at_argmin"])) < 1e-6


def test_schema_shapes(result):
    grid, d = result.schemas["L1"]
    np.testing.assert_array_equal(d, np.sign(grid))
    grid, d = result.schemas["L2"]
    np.testing.assert_allclose(d, grid)


def test_bad_scale():
    with pytest.raises(ValueError, match="scale"):
        gf.run(scale="huge")
