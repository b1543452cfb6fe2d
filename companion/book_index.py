r"""The book's index of results and its "results at a glance" figure, read from the committed summaries.

Each chapter that runs simulations commits two summaries, ``results/quick/<chapter>.json`` (the
scale at which the book's pages are computed) and ``results/full/<chapter>.json`` (paper scale),
written by :func:`companion.results.save_summary`.  This module reads whichever of them exist and
turns their ``"verdicts"`` into

* :func:`index_markdown`: the index of results, one row per claim (chapter, theorem box, verdicts at
  quick and at paper scale, figures), followed by every verdict of every chapter;
* :func:`glance_figure`: one figure with the number of tests that pass, fail with an explanation, or
  fail, per chapter and scale.

Which chapter states which claim and which theorem box it checks is editorial and listed in
:data:`CHAPTERS`; every verdict is read from the summary files, none is written here.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from . import results
from .report import Table, as_verdict

__all__ = ["Chapter", "CHAPTERS", "SCALES", "load_summaries", "verdict_counts", "counts_text",
           "figure_labels", "claims_table_markdown", "verdicts_table", "index_markdown", "glance_figure",
           "glance_caption"]

SCALES = ("quick", "full")
#: How the index names the theorem boxes of ``book/theorems.md``.
THEOREM_NAMES = {"thm-fgsm-lasso": "FGSM-Lasso identity", "thm-a": "Theorem A", "thm-b": "Theorem B",
                 "thm-c": "Theorem C", "thm-scad": "SCAD theorem", "thm-scaling": "scaling and sign neutrality"}
SCALE_NAMES = {"quick": "quick scale", "full": "paper scale"}
REQUIRED_KEYS = ("verdicts", "tables", "figures", "spot")
VERDICT_KEYS = ("value", "tolerance", "passed")
_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Chapter:
    """A chapter of the book: its notebook name, a short title, the claim it checks, whose claim it
    is, and the theorem boxes of ``book/theorems.md`` it checks."""

    slug: str
    short: str
    claim: str
    whose: str
    theorems: tuple[str, ...] = ()


#: The chapters in book order.  Editorial: which claim each chapter checks, not whether it holds.
CHAPTERS: tuple[Chapter, ...] = (
    Chapter("fgsm_lasso_identity", "FGSM-Lasso identity",
            "the loss at an FGSM example is the clean loss with the margin shifted by "
            r"$\varepsilon\lVert\beta\rVert_1$", "reconstruction of Zuo (2018)", ("thm-fgsm-lasso",)),
    Chapter("generalized_fgsm", "Generalized FGSM",
            r"any penalty $P$ has a noise direction $d(\beta)$ with $d(\beta)'\beta = P(\beta)$",
            "reconstruction of Zuo (2018)", ("thm-fgsm-lasso",)),
    Chapter("symbolic_derivations", "Symbolic derivations",
            "every identity and limit objective of the book holds symbolically", "new here",
            ("thm-fgsm-lasso", "thm-a", "thm-b", "thm-c", "thm-scad", "thm-scaling")),
    Chapter("root_n_consistency", "Root-n consistency",
            r"with $\varepsilon_n = \lambda_0/\sqrt n$ the error shrinks like $n^{-1/2}$",
            "Zuo (2018), in words", ("thm-a", "thm-b")),
    Chapter("asymptotic_distribution", "Asymptotic distribution",
            r"$\sqrt n(\hat\beta - \beta_0)$ follows the limit laws of Theorems A, B and C",
            "reconstruction of Zuo (2018)", ("thm-a", "thm-b", "thm-c")),
    Chapter("automatic_scaling", "Automatic scaling",
            r"the FGSM penalty is scaled by the error dispersion $\kappa$", "Zuo (2018), in words",
            ("thm-scaling",)),
    Chapter("oracle_property", "Oracle property",
            r"SCAD and $\ell_r$ ($r < 1$) FGSM select the support; oracle or weakly oracle",
            "Zuo (2018), in words", ("thm-scad", "thm-c")),
    Chapter("sign_neutrality", "Sign neutrality",
            r"when $V \ne 0$ FGSM has a bias that the Lasso does not have", "Zuo (2018), in words",
            ("thm-scaling",)),
    Chapter("gradient_regularization", "Gradient regularization",
            "adversarial training penalizes the dual norm of the input gradient", "Lyu et al. (2015)"),
    Chapter("operator_norm", "Operator-norm regularization",
            "projected gradient ascent is a power method for a data-dependent operator norm",
            "Roth et al. (2020)"),
    Chapter("less_confident", "Less confident networks",
            "adversarial robustness lowers confidence and clean accuracy", "Wen et al. (2020)"),
)


# --------------------------------------------------------------------------- reading
def _check_summary(doc: Mapping, where: str) -> None:
    missing = [k for k in REQUIRED_KEYS if k not in doc]
    if missing:
        raise ValueError(f"{where}: summary lacks the top-level keys {missing}")
    if not isinstance(doc["verdicts"], Mapping):
        raise ValueError(f"{where}: 'verdicts' must map names to verdict records")
    for name, v in doc["verdicts"].items():
        if not isinstance(v, Mapping) or any(k not in v for k in VERDICT_KEYS):
            raise ValueError(f"{where}: verdict {name!r} needs the fields {list(VERDICT_KEYS)}")


def load_summaries(scale: str, directory: Path | str | None = None) -> dict[str, dict]:
    """Every summary committed at ``scale`` (``"quick"`` or ``"full"``), keyed by chapter name.

    ``directory`` is the folder holding the ``<chapter>.json`` files (default
    :func:`companion.results.results_dir`).  A missing folder means no summaries (an empty dict); a
    file that is not a valid summary raises a ValueError naming it.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    directory = Path(directory) if directory is not None else results.results_dir(scale)
    if not directory.is_dir():
        return {}
    out = {}
    for path in sorted(directory.glob("*.json")):
        try:
            doc = results.load_summary(path.stem, scale, directory)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from exc
        _check_summary(doc, str(path))
        out[path.stem] = doc
    return out


