#!/usr/bin/env bash
# Paper-scale rerun: execute every simulation chapter with COMPANION_SCALE=full (more replications,
# larger n) on all cores, writing the executed notebooks and their figures to _build/full/.
# The committed notebooks (quick scale) are left untouched.  Usage: bash scripts/full_scale.sh [notebook ...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export COMPANION_SCALE=full COMPANION_N_JOBS=${COMPANION_N_JOBS:-2} PYTHONHASHSEED=0
out=_build/full
failed=0
mkdir -p "$out"
if [ "$#" -gt 0 ]; then nbs=("$@"); else nbs=(notebooks/*.ipynb); fi
for nb in "${nbs[@]}"; do
  name=$(basename "$nb" .ipynb)
  start=$(date +%s)
  # --allow-errors: a verdict that fails at paper scale is reported (and its figures still made)
  .venv/bin/jupyter nbconvert --to notebook --execute --allow-errors --ExecutePreprocessor.timeout=-1 \
    --output-dir "$out" "$nb" >/dev/null 2>&1 || { echo "FAILED to run: $nb"; failed=1; continue; }
  .venv/bin/python - "$out/$name.ipynb" "$out/figures" <<'PY' || failed=1
import base64, sys
from pathlib import Path
import nbformat
nb_path, fig_dir = Path(sys.argv[1]), Path(sys.argv[2])
fig_dir.mkdir(parents=True, exist_ok=True)
k = 0
errors = []
for i, cell in enumerate(nbformat.read(nb_path, as_version=4).cells):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            errors.append(f"cell {i}: {out.get('ename')}: {out.get('evalue', '')[:200]}")
        png = out.get("data", {}).get("image/png")
        if png:
            k += 1
            (fig_dir / f"{nb_path.stem}_{k}.png").write_bytes(base64.b64decode(png))
print(f"{nb_path.stem}: {k} figure(s)")
for e in errors:
    print(f"  ERROR at paper scale in {nb_path.stem} {e}")
sys.exit(1 if errors else 0)
PY
  echo "  $nb took $(( $(date +%s) - start )) s"
done
echo "Executed notebooks and figures are in $out/"
exit $failed
