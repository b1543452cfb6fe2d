"""One figure style for the book: sizes that fit the text column, readable text, labelled axes.

The book's text column is about 770 px wide.  :func:`use_book_style` sets matplotlib so that a
figure made with :func:`figsize` fills that column at 100 dpi with 10-pt text (9 pt for legends and
ticks), so no text is shrunk below 9 pt on the page.
"""
from __future__ import annotations

import matplotlib as mpl

__all__ = ["use_book_style", "figsize", "COLUMN_WIDTH_IN", "BOOK_RC"]

#: width of the book's text column in inches at the style's 100 dpi (about 770 px)
COLUMN_WIDTH_IN = 7.7

BOOK_RC = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.figsize": (COLUMN_WIDTH_IN, 3.4),
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "lines.linewidth": 1.6,
    "lines.markersize": 5,
    "errorbar.capsize": 3,
    "axes.prop_cycle": mpl.cycler(color=["#1f5fa6", "#d1495b", "#2a9d8f", "#e9a03b", "#6c4f9c", "#555555"]),
    "mathtext.fontset": "cm",
}


def use_book_style() -> None:
    """Apply :data:`BOOK_RC` to matplotlib (call once at the top of a chapter)."""
    mpl.rcParams.update(BOOK_RC)


def figsize(ncols: int = 1, height: float | None = None) -> tuple[float, float]:
    """A figure size that fills the text column: full width, and a height that keeps panels
    readable (3.4 in for one or two panels, 3.0 in for three or more) unless ``height`` is given."""
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}")
    if height is None:
        height = 3.4 if ncols <= 2 else 3.0
    return (COLUMN_WIDTH_IN, float(height))