def _verdicts(doc: Mapping) -> list:
    vs = []
    for name, v in doc["verdicts"].items():
        v = dict(v)
        for key in ("value", "tolerance"):
            x = v.get(key)
            v[key] = math.nan if x is None else float(x)
        vs.append(as_verdict(name, v))
    return vs


def verdict_counts(doc: Mapping) -> dict[str, int]:
    """Counts of a summary's verdicts: ``tests``, ``passed``, ``explained`` (failed, kept visible with
    a recorded status such as "fails, explained"), ``failed`` (failed without one), ``sanity`` and
    ``sanity_held``."""
    c = dict(tests=0, passed=0, explained=0, failed=0, sanity=0, sanity_held=0)
    for v in _verdicts(doc):
        if v.kind == "sanity":
            c["sanity"] += 1
            c["sanity_held"] += bool(v.passed)
            continue
        c["tests"] += 1
        if v.passed:
            c["passed"] += 1
        elif v.status:
            c["explained"] += 1
        else:
            c["failed"] += 1
    return c


def counts_text(doc: Mapping | None, sanity: bool = False) -> str:
    """``"12 of 12 tests pass"``, with the failures when there are any (and the sanity checks if
    ``sanity``); ``"no summary"`` for a missing summary."""
    if doc is None:
        return "no summary"
    c = verdict_counts(doc)
    s = f"{c['passed']} of {c['tests']} tests pass"
    extra = []
    if c["explained"]:
        extra.append(f"{c['explained']} fail, explained")
    if c["failed"]:
        extra.append(f"{c['failed']} fail")
    if extra:
        s += " (" + ", ".join(extra) + ")"
    if sanity and c["sanity"]:
        s += f"; {c['sanity_held']} of {c['sanity']} sanity checks hold"
    return s


_FIG_NAME = re.compile(r"^[ \t]*:name:[ \t]*(fig-[A-Za-z0-9_.-]+)[ \t]*$", re.M)


