"""*The asymptotic distribution*'s committed summaries: the quantile arrays behind the Q-Q figures
and the paper-scale configuration (the checks every chapter shares are in test_results_chapters.py)."""
import numpy as np
import pytest

from companion import results
from companion.experiments import asymptotic_distribution as exp

CHAPTER = "asymptotic_distribution"


@pytest.mark.parametrize("scale", ["quick", "full"])
def test_quantile_arrays_are_sorted(scale):
    qq = results.load_summary(CHAPTER, scale)["figures"]["qq"]
    for name in ("A_linear", "A_logistic", "B_linear"):
        for key in ("sim", "limit", "limit_nov"):
            q = np.asarray(qq[name][key])
            assert q.shape == (len(qq["probs"]), 3) and np.all(np.diff(q, axis=0) >= 0), (name, key)


def test_full_summary_is_paper_scale():
    full = results.load_summary(CHAPTER, "full")
    assert full["meta"]["config"]["n"] == exp.SCALES["full"]["n"]
    assert full["meta"]["config"]["reps"] == exp.SCALES["full"]["reps"]
