"""companion.results: committed summaries, their metadata and the spot recompute."""
import json

import numpy as np
import pytest

from companion import results
from companion.designs import linear_design
from companion.montecarlo import Setting, run_experiment
from companion.report import verdict


def ols(X, y):
    return np.linalg.lstsq(X, y, rcond=None)[0]


def test_save_and_load_roundtrip(tmp_path):
    summary = {"verdicts": {"a": verdict("a", 0.5, 1.0, statement="x")},
               "tables": {"t": {"header": ["n", "rmse"], "rows": [[100, np.float64(0.123456789012345)]]}},
               "figures": {"f": {"x": np.arange(3), "y": np.array([0.1, np.nan, 1e-300])}}}
    path = results.save_summary("demo", summary, scale="full", config={"reps": 10}, seconds=12.34,
                                directory=tmp_path)
    doc = results.load_summary("demo", directory=tmp_path)
    assert doc["meta"]["scale"] == "full" and doc["meta"]["config"] == {"reps": 10}
    assert doc["meta"]["seconds"] == 12.3 and doc["meta"]["package_version"]
    assert doc["verdicts"]["a"]["passed"] is True and doc["verdicts"]["a"]["statement"] == "x"
    assert doc["tables"]["t"]["rows"][0] == [100, 0.1234567890]
    assert doc["figures"]["f"]["y"][1] is None
    json.loads(path.read_text())


def test_load_missing_names_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m companion.experiments.nothing"):
        results.load_summary("nothing", directory=tmp_path)
    (tmp_path / "bad.json").write_text(json.dumps({"schema": "other"}))
    with pytest.raises(ValueError, match="schema"):
        results.load_summary("bad", directory=tmp_path)


def test_to_jsonable_refuses_unknown_objects():
    with pytest.raises(TypeError, match="object"):
        results.to_jsonable({"x": object()})


def test_spot_recompute_agrees_and_detects_a_change(tmp_path):
    des = linear_design([1.0, 0.5, 0.0])
    s = Setting("ols", des, ols)
    mc = run_experiment(s, ns=[50], reps=30, seed=4, cache_dir=tmp_path, progress=False)
    entry = results.to_jsonable(results.spot(mc, "ols", 0, 10, 20))
    out = results.recompute_spot(entry, s)
    assert out["ok"] and max(out["diffs"].values()) < 1e-9
    entry["mean"][0] += 1e-3                      # a stored value that does not match its seed
    assert not results.recompute_spot(entry, s)["ok"]
