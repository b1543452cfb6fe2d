"""Guards that keep nbval honest: nbval only compares cells that have stored outputs, so a
committed notebook with unexecuted cells would be silently under-tested."""
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc.get("parts", []))
    return files


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_code_cell_was_executed_in_order(path):
    nb = nbformat.read(path, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert code_cells, f"{path.name} has no code cells"
    counts = [c.execution_count for c in code_cells]
    missing = [i for i, c in enumerate(counts) if c is None]
    assert not missing, f"{path.name}: code cells {missing} were never executed (run the notebook and commit it)"
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts} are not 1..n; re-run the whole notebook top to bottom")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_error_outputs_stored(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", f"{path.name}: cell {i} stored an error"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_in_the_toc(path):
    rel = path.relative_to(ROOT).with_suffix("").as_posix()
    assert rel in _toc_files(), f"{rel} is not listed in _toc.yml"


def test_every_toc_entry_exists():
    for f in _toc_files():
        cands = [ROOT / f"{f}{ext}" for ext in (".md", ".ipynb")] + [ROOT / f]
        assert any(c.is_file() for c in cands), f"_toc.yml lists {f}, which does not exist"
