"""Put MathJax 3 under book/_static/mathjax so the built book typesets math offline.

The package is taken from the npm registry with the ordinary npm client (``npm pack``); only
its ``es5`` bundle (the loader, TeX input, CHTML output and its fonts) is unpacked.
Run from the repository root: ``python scripts/fetch_mathjax.py``.  Idempotent.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "3.2.2"
ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "book" / "_static" / "mathjax"
STAMP = DEST / ".version"


def main() -> int:
    if (DEST / "tex-chtml.js").is_file() and STAMP.is_file() and STAMP.read_text().strip() == VERSION:
        print(f"MathJax {VERSION} already in {DEST.relative_to(ROOT)}")
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print("error: npm (Node.js) is needed once to fetch MathJax 3 from the npm registry; "
              "install Node.js (e.g. `apt-get install nodejs npm`) and rerun.", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", f"mathjax@{VERSION}", "--silent"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        tarball = next(Path(tmp).glob("mathjax-*.tgz"))
        with tarfile.open(tarball) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("package/es5/")]
            tar.extractall(tmp, members=members, filter="data")
        if DEST.exists():
            shutil.rmtree(DEST)
        shutil.copytree(Path(tmp) / "package" / "es5", DEST)
    STAMP.write_text(VERSION + "\n")
    print(f"MathJax {VERSION} installed in {DEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
