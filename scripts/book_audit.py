#!/usr/bin/env python3
"""Measure the built book in headless Chromium: what a reader sees, page by page.

Usage:  python scripts/book_audit.py [HTML_DIR] [--json] [--pages PAGE ...]

HTML_DIR defaults to ``_build/html``.  Every page is served locally and opened twice in Debian's
``chromium`` (``--headless``), at 1400 px and at 420 px wide.  A measuring script is injected into
each page; it waits for MathJax to typeset, then records

* captioned figures (a ``<figure>`` with a non-empty ``<figcaption>``) and uncaptioned figures (any
  content image outside such a figure: a bare cell output),
* HTML tables in the text (and how many are ``companion-table`` verdict/result tables),
* code, output and math blocks wider than the text column at 1400 px (their content does not fit:
  it is cut off or needs a horizontal scroll bar),
* printed PASS/FAIL lines (lines of plain-text cell output that contain PASS or FAIL),
* whether the page itself scrolls horizontally at 420 px, and the widest element that makes it so,
* typeset math: MathJax containers, MathJax errors, and TeX commands left in the visible text.

The counts are printed as a table (or as JSON with ``--json``).  ``tests/test_browser.py`` uses the
same measurements (:func:`measure`) for its checks.
"""
from __future__ import annotations

import argparse
import functools
import html
import http.server
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER_ID = "book-audit-result"

