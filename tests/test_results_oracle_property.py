"""The committed summaries of the Oracle property chapter (results/{quick,full}/oracle_property.json).

Spot chunks of the paper-scale file are refitted from their seeds, and the committed quick summary
must give the same verdicts as a fresh quick run (values equal to their displayed precision)."""
import pytest

from companion.experiments import oracle_property as op
from companion.report import as_verdict
from companion.results import load_summary, recompute_spot

SETTINGS = {s.name: s for s in op.settings()}


@pytest.fixture(scope="module")
def full():
    return load_summary("oracle_property", "full")


@pytest.fixture(scope="module")
def quick():
    return load_summary("oracle_property", "quick")


def test_full_summary_shape(full):
    assert full["meta"]["scale"] == "full"
    assert full["meta"]["config"]["reps"] == op.SCALES["full"]["reps"]
    assert list(full["meta"]["config"]["ns"]) == list(op.SCALES["full"]["ns"])
    assert full["meta"]["config"]["fresh_seed"] == op.FRESH_SEED != full["meta"]["config"]["seed"]
    assert {"verdicts", "tables", "figures", "spot"} <= set(full)
    for v in full["verdicts"].values():
        assert {"value", "tolerance", "passed", "statement", "op", "kind", "status"} <= set(v)
    for t in full["tables"].values():
        assert all(len(r) == len(t["header"]) for r in t["rows"])


def test_full_summary_is_small():
    from companion.results import results_dir
    for scale in ("full", "quick"):
        assert (results_dir(scale) / "oracle_property.json").stat().st_size < 100_000


@pytest.mark.parametrize("i", range(3))
def test_spot_chunks_recompute(full, i):
    entry = full["spot"][i]
    out = recompute_spot(entry, SETTINGS[entry["setting"]], atol=1e-6)
    assert out["ok"], out


def test_figure_data_match_tables(full):
    """The slope figure's arrays and the slope table agree (same run)."""
    from companion.report import fmt_se
    rows = {(r[0], r[1]): r[2] for r in full["tables"]["slopes"]["rows"]}
    for key, r in full["figures"]["bias_slope"].items():
        s, label = key.rsplit("_", 1)
        assert rows[(s, label)] == fmt_se(r["slope"], r["slope_se"])


def test_quick_summary_matches_a_fresh_run(quick):
    res = op.run(scale="quick")
    assert sorted(quick["verdicts"]) == sorted(res.verdicts)
    for name, v in res.verdicts.items():
        stored = as_verdict(name, quick["verdicts"][name])
        assert stored.passed == v.passed, name
        assert stored.status == v.status, name
        assert stored.shown_value() == v.shown_value(), name
