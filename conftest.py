"""pytest configuration shared by the unit tests and nbval.

Figures that a notebook records with ``glue`` (MIME type ``application/papermill.record/image/png``)
are compared as images, not byte for byte: nbval skips plain ``image/png`` outputs but would compare
these PNG files exactly, and the anti-aliasing of a line or marker changes by a few intensity levels
when the plotted values change by round-off (another BLAS kernel, another thread count). Two figures
match when they have the same size and differ in at most ``PNG_MAX_PIXELS`` (a fraction of the
image) pixels, by at most ``PNG_MAX_LEVEL`` intensity levels each: a curve or a marker that moves by
a sixteenth of a pixel, a changed label or a changed axis fails. Every other output is compared by
nbval as before.
"""
from __future__ import annotations

import base64
import copy
import io

import numpy as np

GLUE_PNG = "application/papermill.record/image/png"
#: largest share of an image's pixels that may differ between two matching figures
PNG_MAX_PIXELS = 1e-3
#: largest difference of one colour channel (0-255) at a differing pixel
PNG_MAX_LEVEL = 16


def png_difference(a: str, b: str) -> tuple[float, int] | None:
    """Share of differing pixels and the largest channel difference of two base64 PNGs, or None
    when they differ in size or do not decode."""
    from PIL import Image

    try:
        A, B = (np.asarray(Image.open(io.BytesIO(base64.b64decode(s))).convert("RGBA"), dtype=int)
                for s in (a, b))
    except Exception:  # not a PNG: let nbval report the difference
        return None
    if A.shape != B.shape:
        return None
    d = np.abs(A - B).max(axis=-1)
    return float(np.count_nonzero(d)) / d.size, int(d.max(initial=0))


def pngs_match(a: str, b: str) -> bool:
    """Whether two glue figures (base64 PNG) match up to anti-aliasing (see the module text)."""
    if a == b:
        return True
    diff = png_difference(a, b)
    return diff is not None and diff[0] <= PNG_MAX_PIXELS and diff[1] <= PNG_MAX_LEVEL


def _glue_pngs(outputs):
    return [o["data"][GLUE_PNG] for o in outputs if GLUE_PNG in o.get("data", {})]


def _without_glue_pngs(outputs):
    out = copy.deepcopy(outputs)
    for o in out:
        o.get("data", {}).pop(GLUE_PNG, None)
    return out


def pytest_configure(config):
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:  # nbval not installed: nothing to adapt
        return
    if getattr(IPyNbCell.compare_outputs, "_companion", False):
        return
    compare = IPyNbCell.compare_outputs

    def compare_outputs(self, test, ref, skip_compare=None):
        t, r = _glue_pngs(test), _glue_pngs(ref)
        if len(t) == len(r) and t and all(pngs_match(a, b) for a, b in zip(t, r)):
            test, ref = _without_glue_pngs(test), _without_glue_pngs(ref)
        return compare(self, test, ref, skip_compare)

    compare_outputs._companion = True
    IPyNbCell.compare_outputs = compare_outputs
