"""The chapter *Choosing eps in practice*: its fits and its verdicts at quick scale (the checks of
its committed summaries are in test_results_chapters.py)."""
import numpy as np
import pytest

from companion.adversarial import worst_case_examples
from companion.designs import replication_rng
from companion.experiments import choosing_eps as ce

#: verdicts and their status at quick scale (the chapter shows them; a failure is explained there)
EXPECTED = {
    "fgsm_fwer_at_most_alpha": True,
    "fgsm_fwer_constant_in_sigma": True,
    "fgsm_fwer_matches_second_order": True,
    "lasso_fwer_changes_with_sigma": True,
    "sqrt_lasso_fwer_at_most_alpha": True,
    "gaussian_default_robust": True,
    "fgsm_support_invariant_constant_snr": True,     # at quick scale; fails, explained, at paper scale
    "fgsm_recovery_constant_snr_design": True,
    "fgsm_equivariant_same_data_design": True,
    "fgsm_recovery_constant_snr_fresh": True,
    "fgsm_equivariant_same_data_fresh": True,
    "lasso_recovery_changes_constant_snr": True,
    "cv_more_false_positives_than_pivotal": True,
    "attack_closed_form": True,
    "fgsm_robust_gain": True,
    "fgsm_clean_cost": True,
}


def test_sqrt_lasso_skglm_matches_fixed_point():
    for law, s in (("gaussian", 1.0), ("laplace", 0.25), ("t", 4.0)):
        des = ce._design(s, law)
        X, y = des.sample(200, replication_rng(des, 200, 3, ce.SEED))
        np.testing.assert_allclose(ce.fit_sqrt_lasso(X, y), ce.sqrt_lasso_fixed_point(X, y), atol=1e-6)


def test_robust_accuracy_closed_form():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 6))
    coef, b0 = rng.standard_normal(6), 0.3
    y = (X @ coef + b0 + rng.logistic(size=300) > 0).astype(float)
    for r in (0.0, 0.05, 0.3):
        Xa = worst_case_examples(X, y, coef, r, "bernoulli", b0)
        acc = np.mean((Xa @ coef + b0 > 0) == (y == 1))
        assert ce.robust_accuracy(X, y, coef, b0, r)[0] == pytest.approx(acc, abs=1e-12)


def test_pivotal_fgsm_fit_is_scale_equivariant():
    des = ce._design(1.0, "gaussian")
    X, y = des.sample(200, replication_rng(des, 200, 0, ce.SEED))
    np.testing.assert_allclose(ce.fit_fgsm_pivotal(X, 4.0 * y), 4.0 * ce.fit_fgsm_pivotal(X, y), rtol=1e-7, atol=1e-10)


@pytest.fixture(scope="module")
def quick():
    return ce.run(scale="quick", n_jobs=1)


def test_verdicts_as_expected(quick):
    assert set(quick.verdicts) == set(EXPECTED)
    for name, passed in EXPECTED.items():
        assert bool(quick.verdicts[name].passed) is passed, (name, quick.verdicts[name])


def test_equivariance_check_can_fail(monkeypatch):
    """The same-data check is exact only because the fit is scale-equivariant: a fit that ignores
    the scale of y (a fixed-level Lasso) moves the coefficients and the support."""
    from companion import estimators

    class FixedLevel(estimators.GeneralizedFGSM):
        def fit(self, X, y, check_input=True):
            from sklearn.linear_model import Lasso
            m = Lasso(alpha=0.1, tol=1e-12, max_iter=100000).fit(X, y)
            self.coef_, self.intercept_ = m.coef_, m.intercept_
            return self

    monkeypatch.setattr(estimators, "GeneralizedFGSM", FixedLevel)
    gap, changed = ce.equivariance_gap(5)
    assert gap > 1e-3 and changed > 0
