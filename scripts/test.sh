#!/usr/bin/env bash
# Install everything, build the book strictly (the browser tests read it) and run the whole suite:
# unit tests, symbolic checks, nbval on every notebook, notebook guards and headless-browser checks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYTHONHASHSEED=0
.venv/bin/jupyter-book build -W -n --keep-going . >/tmp/fgsm-companion-book.log 2>&1 || {
  tail -n 80 /tmp/fgsm-companion-book.log; echo "strict book build failed"; exit 1; }
# two workers (pytest-xdist); --dist loadscope keeps the cells of one notebook (and the tests of one
# module) on one worker, in order
.venv/bin/python -m pytest -n 2 --dist loadscope --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg "$@"
