"""companion.book_index reads the committed summaries (schema of companion.results) and builds the
index of results and the landing-page figure from them: tested on small fixtures written with the
package's own save_summary."""
import json

import matplotlib
import nbformat
import pytest

matplotlib.use("Agg")

from companion import book_index as bi  # noqa: E402
from companion.report import verdict  # noqa: E402
from companion.results import save_summary  # noqa: E402


def _summary(verdicts):
    return {"verdicts": {v.name: v for v in verdicts}, "tables": {"t": {"header": ["a"], "rows": [[1]]}},
            "figures": {"f": {"x": [1, 2]}}, "spot": []}


@pytest.fixture
def results(tmp_path):
    q, f = tmp_path / "quick", tmp_path / "full"
    save_summary("root_n_consistency", _summary([
        verdict("rate", 0.52, 0.6, statement="slope of the error against n"),
        verdict("bias", 0.3, 0.1, statement="bias below 0.1"),                        # fails at quick scale
        verdict("fits", 1, 1, op="==", kind="sanity", statement="identity"),
    ]), scale="quick", directory=q)
    save_summary("root_n_consistency", _summary([
        verdict("rate", 0.50, 0.6, statement="slope of the error against n"),
        verdict("bias", 0.05, 0.1, statement="bias below 0.1"),
        verdict("fits", 1, 1, op="==", kind="sanity", statement="identity"),
        verdict("only_full", 3.0, 2.0, statement="kept visible", status="fails, explained"),
    ]), scale="full", directory=f)
    save_summary("mystery_chapter", _summary([verdict("x", 1, 2)]), scale="quick", directory=q)
    return q, f


def test_load_and_count(results):
    q, f = results
    quick, full = bi.load_summaries("quick", q), bi.load_summaries("full", f)
    assert sorted(quick) == ["mystery_chapter", "root_n_consistency"]
    assert sorted(full) == ["root_n_consistency"]
    assert bi.verdict_counts(quick["root_n_consistency"]) == dict(tests=2, passed=1, explained=0, failed=1,
                                                                  sanity=1, sanity_held=1)
    assert bi.verdict_counts(full["root_n_consistency"]) == dict(tests=3, passed=2, explained=1, failed=0,
                                                                 sanity=1, sanity_held=1)
    assert bi.counts_text(quick["root_n_consistency"]) == "1 of 2 tests pass (1 fail)"
    assert bi.counts_text(quick["root_n_consistency"], sanity=True) == ("1 of 2 tests pass (1 fail); "
                                                                        "1 of 1 sanity checks hold")
    assert bi.counts_text(full["root_n_consistency"]) == "2 of 3 tests pass (1 fail, explained)"
    assert bi.counts_text(None) == "no summary"


def test_missing_directory_means_no_summaries(tmp_path):
    assert bi.load_summaries("full", tmp_path / "nothing") == {}


def test_bad_input_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="scale"):
        bi.load_summaries("medium", tmp_path)
    d = tmp_path / "full"
    save_summary("broken", {"verdicts": {}}, scale="full", directory=d)
    with pytest.raises(ValueError, match="broken.json.*top-level keys"):
        bi.load_summaries("full", d)
    save_summary("broken", {"verdicts": {"v": {"value": 1}}, "tables": {}, "figures": {}, "spot": []},
                 scale="full", directory=d)
    with pytest.raises(ValueError, match="verdict 'v' needs"):
        bi.load_summaries("full", d)
    (d / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        bi.load_summaries("full", d)


def test_figure_labels_only_from_figure_directives(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("```{glue:figure} fig-x-a\n:name: fig-x-a\n\nCaption.\n```"),
        nbformat.v4.new_markdown_cell(":::{figure} img.png\n:name: fig-x-b\nCaption\n:::\n"
                                      "```{math}\n:name: fig-not-a-figure\n```"),
        nbformat.v4.new_markdown_cell("```{glue:figure} fig-x-a\n:name: fig-x-a\n```"),   # repeated
    ]
    nbformat.write(nb, tmp_path / "x.ipynb")
    assert bi.figure_labels("x", tmp_path) == ["fig-x-a", "fig-x-b"]
    assert bi.figure_labels("absent", tmp_path) == []


def test_index_markdown_reads_every_verdict(results, tmp_path):
    q, f = results
    quick, full = bi.load_summaries("quick", q), bi.load_summaries("full", f)
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("```{glue:figure} fig-rn-rate\n:name: fig-rn-rate\n\nC.\n```")]
    nbformat.write(nb, nbdir / "root_n_consistency.ipynb")
    md = bi.index_markdown(quick, full, nbdir)
    row = next(line for line in md.splitlines() if "notebooks/root_n_consistency" in line)
    assert "1 of 2 tests pass (1 fail)" in row and "2 of 3 tests pass (1 fail, explained)" in row
    assert "{numref}`fig-rn-rate`" in row and "{prf:ref}`Theorem A <thm-a>`" in row
    # a chapter without summaries says so at both scales
    row = next(line for line in md.splitlines() if "notebooks/less_confident" in line)
    assert row.count("no summary") == 2
    # a summary of a chapter the index does not know still appears
    assert "notebooks/mystery_chapter" in md
    # every verdict, with its result at each scale and the row class of the worse one
    table = bi.verdicts_table("root_n_consistency", quick, full)
    by_name = {r[0]: r for r in table.rows}
    assert by_name["bias"][3].startswith("FAIL") and by_name["bias"][4].startswith("PASS")
    assert by_name["only_full"][3] == "not run" and by_name["only_full"][4].startswith("fails, explained")
    assert by_name["fits"][2] == "sanity check"
    assert table.row_classes[list(by_name).index("bias")] == "verdict-fail"
    assert table.row_classes[list(by_name).index("rate")] == "verdict-pass"
    assert 'class="companion-table"' in md and md.count(":::{dropdown}") == 2
    with pytest.raises(ValueError, match="no summary"):
        bi.verdicts_table("less_confident", quick, full)


def test_index_without_any_summary():
    md = bi.index_markdown({}, {})
    assert md.count("no summary") == 2 * len(bi.CHAPTERS)
    assert "No chapter has committed a summary yet" in md


def test_glance_figure_and_caption(results):
    import matplotlib.pyplot as plt

    q, f = results
    quick, full = bi.load_summaries("quick", q), bi.load_summaries("full", f)
    fig = bi.glance_figure(quick, full)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Root-n consistency, quick scale", "Root-n consistency, paper scale",
                      "Mystery chapter, quick scale", "Mystery chapter, paper scale"]
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths == [1, 1, 1, 1, 2]       # quick: 1 pass + 1 fail; full: 2 pass + 1 explained; mystery: 1 pass
    plt.close(fig)
    assert bi.glance_caption(quick, full) == ("2 chapters have committed summaries: 2 of 3 tests pass at "
                                              "quick scale and 2 of 3 at paper scale.")
    empty = bi.glance_figure({}, {})
    assert "No chapter" in empty.axes[0].texts[0].get_text()
    plt.close(empty)


def test_summary_files_follow_the_documented_schema(results):
    q, _ = results
    doc = json.loads((q / "root_n_consistency.json").read_text())
    for key in ("verdicts", "tables", "figures", "spot", "meta", "schema"):
        assert key in doc
