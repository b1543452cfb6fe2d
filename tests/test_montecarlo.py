"""Monte Carlo runner: reproducibility across n_jobs/chunking/backends, cache behaviour, result layout."""
import functools
import os

import joblib
import numpy as np
import pytest

from companion.designs import linear_design, logistic_design, replication_rng
from companion.montecarlo import (SCALES, EstimatorFit, MCResult, Setting, _show_progress, fit_identity,
                                  resolve_scale, run_experiment, run_replications)


# top-level (picklable) fit functions
def ols(X, y):
    return np.linalg.lstsq(X, y, rcond=None)[0]


def ridge(X, y, alpha=1.0):
    p = X.shape[1]
    return np.linalg.solve(X.T @ X + alpha * np.eye(p), X.T @ y)


def first_row(X, y):
    return X[0].copy()


def fails_on_large_y(X, y):
    if y[0] > 1.0:
        raise RuntimeError("boom")
    return np.array([y.mean(), y.std()])


_CALLS = {"n": 0, "fail_at": None}


class CountingOLS:
    """Counts calls (in this process) and can fail at a given call: an 'interrupted' run."""

    def cache_token(self):
        return "counting-ols-v1"

    def __call__(self, X, y):
        _CALLS["n"] += 1
        if _CALLS["fail_at"] is not None and _CALLS["n"] >= _CALLS["fail_at"]:
            raise KeyboardInterrupt
        return ols(X, y)


DESIGN = linear_design([1.0, 0.0, -0.5], noise="exponential", mean=0.5, covariates="ar1", rho=0.3)
LOGIT = logistic_design([1.0, -0.5], positive_fraction=0.25)


def _settings():
    return [Setting("ols", DESIGN, ols, add_intercept=True), Setting("ridge", DESIGN, ridge),
            Setting("logit-first", LOGIT, first_row)]


def test_run_replications_matches_replication_rng():
    est = run_replications(DESIGN, 60, [0, 3, 7], ols, seed=4, add_intercept=True)
    for row, k in zip(est, [0, 3, 7]):
        X, y = DESIGN.sample(60, replication_rng(DESIGN, 60, k, seed=4), add_intercept=True)
        assert np.array_equal(row, ols(X, y))
    assert np.array_equal(run_replications(DESIGN, 60, 8, ols, 4, add_intercept=True)[[0, 3, 7]], est)


def test_bit_for_bit_across_n_jobs_and_chunking():
    a = run_experiment(_settings(), ns=[50, 120], reps=45, seed=3, n_jobs=1, chunk_size=7)
    b = run_experiment(_settings(), ns=[50, 120], reps=45, seed=3, n_jobs=2, chunk_size=20)
    assert a.settings == b.settings
    for s in a.settings:
        assert np.array_equal(a.estimates[s], b.estimates[s])
    # replication k does not depend on how many replications run
    c = run_experiment(_settings(), ns=[50, 120], reps=10, seed=3, n_jobs=1)
    for s in a.settings:
        assert np.array_equal(c.estimates[s], a.estimates[s][:, :10])
    # common random numbers: settings on the same design see the same data
    assert np.array_equal(a.estimates["ols"].shape, (2, 45, 4))
    d = run_experiment(_settings(), ns=[50, 120], reps=45, seed=4, n_jobs=1)
    assert not np.array_equal(d.estimates["ols"], a.estimates["ols"])


def test_dask_backend_identical_to_loky():
    distributed = pytest.importorskip("distributed")
    loky = run_experiment(_settings(), ns=[40, 80], reps=30, seed=1, n_jobs=2, chunk_size=8)
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        with joblib.parallel_config(backend="dask"):
            dk = run_experiment(_settings(), ns=[40, 80], reps=30, seed=1, chunk_size=8)
    for s in loky.settings:
        assert np.array_equal(loky.estimates[s], dk.estimates[s])


