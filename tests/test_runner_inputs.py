"""Bad arguments to the Monte Carlo runner, the designs and the samplers fail at once with an error
that names the argument (instead of an empty result, a swallowed failure or a numpy traceback)."""
import numpy as np
import pytest

from companion.designs import (Covariates, Noise, linear_design, logistic_design, replication_rng,
                               sparse_beta)
from companion.montecarlo import Setting, run_experiment, run_replications


def ols(X, y):
    return np.linalg.lstsq(X, y, rcond=None)[0]


def failing_fit(X, y):
    raise RuntimeError("boom")


DES = linear_design([1.0, 0.0])


@pytest.mark.parametrize("reps, exc, word", [(-1, ValueError, "reps"), (0, ValueError, "reps"),
                                             (2.5, TypeError, "reps"), ([], ValueError, "reps"),
                                             ([0, 0], ValueError, "repeated"), ([-1], ValueError, "reps"),
                                             ("3", TypeError, "reps")])
def test_run_replications_rejects_bad_reps(reps, exc, word):
    with pytest.raises(exc, match=word):
        run_replications(DES, 20, reps, ols)


def test_run_replications_rejects_unknown_on_error():
    with pytest.raises(ValueError, match="on_error"):
        run_replications(DES, 20, 2, failing_fit, on_error="rasie")
    # the two valid values still behave as documented
    with pytest.raises(RuntimeError, match="boom"):
        run_replications(DES, 20, 2, failing_fit, on_error="raise")
    assert np.isnan(run_replications(DES, 20, 2, failing_fit, on_error="nan")).all()


@pytest.mark.parametrize("kw, exc, word", [({"n": 0}, ValueError, "n"), ({"n": -5}, ValueError, "n"),
                                           ({"n": 10.5}, TypeError, "n"), ({"seed": -1}, ValueError, "seed"),
                                           ({"design": "linear"}, TypeError, "design"),
                                           ({"fit_fn": 3}, TypeError, "fit")])
def test_run_replications_names_the_argument(kw, exc, word):
    args = {"design": DES, "n": 20, "reps": 2, "fit_fn": ols, "seed": 0} | kw
    with pytest.raises(exc, match=word):
        run_replications(**args)


@pytest.mark.parametrize("kw, exc, word", [({"reps": -1}, ValueError, "reps"), ({"ns": [0]}, ValueError, "ns"),
                                           ({"ns": []}, ValueError, "ns"), ({"chunk_size": 0}, ValueError, "chunk_size"),
                                           ({"on_error": "ignore"}, ValueError, "on_error"),
                                           ({"seed": -3}, ValueError, "seed"), ({"n_jobs": 0}, ValueError, "n_jobs"),
                                           ({"salt": 1}, TypeError, "salt"), ({"scale": "huge"}, ValueError, "scale")])
def test_run_experiment_names_the_argument(kw, exc, word):
    args = {"ns": [20], "reps": 2} | kw
    with pytest.raises(exc, match=word):
        run_experiment(Setting("ols", DES, ols), progress=False, **args)


def test_run_experiment_rejects_bad_settings():
    with pytest.raises(ValueError, match="empty"):
        run_experiment([], ns=[20], reps=2)
    with pytest.raises(TypeError, match="Setting"):
        run_experiment([DES], ns=[20], reps=2)
    with pytest.raises(ValueError, match="name"):
        Setting("", DES, ols)
    with pytest.raises(TypeError, match="design"):
        Setting("x", "linear", ols)
    with pytest.raises(TypeError, match="add_intercept"):
        Setting("x", DES, ols, add_intercept="yes")


@pytest.mark.parametrize("n, exc", [(-5, ValueError), (0, ValueError), (2.5, TypeError), ("7", TypeError)])
def test_samplers_name_n(n, exc):
    rng = np.random.default_rng(0)
    for sampler in (lambda: DES.sample(n, rng), lambda: Covariates(3).sample(n, rng),
                    lambda: Noise().sample(n, rng)):
        with pytest.raises(exc, match=r"\bn\b"):
            sampler()


def test_samplers_name_rng_and_add_intercept():
    with pytest.raises(TypeError, match="rng"):
        DES.sample(10, "seed")
    with pytest.raises(ValueError, match="rng"):
        DES.sample(10, -1)
    with pytest.raises(TypeError, match="add_intercept"):
        DES.sample(10, 0, add_intercept=1)
    # integral floats are accepted as counts
    X, y = DES.sample(10.0, 0)
    assert X.shape == (10, 2)


@pytest.mark.parametrize("frac", [1.5, 0.0, 1.0, -0.2])
def test_positive_fraction_is_named(frac):
    with pytest.raises(ValueError, match="positive_fraction"):
        logistic_design([1.0, 0.5], positive_fraction=frac)


def test_replication_rng_and_sparse_beta_name_their_arguments():
    with pytest.raises(ValueError, match=r"\bk\b"):
        replication_rng(DES, 10, -1)
    with pytest.raises(ValueError, match=r"\bn\b"):
        replication_rng(DES, 0, 1)
    with pytest.raises(ValueError, match=r"\bk\b"):
        sparse_beta(3, 5)
    with pytest.raises(TypeError, match=r"\bp\b"):
        sparse_beta(3.5, 1)