def figure_labels(slug: str, notebooks_dir: Path | str | None = None) -> list[str]:
    """The ``:name: fig-...`` labels of the numbered figures (``{glue:figure}`` or ``{figure}``
    directives) in the markdown of ``notebooks/<slug>.ipynb`` (or ``.md``), in page order."""
    notebooks_dir = Path(notebooks_dir) if notebooks_dir is not None else _ROOT / "notebooks"
    texts = []
    ipynb, md = notebooks_dir / f"{slug}.ipynb", notebooks_dir / f"{slug}.md"
    if ipynb.is_file():
        nb = json.loads(ipynb.read_text())
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "markdown":
                src = cell.get("source", "")
                texts.append("".join(src) if isinstance(src, list) else src)
    elif md.is_file():
        texts.append(md.read_text())
    labels = []
    for text in texts:
        # a label counts when it belongs to a figure directive: the nearest directive above it
        for m in _FIG_NAME.finditer(text):
            before = text[:m.start()]
            opens = list(re.finditer(r"^[ \t]*(```+|:::+)\{([A-Za-z:_-]+)\}", before, re.M))
            if opens and opens[-1].group(2) in ("glue:figure", "figure") and m.group(1) not in labels:
                labels.append(m.group(1))
    return labels


# --------------------------------------------------------------------------- rendering
def _chapters(quick: Mapping, full: Mapping) -> list[Chapter]:
    known = {c.slug for c in CHAPTERS}
    extra = sorted((set(quick) | set(full)) - known)
    return list(CHAPTERS) + [Chapter(s, s.replace("_", " ").capitalize(), "(not listed in the index)", "")
                             for s in extra]


def claims_table_markdown(quick: Mapping, full: Mapping, notebooks_dir: Path | str | None = None) -> str:
    """The index as a MyST table: claim, whose it is, chapter, theorem boxes, verdicts at quick and
    paper scale, and the chapter's numbered figures (cross-references the strict build checks)."""
    rows = ["| claim (whose) | chapter | theorem box | quick scale | paper scale | figures |",
            "| --- | --- | --- | --- | --- | --- |"]
    for ch in _chapters(quick, full):
        thms = ", ".join(f"{{prf:ref}}`{THEOREM_NAMES.get(t, t)} <{t}>`" for t in ch.theorems) or "none"
        figs = ", ".join(f"{{numref}}`{lab}`" for lab in figure_labels(ch.slug, notebooks_dir)) or "none"
        doc = f"{{doc}}`../notebooks/{ch.slug}`"
        whose = f" ({ch.whose})" if ch.whose else ""
        rows.append(f"| {ch.claim}{whose} | {doc} | {thms} | {counts_text(quick.get(ch.slug))} | "
                    f"{counts_text(full.get(ch.slug))} | {figs} |")
    return "\n".join(rows)


def _cell(v) -> str:
    if v is None:
        return "not run"
    return f"{v.result}: {v.shown_value()} {v.criterion()}"


def verdicts_table(slug: str, quick: Mapping, full: Mapping) -> Table:
    """Every verdict of chapter ``slug``, one row each, with its result at quick and at paper scale."""
    q = {v.name: v for v in _verdicts(quick[slug])} if slug in quick else {}
    f = {v.name: v for v in _verdicts(full[slug])} if slug in full else {}
    if not q and not f:
        raise ValueError(f"chapter {slug!r} has no summary at either scale")
    names = list(q) + [n for n in f if n not in q]
    rows, classes = [], []
    for name in names:
        vq, vf = q.get(name), f.get(name)
        ref = vf or vq
        kind = "sanity check" if ref.kind == "sanity" else "test"
        rows.append([name, ref.statement, kind, _cell(vq), _cell(vf)])
        ok = all(v.passed for v in (vq, vf) if v is not None)
        classes.append("verdict-pass" if ok else "verdict-fail")
    return Table(["check", "what it states", "kind", "quick scale", "paper scale"], rows,
                 align="lllll", row_classes=classes)


