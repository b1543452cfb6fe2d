#!/usr/bin/env bash
# Paper-scale rerun: execute every simulation chapter with COMPANION_SCALE=full (more replications,
# larger n) on all cores, writing the executed notebooks and their figures to _build/full/.
# The committed notebooks (quick scale) are left untouched.  Usage: bash scripts/full_scale.sh [notebook ...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export COMPANION_SCALE=full COMPANION_N_JOBS=${COMPANION_N_JOBS:-2} PYTHONHASHSEED=0
out=_build/full
mkdir -p "$out"
if [ "$#" -gt 0 ]; then nbs=("$@"); else nbs=(notebooks/*.ipynb); fi
for nb in "${nbs[@]}"; do
  name=$(basename "$nb" .ipynb)
  start=$(date +%s)
  .venv/bin/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=-1 \
    --output-dir "$out" "$nb" >/dev/null 2>&1 || { echo "FAILED: $nb"; exit 1; }
  .venv/bin/python - "$out/$name.ipynb" "$out/figures" <<'PY'
import base64, sys
from pathlib import Path
import nbformat
nb_path, fig_dir = Path(sys.argv[1]), Path(sys.argv[2])
fig_dir.mkdir(parents=True, exist_ok=True)
k = 0
for cell in nbformat.read(nb_path, as_version=4).cells:
    for out in cell.get("outputs", []):
        png = out.get("data", {}).get("image/png")
        if png:
            k += 1
            (fig_dir / f"{nb_path.stem}_{k}.png").write_bytes(base64.b64decode(png))
print(f"{nb_path.stem}: {k} figure(s)")
PY
  echo "  $nb took $(( $(date +%s) - start )) s"
done
echo "Executed notebooks and figures are in $out/"
