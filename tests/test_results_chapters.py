"""The committed summaries of the simulation chapters (``results/{quick,full}/<chapter>.json``), the
checks every chapter shares: the parts a summary must have, its size, the stored spot chunks refitted
from their seeds (to the fits' numerical tolerance) and a change in them detected, and the committed
quick verdicts equal to those of a fresh quick run (same result, same value at the displayed
precision).  Checks particular to a chapter are in ``test_results_<chapter>.py`` and
``test_experiments_<chapter>.py``."""
import importlib

import numpy as np
import pytest

from companion import results
from companion.report import as_verdict

CHAPTERS = ["asymptotic_distribution", "automatic_scaling", "choosing_eps", "oracle_property",
            "root_n_consistency", "sign_neutrality"]


def _module(chapter):
    return importlib.import_module(f"companion.experiments.{chapter}")


@pytest.fixture(scope="module", params=[(c, s) for c in CHAPTERS for s in ("quick", "full")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def summary(request):
    chapter, scale = request.param
    return chapter, scale, results.load_summary(chapter, scale)


def test_summary_has_the_required_parts(summary):
    chapter, scale, doc = summary
    for key in ("verdicts", "tables", "figures", "spot", "meta"):
        assert key in doc, key
    assert doc["chapter"] == chapter and doc["meta"]["scale"] == scale
    assert doc["meta"]["config"]["reps"] == _module(chapter).SCALES[scale]["reps"]
    for name, v in doc["verdicts"].items():
        assert {"value", "tolerance", "passed", "statement", "op", "kind", "status"} <= set(v), name
    for name, t in doc["tables"].items():
        assert all(len(r) == len(t["header"]) for r in t["rows"]), name
    assert 2 <= len(doc["spot"]) <= 4
    assert (results.results_dir(scale) / f"{chapter}.json").stat().st_size < 100_000


def test_spot_chunks_recompute(summary):
    chapter, _, doc = summary
    exp = _module(chapter)
    for entry in doc["spot"]:
        out = results.recompute_spot(entry, exp.spot_setting(entry["setting"]), atol=1e-6)
        assert out["ok"], (entry["setting"], entry["n"], out["diffs"])


def test_spot_recompute_detects_a_change(summary):
    chapter, _, doc = summary
    entry = dict(doc["spot"][0])
    entry["mean"] = (np.asarray(entry["mean"]) + 1e-3).tolist()
    assert not results.recompute_spot(entry, _module(chapter).spot_setting(entry["setting"]))["ok"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_spot_setting_rejects_unknown_names(chapter):
    with pytest.raises(ValueError, match="name|label"):
        _module(chapter).spot_setting("no-such-estimator|no-such-design")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_committed_quick_verdicts_equal_a_fresh_run(chapter):
    fresh = _module(chapter).run(scale="quick")
    committed = results.load_summary(chapter, "quick")["verdicts"]
    assert sorted(committed) == sorted(fresh.verdicts)
    for name, v in fresh.verdicts.items():
        c = as_verdict(name, committed[name])
        assert c.passed == v.passed and c.status == v.status, name
        assert c.shown_value() == v.shown_value(), (name, c.shown_value(), v.shown_value())