def test_cache_hit_miss_and_stale_configs(tmp_path):
    kw = dict(ns=[40, 90], reps=30, seed=2, n_jobs=1, chunk_size=10, cache_dir=tmp_path)
    s = [Setting("ols", DESIGN, ols, add_intercept=True)]
    first = run_experiment(s, **kw)
    assert (first.chunks_computed, first.chunks_cached) == (6, 0)
    again = run_experiment(s, **kw)
    assert (again.chunks_computed, again.chunks_cached) == (0, 6)
    assert np.array_equal(first.estimates["ols"], again.estimates["ols"])
    # more replications: only the new chunks run
    more = run_experiment(s, **{**kw, "reps": 50})
    assert (more.chunks_computed, more.chunks_cached) == (4, 6)
    assert np.array_equal(more.estimates["ols"][:, :30], first.estimates["ols"])
    # any change of configuration misses
    for change in [dict(seed=3), dict(salt="v2"), dict(ns=[41, 90])]:
        r = run_experiment(s, **{**kw, **change})
        assert r.chunks_computed >= 3, change
    sig = [Setting("ols", DESIGN.with_(noise=DESIGN.noise.__class__("exponential", 1.0 + 1e-12)), ols,
                   add_intercept=True)]
    assert run_experiment(sig, **kw).chunks_computed == 6
    assert run_experiment([Setting("ols", DESIGN, ols, add_intercept=False)], **kw).chunks_computed == 6
    assert run_experiment([Setting("ols", DESIGN, functools.partial(ridge, alpha=2.0))], **kw).chunks_computed == 6
    assert run_experiment([Setting("ols", DESIGN, functools.partial(ridge, alpha=3.0))], **kw).chunks_computed == 6
    # the setting name is cosmetic: same configuration, new name -> cache hit
    assert run_experiment([Setting("renamed", DESIGN, ols, add_intercept=True)], **kw).chunks_cached == 6


def test_cache_file_with_other_config_is_not_reused(tmp_path):
    kw = dict(ns=[40], reps=10, seed=0, n_jobs=1, chunk_size=10, cache_dir=tmp_path)
    run_experiment([Setting("a", DESIGN, ols)], **kw)
    (f,) = list(tmp_path.glob("*.npz"))
    good = run_experiment([Setting("b", DESIGN, ridge)], **kw)
    (g,) = [p for p in tmp_path.glob("*.npz") if p != f]
    os.replace(f, g)                        # a file under ridge's key that holds ols' config/results
    r = run_experiment([Setting("b", DESIGN, ridge)], **kw)
    assert r.chunks_computed == 1 and np.array_equal(r.estimates["b"], good.estimates["b"])
    g.write_bytes(b"garbage")               # a corrupt file is a miss, not an error
    assert run_experiment([Setting("b", DESIGN, ridge)], **kw).chunks_computed == 1


def test_interrupted_run_resumes(tmp_path):
    kw = dict(ns=[40, 80], reps=40, seed=5, n_jobs=1, chunk_size=10, cache_dir=tmp_path)
    s = [Setting("c", DESIGN, CountingOLS())]
    _CALLS.update(n=0, fail_at=35)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(s, **kw)
    assert len(list(tmp_path.glob("*.npz"))) == 3          # 3 finished chunks survived
    _CALLS.update(n=0, fail_at=None)
    resumed = run_experiment(s, **kw)
    assert (resumed.chunks_cached, resumed.chunks_computed) == (3, 5) and _CALLS["n"] == 50
    fresh = run_experiment([Setting("o", DESIGN, ols)], **{**kw, "cache_dir": None})
    assert np.array_equal(resumed.estimates["c"], fresh.estimates["o"])


def test_result_layout_summary_and_records():
    r = run_experiment(_settings()[:2], ns=[100, 400], reps=40, seed=0)
    assert isinstance(r, MCResult) and list(r.ns) == [100, 400] and r.reps == 40
    assert np.array_equal(r.truth["ols"], [0.0, 1.0, 0.0, -0.5])       # intercept fitted, none in design
    assert np.array_equal(r.truth["ridge"], [1.0, 0.0, -0.5])
    sm = r.summary("ols")
    assert sm["bias"].shape == (2, 4) and np.all(sm["count"] == 40)
    assert np.allclose(r.scaled_errors("ols")[1], 20.0 * (r.estimates["ols"][1] - r.truth["ols"]))
    with pytest.raises(ValueError):
        r.to_records()                                               # d = 4 and 3
    rec = run_experiment(_settings()[1:2], ns=[100, 400], reps=5).to_records()
    assert rec.shape == (10,) and rec["coef"].shape == (10, 3) and set(rec["n"]) == {100, 400}
    assert list(rec["rep"][:5]) == [0, 1, 2, 3, 4] and rec["setting"][0] == "ridge"