# Runs in the page after MathJax has typeset it; writes its findings into <pre id=MARKER_ID>.
MEASURE_JS = r"""
(function () {
  function text(el) { return (el.textContent || "").replace(/\s+/g, " ").trim(); }
  function describe(el) {
    var s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    if (el.className && typeof el.className === "string") s += "." + el.className.trim().split(/\s+/).slice(0, 2).join(".");
    var sec = el.closest("section[id]");
    return {element: s, section: sec ? sec.id : "", text: text(el).slice(0, 80)};
  }
  function measure() {
    var article = document.querySelector("article.bd-article") || document.querySelector("main") || document.body;
    var col = article.getBoundingClientRect();
    var colStyle = getComputedStyle(article);
    var left = col.left + parseFloat(colStyle.paddingLeft || 0);
    var right = col.right - parseFloat(colStyle.paddingRight || 0);
    var out = {width: window.innerWidth, column: Math.round(right - left),
               captioned: 0, uncaptioned: [], figures: [], tables: 0, companion_tables: 0,
               overflow: [], passfail_lines: 0, page_scroll_width: document.documentElement.scrollWidth,
               page_overflow: [], paper_link: false, title: document.title};
    // figures
    article.querySelectorAll("figure").forEach(function (f) {
      var cap = f.querySelector("figcaption");
      if (f.querySelector("img, svg:not(mjx-container svg)") && cap && text(cap).length > 0) {
        out.captioned += 1;
        var img = f.querySelector("img");
        out.figures.push({id: f.id || "", caption: text(cap).slice(0, 100),
                          natural: img ? img.naturalWidth : null,
                          shown: img ? Math.round(img.getBoundingClientRect().width) : null});
      }
    });
    article.querySelectorAll("img").forEach(function (img) {
      var f = img.closest("figure");
      var cap = f ? f.querySelector("figcaption") : null;
      if (!(cap && text(cap).length > 0)) out.uncaptioned.push(describe(img));
    });
    // tables (MathJax renders math with custom elements, not <table>)
    article.querySelectorAll("table").forEach(function (t) {
      out.tables += 1;
      if (t.classList.contains("companion-table")) out.companion_tables += 1;
    });
    // blocks wider than the column
    var blocks = [];
    article.querySelectorAll("div.cell_output pre, div.cell_output div.output > table, div.cell_output div.output > div, div.cell_output img").forEach(function (e) {
      if (!e.closest("div.highlight") || e.tagName === "PRE") blocks.push(["output", e]);
    });
    article.querySelectorAll("div.highlight pre, div.cell_input pre").forEach(function (e) {
      if (!e.closest("div.cell_output")) blocks.push(["code", e]);
    });
    article.querySelectorAll("mjx-container[display='true'], div.math").forEach(function (e) { blocks.push(["math", e]); });
    article.querySelectorAll("table").forEach(function (e) { blocks.push(["table", e]); });
    var seen = new Set();
    blocks.forEach(function (pair) {
      var kind = pair[0], e = pair[1];
      if (seen.has(e)) return;
      seen.add(e);
      if (e.closest("details:not([open])") || e.offsetParent === null) return;   // collapsed or hidden
      var r = e.getBoundingClientRect();
      var inner = e.scrollWidth;
      var content = e;
      if (kind === "math") {
        var m = e.querySelector("mjx-math");
        if (m) { inner = Math.max(inner, m.getBoundingClientRect().width); content = m; }
      }
      var cr = content.getBoundingClientRect();
      var tooWide = inner > e.clientWidth + 2 || r.right > right + 2 || cr.right > right + 2 || r.left < left - 2;
      if (tooWide && r.width > 0) {
        var d = describe(e);
        d.kind = kind; d.content_width = Math.round(Math.max(inner, cr.width)); d.box_width = Math.round(r.width);
        out.overflow.push(d);
      }
    });
    // printed PASS/FAIL lines in plain-text outputs
    article.querySelectorAll("div.cell_output pre").forEach(function (p) {
      (p.textContent || "").split("\n").forEach(function (line) {
        if (/\b(PASS|FAIL)(ED)?\b/.test(line)) out.passfail_lines += 1;
      });
    });
    // page-level horizontal overflow: the elements that stick out of the viewport
    if (document.documentElement.scrollWidth > window.innerWidth + 1) {
      var vw = window.innerWidth;
      document.querySelectorAll("body *").forEach(function (e) {
        var r = e.getBoundingClientRect();
        var sw = document.documentElement.scrollWidth;
        if (r.width > 0 && r.right > vw + 1 && r.right <= sw + 1 && out.page_overflow.length < 8) {
          // report the outermost offender only, and nothing that an ancestor clips or scrolls
          var p = e.parentElement, inside = false;
          while (p && p !== document.body) {
            var pr = p.getBoundingClientRect();
            if (pr.right > vw + 1 || getComputedStyle(p).overflowX !== "visible") { inside = true; break; }
            p = p.parentElement;
          }
          if (!inside) { var d = describe(e); d.right = Math.round(r.right); out.page_overflow.push(d); }
        }
      });
    }
    // typeset math: MathJax containers and errors, TeX commands left in the visible prose
    out.mjx = document.querySelectorAll("mjx-container").length;
    out.merror = document.querySelectorAll("mjx-merror").length;
    var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode: function (n) {
      return n.parentElement && n.parentElement.closest("script, style, pre, code, mjx-container, textarea")
        ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT; }});
    var leftover = {};
    while (walker.nextNode()) {
      (walker.currentNode.nodeValue.match(/\\[A-Za-z]{2,}/g) || []).forEach(function (m) { leftover[m] = 1; });
    }
    out.raw_tex = Object.keys(leftover).sort().slice(0, 10);
    var header = document.getElementById("pst-header");
    out.top_bar_visible = !!(header && header.offsetHeight > 0 && getComputedStyle(header).display !== "none");
    out.search_fields_visible = Array.prototype.filter.call(
      document.querySelectorAll(".search-button-field, form.bd-search input[type=search]"),
      function (e) { return e.offsetParent !== null && e.getBoundingClientRect().width > 0; }).length;
    document.querySelectorAll("a[href]").forEach(function (a) {
      if (/arxiv\.org\/abs\/1810\.11711/.test(a.getAttribute("href"))) out.paper_link = true;
    });
    var pre = document.createElement("pre");
    pre.id = "%MARKER%";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
    if (window.parent !== window) window.parent.postMessage(JSON.stringify(out), "*");
  }
  function whenReady() {
    var mj = window.MathJax;
    var p = (mj && mj.startup && mj.startup.promise) ? mj.startup.promise : Promise.resolve();
    p.then(function () { return document.fonts ? document.fonts.ready : null; })
     .then(function () { setTimeout(measure, 300); }, function () { setTimeout(measure, 300); });
  }
  if (document.readyState === "complete") whenReady(); else window.addEventListener("load", whenReady);
})();
""".replace("%MARKER%", MARKER_ID)


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


