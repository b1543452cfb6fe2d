"""*Root-n consistency*'s committed summaries: the RMSE figure data and the paper-scale sample sizes
(the checks every chapter shares are in test_results_chapters.py)."""
import numpy as np
import pytest

from companion import results
from companion.experiments import root_n_consistency as exp

CHAPTER = "root_n_consistency"


@pytest.mark.parametrize("scale", ["quick", "full"])
def test_rmse_figure_data(scale):
    doc = results.load_summary(CHAPTER, scale)
    fig = doc["figures"]["rmse"]
    assert len(fig["ns"]) == len(doc["meta"]["config"]["ns"])
    for key, r in fig["rmse"].items():
        assert len(r) == len(fig["ns"]) and np.all(np.asarray(r) > 0), key


def test_full_summary_is_paper_scale():
    full = results.load_summary(CHAPTER, "full")
    assert list(full["meta"]["config"]["ns"]) == list(exp.SCALES["full"]["ns"])
