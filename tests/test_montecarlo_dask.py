"""The Monte Carlo runner on a Dask distributed cluster (separate worker processes): same results as a
sequential run, and no finished chunk lost when a worker dies mid-run."""
import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

from companion.designs import linear_design                                   # noqa: E402
from companion.experiments import root_n_consistency as rn                     # noqa: E402
from companion.montecarlo import Setting, run_experiment, run_replications    # noqa: E402

# the workers are other processes: send this module's functions by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def ols(X, y):
    return np.linalg.lstsq(X, y, rcond=None)[0]


def slow_ols(X, y):
    time.sleep(0.15)
    return ols(X, y)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as c:
        yield c


def _chapter_settings():
    settings = []
    for name, d in rn.designs().items():
        settings.append(Setting(f"{name}/root_n", d, rn.RootNFit(d.family, "root_n", rn.LAM0, d.has_intercept)))
    return settings


def test_chapter_experiment_same_through_cluster(cluster, tmp_path, monkeypatch):
    kw = dict(ns=[250, 1000], reps=12, seed=rn.SEED, chunk_size=4, progress=False)
    monkeypatch.delenv("COMPANION_DASK_SCHEDULER", raising=False)
    seq = run_experiment(_chapter_settings(), n_jobs=1, cache_dir=tmp_path / "seq", **kw)
    monkeypatch.setenv("COMPANION_DASK_SCHEDULER", cluster.scheduler_address)
    dist = run_experiment(_chapter_settings(), cache_dir=tmp_path / "dask", **kw)
    assert dist.chunks_computed == seq.chunks_computed == 2 * 2 * 3
    for name in seq.settings:
        np.testing.assert_allclose(dist.estimates[name], seq.estimates[name], rtol=0, atol=1e-10)
    # the cluster's cache is the same cache: a sequential rerun on it computes nothing
    monkeypatch.delenv("COMPANION_DASK_SCHEDULER")
    again = run_experiment(_chapter_settings(), n_jobs=1, cache_dir=tmp_path / "dask", **kw)
    assert again.chunks_computed == 0 and again.chunks_cached == 12


def test_worker_killed_mid_run_loses_no_finished_chunk(cluster, tmp_path, monkeypatch):
    design = linear_design([1.0, -0.5, 0.0])
    setting = Setting("slow", design, slow_ols)
    reps, chunk = 48, 2
    cache = tmp_path / "cache"
    monkeypatch.setenv("COMPANION_DASK_SCHEDULER", cluster.scheduler_address)
    seen = {}

    def kill_one_worker():
        deadline = time.time() + 120
        while time.time() < deadline:
            files = sorted(cache.glob("*.npz")) if cache.exists() else []
            if len(files) >= 3:
                seen["before"] = {f.name: f.stat().st_mtime_ns for f in files}
                with distributed.Client(cluster.scheduler_address, timeout=30) as c:
                    pids = c.run(os.getpid)
                os.kill(sorted(pids.values())[0], signal.SIGKILL)
                seen["killed"] = True
                return
            time.sleep(0.05)

    t = threading.Thread(target=kill_one_worker)
    t.start()
    res = run_experiment(setting, ns=[60], reps=reps, seed=7, chunk_size=chunk, cache_dir=cache, progress=False)
    t.join()
    assert seen.get("killed"), "the worker was not killed while the run was going on"
    assert len(seen["before"]) < reps // chunk, "the kill came after the run had finished"
    # chunks finished before the kill are still there and were not recomputed
    for name, mtime in seen["before"].items():
        assert (cache / name).stat().st_mtime_ns == mtime
    # results identical to the sequential ones (same seeds)
    seq = run_replications(design, 60, reps, ols, seed=7)
    np.testing.assert_allclose(res.estimates["slow"][0], seq, rtol=0, atol=1e-12)
    # a rerun resumes entirely from the cache
    monkeypatch.delenv("COMPANION_DASK_SCHEDULER")
    again = run_experiment(setting, ns=[60], reps=reps, seed=7, chunk_size=chunk, cache_dir=cache,
                           n_jobs=1, progress=False)
    assert again.chunks_computed == 0 and again.chunks_cached == reps // chunk
    np.testing.assert_array_equal(again.estimates["slow"], res.estimates["slow"])


def test_dask_backend_rejects_bad_address():
    from companion.montecarlo import dask_backend
    with pytest.raises(ValueError, match="address"):
        with dask_backend(""):
            pass
