"""The book's build is strict: a failing notebook cell, a broken cross-reference or a missing
citation must fail it.  Each case builds a one-page book with the project's own _config.yml."""
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
JB = Path(sys.executable).with_name("jupyter-book")

GOOD_MD = """# Page

$$ a = b $$ (eq-one)

See {eq}`eq-one` and {cite}`zuo2018regularization`.

```{bibliography}
```
"""


def _make_book(tmp_path: Path, page_md: str | None = None, notebook_src: str | None = None) -> Path:
    book = tmp_path / "book_root"
    (book / "book" / "_static").mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", book / "_config.yml")
    shutil.copy(ROOT / "book" / "references.bib", book / "book" / "references.bib")
    shutil.copy(ROOT / "book" / "_static" / "custom.css", book / "book" / "_static" / "custom.css")
    chapters = []
    if page_md is not None:
        (book / "page.md").write_text(page_md)
        chapters.append("  - file: page")
    if notebook_src is not None:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell("# Notebook"), nbformat.v4.new_code_cell(notebook_src)]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, book / "nb.ipynb")
        chapters.append("  - file: nb")
    (book / "index.md").write_text("# Index\n")
    (book / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n" + "\n".join(chapters) + "\n")
    return book


def _build(book: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(JB), "build", "-W", "-n", "--keep-going", str(book)],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def jb_available():
    if not JB.exists():
        pytest.fail(f"jupyter-book not found next to {sys.executable}")


def test_control_book_builds(tmp_path, jb_available):
    res = _build(_make_book(tmp_path, GOOD_MD, "print(1 + 1)"))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]


def test_failing_cell_fails_the_build(tmp_path, jb_available):
    res = _build(_make_book(tmp_path, GOOD_MD, "raise RuntimeError('deliberate failure')"))
    assert res.returncode != 0
    assert "deliberate failure" in res.stdout + res.stderr


def test_broken_reference_fails_the_build(tmp_path, jb_available):
    res = _build(_make_book(tmp_path, GOOD_MD.replace("{eq}`eq-one`", "{ref}`no-such-label`")))
    assert res.returncode != 0
    assert "no-such-label" in res.stdout + res.stderr


def test_missing_citation_fails_the_build(tmp_path, jb_available):
    res = _build(_make_book(tmp_path, GOOD_MD.replace("zuo2018regularization", "nobody1999nothing")))
    assert res.returncode != 0
    assert "nobody1999nothing" in res.stdout + res.stderr
