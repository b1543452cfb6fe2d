"""Every verdict of the Generalized FGSM chapter (notebooks/generalized_fgsm.ipynb) at quick scale."""
import numpy as np
import pytest

from companion.experiments import generalized_fgsm as gf


@pytest.fixture(scope="module")
def result():
    return gf.run(scale="quick")


def test_verdicts_present(result):
    assert len(result.verdicts) == 10


@pytest.mark.parametrize("name", [
    "d'beta = P(beta), all penalties",
    "generated loss = closed form, all cases",
    "twin gap explained (gaussian, L1)",
    "twin gap explained (gaussian, L2)",
    "twin gap explained (bernoulli, L1)",
    "twin gap explained (bernoulli, L2)",
    "training reaches argmin L_n (L1)",
    "training misses argmin L_n (L2)",
    "training reaches zero of its field (L2)",
    "grad L_n - field = eps(r-1) d sum s psi (L2)",
])
def test_verdict(result, name):
    v = result.verdicts[name]
    assert v["passed"], f"{name}: {v}"


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
