"""The committed summaries of *The asymptotic distribution* (``results/{quick,full}/asymptotic_distribution.json``):
spot chunks recomputed from their seeds, and the quick summary's verdicts equal to a fresh run."""
import numpy as np
import pytest

from companion import results
from companion.experiments import asymptotic_distribution as exp
from companion.report import as_verdict

CHAPTER = "asymptotic_distribution"
_FULL = results.results_dir("full") / f"{CHAPTER}.json"
_NO_FULL = pytest.mark.skipif(not _FULL.is_file(), reason=(
    f"{_FULL} not committed yet: run `python -m companion.experiments.{CHAPTER} --scale full --n-jobs 2`"))


@pytest.fixture(scope="module", params=["quick", pytest.param("full", marks=_NO_FULL)])
def summary(request):
    return results.load_summary(CHAPTER, request.param)


def test_summary_has_the_required_parts(summary):
    for key in ("verdicts", "tables", "figures", "spot", "meta"):
        assert key in summary, key
    for name, v in summary["verdicts"].items():
        assert {"value", "tolerance", "passed", "statement", "op", "kind", "status"} <= set(v), name
    qq = summary["figures"]["qq"]
    for name in ("A_linear", "A_logistic", "B_linear"):
        for key in ("sim", "limit", "limit_nov"):
            q = np.asarray(qq[name][key])
            assert q.shape == (len(qq["probs"]), 3) and np.all(np.diff(q, axis=0) >= 0), (name, key)
    assert 2 <= len(summary["spot"]) <= 4


def test_spot_chunks_recompute(summary):
    """Refit the stored chunks from their seeds: equal to the fits' numerical tolerance."""
    for entry in summary["spot"]:
        out = results.recompute_spot(entry, exp.spot_setting(entry["setting"]), atol=1e-6)
        assert out["ok"], (entry["setting"], entry["n"], out["diffs"])


def test_spot_recompute_detects_a_change(summary):
    entry = dict(summary["spot"][0])
    entry["mean"] = (np.asarray(entry["mean"]) + 1e-3).tolist()
    assert not results.recompute_spot(entry, exp.spot_setting(entry["setting"]))["ok"]


def test_spot_setting_rejects_unknown_names():
    with pytest.raises(ValueError, match="name"):
        exp.spot_setting("D_linear")


@pytest.fixture(scope="module")
def fresh_quick():
    return exp.run(scale="quick")


def test_quick_summary_equals_a_fresh_run(fresh_quick):
    stored = results.load_summary(CHAPTER, "quick")["verdicts"]
    assert sorted(stored) == sorted(fresh_quick.verdicts)
    for name, v in fresh_quick.verdicts.items():
        s = as_verdict(name, stored[name])
        assert s.passed == v.passed, name
        assert s.shown_value() == v.shown_value(), (name, s.value, v.value)


@_NO_FULL
def test_full_summary_is_paper_scale():
    full = results.load_summary(CHAPTER, "full")
    assert full["meta"]["scale"] == "full"
    assert full["meta"]["config"]["n"] == exp.SCALES["full"]["n"]
    assert full["meta"]["config"]["reps"] == exp.SCALES["full"]["reps"]
