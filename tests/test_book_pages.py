"""The book-wide pages, checked in their sources: the notation page defines every symbol the chapters
use, the chapter map has no project bookkeeping, chapters are numbered, the bibliography carries links
and no raw TeX, the custom stylesheet is registered."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def test_notation_defines_every_symbol():
    src = (BOOK / "notation.md").read_text()
    first_cells = " ".join(line.split("|")[1] for line in src.splitlines() if line.startswith("| $"))
    for sym in (r"\kappa", "V ", "A_n", "W ", "I ", r"\lambda_0", r"\varepsilon_n", "s_i", r"\psi", r"P(\beta)",
                r"d(\beta)", "T", r"\mu(", "b(", "S"):
        assert "$" + sym in first_cells, f"the notation page does not define {sym!r} in a table's first column"
    assert "**Sum form.**" in src
    for term in ("SCAD, MCP", "Oracle, weakly oracle", "Dispersion", "Sign neutral", "root-$n$ consistent"):
        assert term in src, f"the notation page does not define {term!r}"


def test_chapter_map_has_no_status_column_and_links_the_notation():
    src = (BOOK / "chapter_map.md").read_text()
    assert "status" not in src.lower() and "| written |" not in src
    assert "{doc}`notation`" in src and "{doc}`results_index`" in src
    # kappa and V are explained in words where the map uses them
    assert "mean absolute error $\\kappa$" in src and "its gradient $V$" in src


def test_chapters_are_numbered_in_the_toc_and_in_the_map():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    numbered = [c["file"] for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]
    assert all(f.startswith("notebooks/") for f in numbered)
    rows = re.findall(r"^\| (\d+) \| \{doc\}`\.\./(notebooks/\w+)`", (BOOK / "chapter_map.md").read_text(), re.M)
    assert [f for _, f in rows] == numbered, "chapter map and _toc.yml disagree on the order of the chapters"
    assert [int(n) for n, _ in rows] == list(range(1, len(numbered) + 1))


def test_bibliography_entries_link_and_have_no_raw_tex():
    bib = (BOOK / "references.bib").read_text()
    entries = re.findall(r"@\w+\{(\w+),(.*?)\n\}", bib, re.S)
    assert len(entries) >= 16
    for key, body in entries:
        assert "$" not in body, f"{key}: raw TeX math in a bibliography entry"
        assert re.search(r"^\s*(url|doi)\s*=", body, re.M), f"{key}: no url or doi"
    zuo = dict(entries)["zuo2018regularization"]
    assert "arxiv.org/abs/1810.11711" in zuo


def test_custom_css_is_registered():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    conf = cfg["sphinx"]["config"]
    assert "custom.css" in conf["html_css_files"]
    assert (BOOK / "_static" / "custom.css").is_file()
    assert conf["html_theme_options"]["navbar_persistent"] == []
    assert "companion.book_index" in cfg["sphinx"]["extra_extensions"]