#: Headless Chromium does not lay a page out narrower than this (its minimum window width), so a
#: narrower screen is emulated by loading the page in an iframe of that width.
MIN_WINDOW = 500
FRAME_PATH = "__frame__"
FRAME_HTML = """<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe src="/{page}" style="width:{width}px;height:{height}px;border:0;display:block"></iframe>
<script>window.addEventListener("message", function (e) {{
  var pre = document.createElement("pre"); pre.id = "%MARKER%"; pre.textContent = e.data;
  document.body.appendChild(pre); }});</script></body></html>""".replace("%MARKER%", MARKER_ID)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the book; HTML pages get the measuring script appended.  ``/__frame__?page=P&width=W``
    shows page P in an iframe W px wide (a phone screen)."""

    def log_message(self, *args, **kwargs):
        pass

    def _send_html(self, body: str):
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        from urllib.parse import parse_qs, urlparse

        parsed = urlparse(self.path)
        if parsed.path.strip("/") == FRAME_PATH:
            q = parse_qs(parsed.query)
            self._send_html(FRAME_HTML.format(page=html.escape(q["page"][0]), width=int(q["width"][0]),
                                              height=int(q.get("height", ["1000"])[0])))
            return
        path = self.translate_path(self.path)
        if path.endswith(".html") and Path(path).is_file():
            body = Path(path).read_text(errors="replace")
            tag = f"<script>{MEASURE_JS}</script>"
            body = body.replace("</body>", tag + "</body>") if "</body>" in body else body + tag
            self._send_html(body)
            return
        super().do_GET()


class Server:
    """A local HTTP server for ``html_dir`` on a free port (context manager)."""

    def __init__(self, html_dir: Path):
        self.html_dir = Path(html_dir)

    def __enter__(self):
        handler = functools.partial(_Handler, directory=str(self.html_dir))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def page_url(server_url: str, page: str, width: int, height: int = 1000) -> str:
    """The address that shows ``page`` at ``width`` px: the page itself, or (below Chromium's minimum
    window width) the page in an iframe of that width."""
    if width >= MIN_WINDOW:
        return server_url + page
    return f"{server_url}{FRAME_PATH}?page={page}&width={width}&height={height}"


def measure(server_url: str, page: str, width: int, chrome: str | None = None, height: int = 1000) -> dict:
    """Open ``page`` of the book served at ``server_url`` at ``width`` px in headless Chromium and
    return the injected script's findings."""
    url = page_url(server_url, page, width, height)
    chrome = chrome or chromium()
    if chrome is None:
        raise RuntimeError("Chromium is not installed (apt-get install chromium)")
    # a page load that has not finished when Chromium dumps the page (seen once on a loaded machine,
    # with the test suite running beside it) is tried again with a longer budget
    for budget in (25000, 60000, 120000):
        with tempfile.TemporaryDirectory() as profile:
            res = subprocess.run(
                [chrome, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--hide-scrollbars", f"--window-size={max(width, MIN_WINDOW)},{height}",
                 f"--user-data-dir={profile}", f"--virtual-time-budget={budget}", "--dump-dom", url],
                capture_output=True, text=True, timeout=240)
        if res.returncode != 0:
            raise RuntimeError(f"chromium failed on {url}: {res.stderr[-1500:]}")
        m = re.search(rf'<pre id="{MARKER_ID}">(.*?)</pre>', res.stdout, flags=re.S)
        if m:
            return json.loads(html.unescape(m.group(1)))
    raise RuntimeError(f"the measuring script did not report on {url} after 3 loads (page did not finish loading?)")


def book_pages(html_dir: Path) -> list[str]:
    """The book's content pages (relative paths), without Sphinx's generated index/search pages."""
    skip = {"search.html", "genindex.html", "py-modindex.html", "index.html"}
    pages = []
    for f in sorted(Path(html_dir).rglob("*.html")):
        rel = f.relative_to(html_dir).as_posix()
        if rel in skip or rel.startswith(("_", "prf-")) or "/_" in rel:
            continue
        pages.append(rel)
    return pages


