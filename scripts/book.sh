#!/usr/bin/env bash
# Install everything, execute every notebook and build the web book strictly into _build/html.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYTHONHASHSEED=0
.venv/bin/jupyter-book build -W -n --keep-going .
echo
echo "The book is in $(pwd)/_build/html/index.html"
echo "View it with:  .venv/bin/python -m http.server -d _build/html 8000   (then open http://localhost:8000)"
