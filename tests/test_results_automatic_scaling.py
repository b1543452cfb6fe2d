"""The committed summaries of the 'automatic_scaling' chapter (results/{quick,full}/automatic_scaling.json).

Spot checks: a few committed chunks of replications are refitted from their seeds (tolerance 1e-6,
the numerical tolerance of the fits); the committed quick summary's verdicts equal those of a
fresh quick run (same result, same value at the displayed precision)."""
import pytest

from companion import results
from companion.experiments import automatic_scaling as exp
from companion.report import as_verdict

CHAPTER = "automatic_scaling"


@pytest.fixture(scope="module", params=["quick", "full"])
def summary(request):
    return results.load_summary(CHAPTER, request.param)


def test_required_keys(summary):
    for key in ("verdicts", "tables", "figures", "spot", "meta"):
        assert key in summary, key
    assert summary["chapter"] == CHAPTER
    for name, v in summary["verdicts"].items():
        assert set(v) >= {"value", "tolerance", "passed", "statement", "op", "kind", "status"}, name
    for name, t in summary["tables"].items():
        assert all(len(r) == len(t["header"]) for r in t["rows"]), name
    assert 2 <= len(summary["spot"]) <= 4


def test_spot_chunks_recompute(summary):
    for entry in summary["spot"]:
        out = results.recompute_spot(entry, exp.setting(entry["setting"]), atol=1e-6)
        assert out["ok"], (entry["setting"], entry["n"], out["diffs"])


@pytest.fixture(scope="module")
def fresh_quick():
    return exp.run(scale="quick")


def test_committed_quick_verdicts_equal_a_fresh_run(fresh_quick):
    committed = results.load_summary(CHAPTER, "quick")["verdicts"]
    assert set(committed) == set(fresh_quick.verdicts)
    for name, v in fresh_quick.verdicts.items():
        c = as_verdict(name, committed[name])
        assert c.passed == v.passed and c.result == v.result, name
        assert c.shown_value() == v.shown_value(), (name, c.shown_value(), v.shown_value())
