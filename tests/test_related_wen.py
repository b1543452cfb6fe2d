"""Chapter *Less confident networks*: every verdict of ``companion.related.wen.run`` must hold, and
the building blocks (Jacobian, PGD, balance identity) are checked against independent computations.

The network verdicts are required in every seed (the reported value is the worst seed), the
logistic-regression ones are exact or at the solver's tolerance; see ``wen.run``."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import expit

from companion.estimators import GeneralizedFGSM
from companion.related import wen

NAMES = ["glm_confidence_decreases", "glm_l1_decreases", "glm_near_boundary_grows", "glm_accuracy_cost",
         "glm_penalty_weight_grows", "glm_balance_identity", "glm_hoelder_bound", "glm_base_rate_at_eps_max",
         "mlp_confidence_decreases", "mlp_train_confidence_decreases", "mlp_small_margins_grow",
         "mlp_confidence_decreases_beyond_smallest_eps", "mlp_confidence_plain_vs_largest_eps",
         "mlp_train_confidence_decreases_beyond_smallest_eps", "mlp_jacobian_top_sval_decreases",
         "mlp_small_margins_grow_beyond_smallest_eps", "mlp_train_small_margins_grow",
         "mlp_clean_accuracy_cost", "mlp_robustness_gain"]


@pytest.fixture(scope="module")
def result():
    return wen.run()


def test_verdict_names(result):
    assert set(result.verdicts) == set(NAMES)


#: pre-specified over the whole grid; they fail on the design seeds at the smallest radius (shown as
#: "fails, explained"), and their revision is confirmed on the fresh seeds
ORIGINAL = {"mlp_confidence_decreases", "mlp_train_confidence_decreases", "mlp_small_margins_grow"}


@pytest.mark.parametrize("name", NAMES)
def test_verdict(result, name):
    v = result.verdicts[name]
    if name in ORIGINAL:
        assert v["passed"] or v.status == "fails, explained"
        return
    assert v["passed"], f"{name}: value {v['value']:.4g}, tolerance {v['tolerance']:.4g} ({v['note']})"
    assert v.kind == ("sanity" if name == "glm_hoelder_bound" else "test")


def test_revised_verdicts_use_fresh_seeds(result):
    assert set(result.fresh.seeds).isdisjoint(result.mlp.seeds)
    assert result.fresh.confidence.shape == (len(wen.FRESH_SEEDS), len(wen.MLP_EPS))


def test_shapes(result):
    m = result.mlp
    k, e = len(wen.SEEDS), len(wen.MLP_EPS)
    for name in ("accuracy", "confidence", "top_sval", "margin_below_1", "robust_own"):
        assert getattr(m, name).shape == (k, e)
    assert m.robust_matrix.shape == (k, e, e - 1)
    assert m.weight_norms.shape == (k, e, len(wen.SIZES) - 1)
    # at eps = 0 the robust accuracy "at the training radius" is the clean accuracy
    assert np.array_equal(m.robust_own[:, 0], m.accuracy[:, 0])
    assert np.all(m.confidence > 0.1) and np.all(m.confidence <= 1)


def test_training_is_deterministic():
    Xtr, _, ytr, _ = wen.digits_data()
    p1, l1 = wen.train_mlp(Xtr[:200], ytr[:200], 0.05, seed=3, steps=20)
    p2, l2 = wen.train_mlp(Xtr[:200], ytr[:200], 0.05, seed=3, steps=20)
    assert np.array_equal(l1, l2)
    for (W1, b1), (W2, b2) in zip(p1, p2):
        assert np.array_equal(np.asarray(W1), np.asarray(W2)) and np.array_equal(np.asarray(b1), np.asarray(b2))
    assert l1.dtype == np.float64 and l1[-1] < l1[0]


@pytest.fixture(scope="module")
def small_net():
    Xtr, Xte, ytr, yte = wen.digits_data()
    params, _ = wen.train_mlp(Xtr, ytr, 0.0, seed=5, steps=60)
    return params, Xte[:40], yte[:40]


def test_jacobian_matches_explicit_product_and_svd(small_net):
    params, X, _ = small_net
    sv = wen.input_jacobian_svals(params, X)
    with jax.enable_x64(True):
        J = np.asarray(wen.input_jacobian(params, jnp.asarray(X)))
    assert J.shape == (len(X), 10, 64) and sv.shape == (len(X), 10)
    for i in range(len(X)):
        Je = wen.explicit_input_jacobian(params, X[i])
        assert np.allclose(J[i], Je, rtol=1e-10, atol=1e-10)
        assert np.allclose(sv[i], np.linalg.svd(Je, compute_uv=False), rtol=1e-9, atol=1e-9)
        # the top singular value is the largest logit change per unit (l2) input change
        u = np.linalg.svd(Je)[2][0]
        with jax.enable_x64(True):
            f = lambda x: np.asarray(wen.mlp_logits(params, jnp.asarray(x)))
            h = 1e-7
            fd = (f(X[i] + h * u) - f(X[i] - h * u)) / (2 * h)
        assert abs(np.linalg.norm(fd) - sv[i, 0]) < 1e-4 * sv[i, 0]


def test_pgd_stays_in_ball_and_increases_loss(small_net):
    params, X, y = small_net
    with jax.enable_x64(True):
        x, yy = jnp.asarray(X), jnp.asarray(y)
        for eps in (0.02, 0.1):
            xa = np.asarray(wen.pgd_attack(params, x, yy, eps, steps=10))
            assert np.max(np.abs(xa - X)) <= eps + 1e-12
            assert xa.min() >= 0 and xa.max() <= 1
            clean = np.asarray(wen._per_sample_loss(params, x, yy))
            adv = np.asarray(wen._per_sample_loss(params, jnp.asarray(xa), yy))
            assert np.all(adv >= clean - 1e-12) and adv.mean() > clean.mean()
        fgsm = np.asarray(wen.pgd_attack(params, x, yy, 0.1, steps=1, step_size=0.1))
        assert np.allclose(np.abs(fgsm - X)[(X > 0.1) & (X < 0.9)], 0.1)
        assert np.array_equal(np.asarray(wen.pgd_attack(params, x, yy, 0.0, steps=5)), X)


def test_logit_margins():
    z = np.array([[2.0, 1.0, -1.0], [0.0, 3.0, 1.0]])
    assert np.allclose(wen.logit_margins(z, np.array([0, 0])), [1.0, -3.0])


def test_balance_identity_holds_only_at_the_fit():
    X, y = wen.breast_cancer_data()
    X = X[:, :5]
    m = GeneralizedFGSM(family="bernoulli", eps=0.05).fit(X, y)
    l1 = np.abs(m.coef_).sum()
    th = X @ m.coef_ + m.intercept_
    assert abs(wen.balance_residual(th, y, 0.05, l1)) < 1e-6
    # scaling the fit away from the optimum breaks it, with the sign of the ray derivative
    assert wen.balance_residual(1.2 * th, y, 0.05, 1.2 * l1) < -1e-4
    assert wen.balance_residual(0.8 * th, y, 0.05, 0.8 * l1) > 1e-4


def test_glm_confidence_is_sigmoid_of_abs_logit(result):
    g = result.glm
    X, y = wen.breast_cancer_data()
    mu = expit(g.logits)
    assert np.allclose(np.maximum(mu, 1 - mu).mean(axis=1), g.mean_confidence)
    assert g.logits.shape == (len(wen.GLM_EPS), len(y))
    assert g.eps[-1] < g.eps_max