def index_markdown(quick: Mapping, full: Mapping, notebooks_dir: Path | str | None = None) -> str:
    """The whole index of results as MyST markdown: the claims table, then for every chapter with a
    summary a dropdown holding its verdicts table."""
    parts = [claims_table_markdown(quick, full, notebooks_dir), ""]
    for ch in _chapters(quick, full):
        if ch.slug not in quick and ch.slug not in full:
            continue
        title = f"{ch.short}: every verdict"
        parts += [f":::{{dropdown}} {title}", verdicts_table(ch.slug, quick, full)._repr_html_(), ":::", ""]
    if not (quick or full):
        parts.append(":::{note}\nNo chapter has committed a summary yet: the verdict columns will fill in "
                     "when the `results/quick` and `results/full` files are committed.\n:::")
    return "\n".join(parts)


_COLORS = {"passed": "#2a7f62", "explained": "#e9a03b", "failed": "#c0392b"}
_LABELS = {"passed": "tests that pass", "explained": "tests that fail, explained",
           "failed": "tests that fail"}


def glance_figure(quick: Mapping, full: Mapping):
    """Horizontal bars: for every chapter with a summary, the number of tests that pass, fail with an
    explanation, or fail, at quick and at paper scale.  Without any summary, a figure that says so."""
    import matplotlib.pyplot as plt

    from .plotting import COLUMN_WIDTH_IN, use_book_style

    use_book_style()
    chapters = [c for c in _chapters(quick, full) if c.slug in quick or c.slug in full]
    if not chapters:
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 1.6))
        ax.axis("off")
        ax.text(0.5, 0.5, "No chapter has committed a summary in results/quick or results/full yet.",
                ha="center", va="center", fontsize=11)
        return fig
    rows = []                          # (label, counts or None)
    for ch in chapters:
        for scale, docs in (("quick", quick), ("full", full)):
            rows.append((f"{ch.short}, {SCALE_NAMES[scale]}",
                         verdict_counts(docs[ch.slug]) if ch.slug in docs else None))
    height = 0.9 + 0.26 * len(rows)
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, height))
    y = list(range(len(rows)))[::-1]
    xmax = max([c["tests"] for _, c in rows if c] + [1])
    for yi, (label, c) in zip(y, rows):
        if c is None:
            ax.text(0, yi, "  no summary", va="center", fontsize=9, color="#555555")
            continue
        left = 0
        for key in ("passed", "explained", "failed"):
            if c[key]:
                ax.barh(yi, c[key], left=left, color=_COLORS[key], height=0.7)
                left += c[key]
        ax.text(left + 0.01 * xmax, yi, f" {c['passed']}/{c['tests']}", va="center", fontsize=9)
    ax.set_yticks(y)
    ax.set_yticklabels([lab for lab, _ in rows])
    ax.set_xlim(0, xmax * 1.12)
    ax.set_xlabel("number of pre-registered tests (sanity checks not counted)")
    ax.grid(axis="y", visible=False)
    from matplotlib.patches import Patch

    handles = [Patch(color=_COLORS[k], label=_LABELS[k]) for k in ("passed", "explained", "failed")]
    fig.legend(handles=handles, loc="outside lower center", ncol=3)
    return fig


def glance_caption(quick: Mapping, full: Mapping) -> str:
    """A sentence for the figure's caption: how many chapters and tests the figure covers."""
    n = len(set(quick) | set(full))
    if n == 0:
        return "No summaries are committed yet."
    tq = sum(verdict_counts(d)["passed"] for d in quick.values())
    nq = sum(verdict_counts(d)["tests"] for d in quick.values())
    tf = sum(verdict_counts(d)["passed"] for d in full.values())
    nf = sum(verdict_counts(d)["tests"] for d in full.values())
    return (f"{n} chapters have committed summaries: {tq} of {nq} tests pass at quick scale and "
            f"{tf} of {nf} at paper scale.")


# --------------------------------------------------------------------------- Sphinx extension
#: Pages of the book built from the committed summaries: re-read on every build, since Sphinx does not
#: know that they depend on the files in ``results/`` and on the chapters' figure labels.
RESULT_PAGES = ("book/intro", "book/results_index")


def _outdated(app, env, added, changed, removed):
    return [d for d in RESULT_PAGES if d in env.found_docs and d not in added | changed]


def setup(app):
    """Sphinx extension (listed in ``_config.yml``): the pages built from the summaries are rebuilt
    whenever the book is."""
    app.connect("env-get-outdated", _outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
