#!/usr/bin/env bash
# The scaling study of issue 25 item 4, for one model: the allocation sweep
# (recipes/sweeps/scaling-allocations.yaml: Wanda, SparseGPT × uniform, OWL, DLP, AlphaPruning
# × 50%, 70%) as one `owlprune sweep`, then ATP with β auto for the same four method × target
# pairs as `owlprune prune --eval` runs (a sweep cell cannot run ATP's own β search, which is a
# grid of prunes), with the same calibration and evaluation flags. Not part of CI.
#
#   Benchmarks/scaling/run.sh NAME MODEL_DIR        # e.g. smollm2 models/smollm2-135m
#
# Environment: OUT (default /tmp/owlprune-scaling), RANKS (2), NSAMPLES (16), SEQLEN (512),
# EVAL_WINDOWS (40), EVAL_DENSE (1; 0 passes --eval-skip-dense: perplexity only, no mean KLD, half
# the evaluation time), THREADS (threads per rank; default: the command's own), ATP_GRID_POINTS
# (8, ATP's default), PARTS ("sweep atp", the default, or either alone), METHODS (the ATP prunes'
# methods, "wanda sparsegpt") and TARGETS ("0.5 0.7"), SWEEP_METHODS (the sweep's methods, default the
# grid's), RESUME (1: continue an interrupted sweep), OWLPRUNE (default: the release build). Results: OUT/NAME/ (sweep.json,
# sweep.csv, sweep.svg), OUT/NAME-atp-METHOD-TARGET.json (prune --json; the pruned weights are
# deleted) and OUT/NAME.times (wall seconds of each command). Benchmarks/scaling/table.py turns
# them into the README table and the SVG.
set -euo pipefail
cd "$(dirname "$0")/../.."
name="$1"; model="$2"
OUT="${OUT:-/tmp/owlprune-scaling}"; RANKS="${RANKS:-2}"; NSAMPLES="${NSAMPLES:-16}"
SEQLEN="${SEQLEN:-512}"; EVAL_WINDOWS="${EVAL_WINDOWS:-40}"; EVAL_DENSE="${EVAL_DENSE:-1}"
OWLPRUNE="${OWLPRUNE:-$(swift build -c release --show-bin-path)/owlprune}"
[ -f "$model/config.json" ] || { echo "run.sh: $model/config.json missing: deploy/fetch-models first" >&2; exit 1; }
mkdir -p "$OUT"
# --eval-seqlen explicitly: `sweep` evaluates at the calibration --seqlen by default, `prune --eval`
# at min(2048, max_position_embeddings); the ATP prunes must score the sweep cells' windows.
common=(--calib data/wikitext-2/wiki.valid.tokens --nsamples "$NSAMPLES" --seqlen "$SEQLEN"
        --eval data/wikitext-2/wiki.test.raw --eval-seqlen "$SEQLEN" --eval-windows "$EVAL_WINDOWS")
[ "$EVAL_DENSE" = 0 ] && common+=(--eval-skip-dense)
[ -n "${THREADS:-}" ] && common+=(--threads "$THREADS")
ATP_GRID_POINTS="${ATP_GRID_POINTS:-8}"
timed() { # label command...
    local start; start=$(date +%s)
    "${@:2}"
    echo "$1 $RANKS $(( $(date +%s) - start ))" >> "$OUT/$name.times"
}
PARTS="${PARTS:-sweep atp}"
if [[ " $PARTS " == *" sweep "* ]]; then
[ "${RESUME:-0}" = 1 ] || : > "$OUT/$name.times"
# SWEEP_METHODS narrows the grid's methods (e.g. sparsegpt: one half of a large model's grid);
# RESUME=1 keeps the cells an interrupted sweep finished (OUT/NAME.partial) instead of --force.
sweep_flags=(--force); [ "${RESUME:-0}" = 1 ] && sweep_flags=(--resume)
[ -n "${SWEEP_METHODS:-}" ] && sweep_flags+=(--method "$SWEEP_METHODS")
timed sweep env OPENBLAS_NUM_THREADS=1 timeout 12h mpiexec -n "$RANKS" "$OWLPRUNE" sweep \
    --grid recipes/sweeps/scaling-allocations.yaml --model "$model" --out "$OUT/$name" "${sweep_flags[@]}" "${common[@]}" \
    > "$OUT/$name.sweep.log" 2>&1
fi
[[ " $PARTS " == *" atp "* ]] || exit 0
for method in ${METHODS:-wanda sparsegpt}; do
    for target in ${TARGETS:-0.5 0.7}; do
        cell="$OUT/$name-atp-$method-$target"
        timed "atp-$method-$target" env OPENBLAS_NUM_THREADS=1 timeout 6h mpiexec -n "$RANKS" "$OWLPRUNE" prune \
            --model "$model" --out "$cell" --force --method "$method" --sparsity "$target" \
            --allocation atp --atp-beta auto --atp-grid-points "$ATP_GRID_POINTS" "${common[@]}" --json > "$cell.json" 2> "$cell.log"
        rm -f "$cell"/*.safetensors
    done
done