def audit(html_dir: Path, pages: list[str] | None = None, jobs: int = 2) -> dict:
    """Measure every page at 1400 and 420 px; returns per-page results and totals."""
    html_dir = Path(html_dir)
    pages = pages or book_pages(html_dir)
    chrome = chromium()
    if chrome is None:
        raise RuntimeError("Chromium is not installed (apt-get install chromium)")
    with Server(html_dir) as srv:
        def one(page):
            wide = measure(srv.url, page, 1400, chrome)
            narrow = measure(srv.url, page, 420, chrome)
            return page, wide, narrow
        with ThreadPoolExecutor(max_workers=jobs) as ex:
            results = list(ex.map(one, pages))
    per_page = {}
    for page, wide, narrow in results:
        per_page[page] = {
            "captioned_figures": wide["captioned"],
            "uncaptioned_figures": len(wide["uncaptioned"]),
            "html_tables": wide["tables"],
            "companion_tables": wide["companion_tables"],
            "overflow_1400": len(wide["overflow"]),
            "overflow_1400_by_kind": _by_kind(wide["overflow"]),
            "passfail_lines": wide["passfail_lines"],
            "page_overflow_420": narrow["page_scroll_width"] > narrow["width"] + 1,
            "column_px_1400": wide["column"],
            "top_bar_visible_1400": wide["top_bar_visible"],
            "search_fields_visible_1400": wide["search_fields_visible"],
            "paper_link": wide["paper_link"],
            "mathjax_containers": wide["mjx"],
            "mathjax_errors": wide["merror"],
            "raw_tex": wide["raw_tex"],
            "details": {"overflow_1400": wide["overflow"], "uncaptioned": wide["uncaptioned"],
                        "figures": wide["figures"], "page_overflow_420": narrow["page_overflow"]},
        }
    keys = ["captioned_figures", "uncaptioned_figures", "html_tables", "companion_tables", "overflow_1400",
            "passfail_lines"]
    totals = {k: sum(p[k] for p in per_page.values()) for k in keys}
    totals["pages"] = len(per_page)
    totals["pages_overflowing_420"] = sum(p["page_overflow_420"] for p in per_page.values())
    return {"html_dir": str(html_dir), "totals": totals, "pages": per_page}


def _by_kind(items):
    out = {}
    for it in items:
        out[it["kind"]] = out.get(it["kind"], 0) + 1
    return out


def format_report(report: dict) -> str:
    cols = [("captioned_figures", "fig+cap"), ("uncaptioned_figures", "fig-nocap"), ("html_tables", "tables"),
            ("companion_tables", "c-tables"), ("overflow_1400", "wide@1400"), ("passfail_lines", "PASS/FAIL"),
            ("page_overflow_420", "hscroll@420")]
    width = max([len(p) for p in report["pages"]] + [5])
    lines = ["page".ljust(width) + "  " + "  ".join(h.rjust(max(len(h), 4)) for _, h in cols)]
    for page, r in report["pages"].items():
        cells = []
        for k, h in cols:
            v = r[k]
            v = ("yes" if v else "no") if isinstance(v, bool) else str(v)
            cells.append(v.rjust(max(len(h), 4)))
        lines.append(page.ljust(width) + "  " + "  ".join(cells))
    t = report["totals"]
    lines.append("")
    lines.append(f"pages: {t['pages']}")
    lines.append(f"captioned figures: {t['captioned_figures']}")
    lines.append(f"uncaptioned figures: {t['uncaptioned_figures']}")
    lines.append(f"HTML tables: {t['html_tables']} (companion-table: {t['companion_tables']})")
    lines.append(f"code/output/math blocks wider than the text column at 1400 px: {t['overflow_1400']}")
    lines.append(f"printed PASS/FAIL lines: {t['passfail_lines']}")
    lines.append(f"pages that scroll horizontally at 420 px: {t['pages_overflowing_420']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html_dir", nargs="?", type=Path, default=ROOT / "_build" / "html")
    ap.add_argument("--json", action="store_true", help="print the full report as JSON")
    ap.add_argument("--pages", nargs="*", help="only these pages (paths relative to HTML_DIR)")
    ap.add_argument("--jobs", type=int, default=2, help="pages measured in parallel (default 2)")
    args = ap.parse_args(argv)
    if not (args.html_dir / "index.html").is_file():
        print(f"no built book at {args.html_dir} (run `bash scripts/book.sh`)", file=sys.stderr)
        return 2
    report = audit(args.html_dir, args.pages, args.jobs)
    print(json.dumps(report, indent=1) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
