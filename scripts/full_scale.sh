#!/usr/bin/env bash
# Paper-scale rerun of the simulation chapters.  Each chapter's experiment runs at the given scale and
# writes its committed summary results/<scale>/<chapter>.json (verdicts, tables, the data behind the
# figures, seeded spot checks, configuration, package version, date, run time); the book's chapters
# show these files in their "At paper scale" sections.
#
#   bash scripts/full_scale.sh [chapter ...]     every chapter with a summary, or the ones named
#   SCALE=quick bash scripts/full_scale.sh       regenerate results/quick/ instead of results/full/
#   COMPANION_DASK_SCHEDULER=tcp://host:8786 bash scripts/full_scale.sh
#                                                run the Monte Carlo on a Dask distributed cluster
#                                                (same seeds, same disk cache .mc_cache/)
#   NOTEBOOKS=1 bash scripts/full_scale.sh       also execute the chapters' notebooks at that scale
#                                                into _build/<scale>/ (figures as PNG files)
# Exits non-zero when a chapter fails to run or a verdict fails at that scale (the file is written
# either way, so a failing verdict stays visible).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
scale=${SCALE:-full}
export COMPANION_SCALE=$scale COMPANION_N_JOBS=${COMPANION_N_JOBS:-2} PYTHONHASHSEED=0
if [ "$#" -gt 0 ]; then
  chapters=("$@")
else
  mapfile -t chapters < <(.venv/bin/python - <<'PY'
import importlib, pkgutil
import companion.experiments as pkg
for m in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
    mod = importlib.import_module(f"companion.experiments.{m.name}")
    if hasattr(mod, "summarize"):
        print(m.name)
PY
)
fi
echo "scale: $scale | chapters: ${chapters[*]} | scheduler: ${COMPANION_DASK_SCHEDULER:-none (local joblib, $COMPANION_N_JOBS workers)}"
failed=0
t_all=$(date +%s)
for ch in "${chapters[@]}"; do
  start=$(date +%s)
  if ! .venv/bin/python -m "companion.experiments.$ch" --scale "$scale"; then
    echo "FAILED to run: $ch"; failed=1; continue
  fi
  .venv/bin/python - "$ch" "$scale" <<'PY' || failed=1
import sys
from companion.report import verdict_summary
from companion.results import load_summary
doc = load_summary(sys.argv[1], sys.argv[2])
v = doc.get("verdicts", {})
print(f"  {sys.argv[1]}: {verdict_summary(v)}")
sys.exit(0 if all(x["passed"] for x in v.values() if x.get("kind", "test") == "test" and not x.get("status")) else 1)
PY
  if [ "${NOTEBOOKS:-0}" = 1 ] && [ -f "notebooks/$ch.ipynb" ]; then
    mkdir -p "_build/$scale"
    .venv/bin/jupyter nbconvert --to notebook --execute --allow-errors --ExecutePreprocessor.timeout=-1 \
      --output-dir "_build/$scale" "notebooks/$ch.ipynb" >/dev/null 2>&1 || { echo "  notebook failed: $ch"; failed=1; }
  fi
  echo "  $ch took $(( $(date +%s) - start )) s"
done
echo "all chapters: $(( $(date +%s) - t_all )) s; summaries in results/$scale/"
exit $failed