def test_estimator_spec_and_errors():
    sklm = pytest.importorskip("sklearn.linear_model")
    a = run_experiment([Setting("sk", DESIGN, sklm.LinearRegression())], ns=[60], reps=6)
    b = run_experiment([Setting("np", DESIGN, ols, add_intercept=True)], ns=[60], reps=6)
    assert np.allclose(a.estimates["sk"], b.estimates["np"], atol=1e-10)
    assert fit_identity(EstimatorFit(sklm.Lasso(alpha=0.1))) != fit_identity(EstimatorFit(sklm.Lasso(alpha=0.2)))
    with pytest.raises(ValueError):
        fit_identity(lambda X, y: X[0])
    with pytest.raises(RuntimeError):
        run_experiment([Setting("f", DESIGN, fails_on_large_y)], ns=[30], reps=20)
    r = run_experiment([Setting("f", DESIGN, fails_on_large_y)], ns=[30], reps=20, on_error="nan")
    bad = np.isnan(r.estimates["f"][0, :, 0])
    assert 0 < bad.sum() < 20 and np.all(np.isnan(r.estimates["f"][0, bad]))
    with pytest.raises(ValueError):
        run_experiment([Setting("x", DESIGN, ols), Setting("x", DESIGN, ridge)], ns=[30], reps=2)


def test_scales_and_progress(monkeypatch, capsys):
    monkeypatch.delenv("COMPANION_SCALE", raising=False)
    monkeypatch.delenv("COMPANION_MC_SCALE", raising=False)
    assert resolve_scale() == "quick"
    monkeypatch.setenv("COMPANION_SCALE", "full")
    assert resolve_scale() == "full" and resolve_scale("quick") == "quick"
    monkeypatch.delenv("COMPANION_SCALE")
    with pytest.raises(ValueError):
        resolve_scale("huge")
    assert SCALES["quick"]["reps"] < SCALES["full"]["reps"]
    r = run_experiment([Setting("t", DESIGN, first_row)], scale="quick")
    assert r.estimates["t"].shape == (len(SCALES["quick"]["ns"]), SCALES["quick"]["reps"], 3)
    assert _show_progress("auto") is False                           # captured stderr is not a terminal
    run_experiment([Setting("t", DESIGN, first_row)], ns=[20], reps=5, progress=True)
    assert "Monte Carlo" in capsys.readouterr().err
    run_experiment([Setting("t", DESIGN, first_row)], ns=[20], reps=5)
    assert capsys.readouterr().err == ""


def test_change_of_package_fitting_code_invalidates_the_cache(tmp_path, monkeypatch):
    import companion.montecarlo as mc
    s = [Setting("ols", DESIGN, ols)]
    first = run_experiment(s, ns=[40], reps=10, chunk_size=5, cache_dir=tmp_path)
    assert first.chunks_computed == 2 and first.chunks_cached == 0
    again = run_experiment(s, ns=[40], reps=10, chunk_size=5, cache_dir=tmp_path)
    assert again.chunks_cached == 2 and again.chunks_computed == 0
    monkeypatch.setattr(mc, "package_code_hash", lambda: "solver-edited")
    edited = run_experiment(s, ns=[40], reps=10, chunk_size=5, cache_dir=tmp_path)
    assert edited.chunks_computed == 2 and edited.chunks_cached == 0


def test_every_module_that_computes_fits_enters_the_code_hash(tmp_path, monkeypatch):
    """Regression: the hash once listed its modules by hand and missed the working-set solver
    added later, so an edit there reused stale cached fits.  Now an edit to any top-level module
    except the presentation ones changes it."""
    import shutil
    from pathlib import Path

    import companion.montecarlo as mc
    src = Path(mc.__file__).resolve().parent
    modules = sorted(f.stem for f in src.glob("*.py"))
    assert {"solver", "_working_set", "_gaussian_warm", "_sparse_newton", "estimators"} <= set(modules)
    copy = tmp_path / "companion"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("__pycache__", "experiments"))
    monkeypatch.setattr(mc, "__file__", str(copy / "montecarlo.py"))

    def digest():
        mc.package_code_hash.cache_clear()
        return mc.package_code_hash()

    base = digest()
    for name in modules:
        f = copy / f"{name}.py"
        text = f.read_text()
        f.write_text(text + "\n# edited\n")
        changed = digest() != base
        f.write_text(text)
        assert changed == (name not in mc._NON_FIT_MODULES), name
    assert digest() == base
    mc.package_code_hash.cache_clear()


def test_default_cache_dir_honours_the_environment(monkeypatch, tmp_path):
    import companion.montecarlo as mc
    monkeypatch.delenv("COMPANION_CACHE_DIR", raising=False)
    assert mc.default_cache_dir().name == ".mc_cache"
    assert (mc.default_cache_dir().parent / "companion" / "montecarlo.py").is_file()
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path))
    assert mc.default_cache_dir() == tmp_path
