"""Guards on the committed notebook outputs: nothing a reader sees may be decided by round-off.

A number printed with a magnitude below ``1e-9`` is a residual or an error at machine-precision (or
solver-tolerance) level: its digits change with the CPU, the BLAS kernel and the thread count.  Such
a value may only appear as a stated bound (``< 1e-12``, ``below 1e-10``, ``tolerance 1e-8``).
"""
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

FLOOR = 1e-9
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")
# words or symbols that make the number a stated bound or a stated tolerance, not a measured value
BOUND = re.compile(r"(<|&lt;|≤|≦|\\le|\\leq|below|under|at most|smaller than|less than|toleran\w*|tol\b|tol=|"
                   r"bound|floor|threshold|\|diff\| <=)\s*[=:(]?\s*$", re.IGNORECASE)
TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "text/latex")


def _texts(nb):
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                yield i, out.get("text", "")
            for mime in TEXT_MIMES:
                val = out.get("data", {}).get(mime)
                if val:
                    yield i, val if isinstance(val, str) else "".join(val)


def roundoff_numbers(text: str, floor: float = FLOOR):
    """Numbers in ``text`` with ``0 < |x| < floor`` that are not written as a bound or tolerance."""
    bad = []
    for m in NUMBER.finditer(text):
        try:
            x = float(m.group())
        except ValueError:
            continue
        if x == 0 or abs(x) >= floor:
            continue
        before = text[max(0, m.start() - 24):m.start()]
        if BOUND.search(before):
            continue
        bad.append((m.group(), text[max(0, m.start() - 60):m.end() + 20].replace("\n", " ")))
    return bad


def test_detector_flags_roundoff_and_accepts_bounds():
    assert roundoff_numbers("max relative error 2.5e-14, at most 644 iterations")
    assert roundoff_numbers("<td>3.6e-10</td>")
    assert not roundoff_numbers("max relative error < 1e-12")
    assert not roundoff_numbers("<td>&lt; 1e-12</td><td>≤ 1e-08</td>")
    assert not roundoff_numbers("value 0.0123, tolerance 1e-10")
    assert not roundoff_numbers("difference 0.0e+00 and 0")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_roundoff_in_committed_outputs(path):
    nb = nbformat.read(path, as_version=4)
    found = [(i, num, ctx) for i, text in _texts(nb) for num, ctx in roundoff_numbers(text)]
    assert not found, (f"{path.name}: outputs print values at round-off level (show a bound such as "
                       f"'< 1e-12' instead):\n" + "\n".join(f"  cell {i}: {num!r} in ...{ctx}..."
                                                            for i, num, ctx in found[:20]))


# ------------------------------------------------------------------------ glue figures in nbval
def _png(xs, ys, size=(4.0, 3.0)):
    import base64
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=size, dpi=100)
    ax.plot(xs, ys, "o-")
    ax.set_xlim(0, 4)
    ax.set_ylim(0, 4)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def test_glue_figures_match_up_to_antialiasing_only():
    """The comparison of glue figures in nbval (``conftest.py``): plotted values that differ by
    round-off give the same figure; a point moved by 1/10 of a pixel, another size or another
    label do not."""
    from conftest import png_difference, pngs_match
    xs = np.array([0.5, 1.3, 2.2, 3.1])
    ys = np.array([0.7, 2.9, 1.4, 3.3])
    ref = _png(xs, ys)
    assert pngs_match(ref, _png(xs * (1 + 1e-14), ys - 1e-14))
    tenth = 4.0 / 300 / 10                     # a tenth of a pixel in data units (axes ~300 px tall)
    moved = ys.copy()
    moved[1] += tenth
    assert not pngs_match(ref, _png(xs, moved)), png_difference(ref, _png(xs, moved))
    assert not pngs_match(ref, _png(xs, ys, size=(4.0, 3.1)))
    assert not pngs_match(ref, _png(xs[::-1], ys))
    assert png_difference(ref, "not a png") is None
