"""The Oracle property chapter's committed summaries: the paper-scale configuration (with its fresh
seeds) and the slope figure against the slope table (the checks every chapter shares are in
test_results_chapters.py)."""
from companion.experiments import oracle_property as op
from companion.report import fmt_se
from companion.results import load_summary


def test_full_summary_configuration():
    full = load_summary("oracle_property", "full")
    assert list(full["meta"]["config"]["ns"]) == list(op.SCALES["full"]["ns"])
    assert full["meta"]["config"]["fresh_seed"] == op.FRESH_SEED != full["meta"]["config"]["seed"]


def test_figure_data_match_tables():
    """The slope figure's arrays and the slope table agree (same run)."""
    full = load_summary("oracle_property", "full")
    rows = {(r[0], r[1]): r[2] for r in full["tables"]["slopes"]["rows"]}
    for key, r in full["figures"]["bias_slope"].items():
        s, label = key.rsplit("_", 1)
        assert rows[(s, label)] == fmt_se(r["slope"], r["slope_se"])
