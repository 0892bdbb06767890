#!/usr/bin/env bash
# owlprune's exports inside llama.cpp, the real client (issue 27 item 3). Not part of CI.
#
#   Benchmarks/llama_cpp/build.sh                 # once: llama-perplexity, llama-bench, llama-tokenize
#   Benchmarks/llama_cpp/compare.sh [options]
#
# Options (environment variables):
#   LLAMACPP_DIR   where build.sh built llama.cpp (default /work/llamacpp)
#   MODEL          the dense Hugging Face directory (default models/smollm2-135m)
#   WORK           scratch directory for pruned models and GGUF files (default /tmp/owlprune-llamacpp)
#   CTX CHUNKS     llama-perplexity's -c and --chunks (default 512 and 10)
#   THREADS        threads for llama.cpp and ranks for owlprune (default 2)
#   ROUNDS         llama-bench rounds (default 5): each round runs every F32 model once,
#                  interleaved, so a round's ratios to the dense model share the machine's load
#   BENCH          0 skips llama-bench (quality only)
#
# For the dense model, a Wanda 50% prune, a 2:4 Wanda prune, ShortGPT and LLM-Streamline (its
# default trained layer) with 4 and 8 of the 30 blocks removed, it
#  1. exports each with `owlprune convert --to gguf` (F32; F16 too for dense, Wanda 50%, ShortGPT-8);
#  2. runs `llama-perplexity -c CTX --chunks CHUNKS` on every GGUF and `owlprune compare DENSE X
#     --llama-cpp-scoring` on the same windows (llama.cpp scores the second half of each chunk);
#     the two perplexities must agree within TOL_PPL (relative, default 1e-3 for F32: the two
#     forwards are float32 code in different orders; F16 files are reported, not checked);
#  3. runs `llama-perplexity --kl-divergence-base` on the dense F32 GGUF and `--kl-divergence` on
#     each pruned F32 GGUF, and sets its mean KLD and same-top beside owlprune's (llama.cpp
#     stores the base log-probabilities as 16-bit codes and drops terms with ln p < −16, so
#     its KLD agrees to about TOL_KLD, default 2e-2 relative);
#  4. converts the Wanda 50% and ShortGPT-8 Hugging Face directories with llama.cpp's own
#     convert_hf_to_gguf.py (vendored in the same sdist) and compares tensors (names, shapes,
#     values) and metadata with owlprune's export;
#  5. measures each F32 GGUF with `llama-bench -p 512 -n 128 -r 1`, ROUNDS rounds interleaved
#     (dense, then every pruned model, again), and reports the median tokens/s and the median of
#     each round's ratio to the dense model of the same round: the ratio is the figure, since a
#     shared machine's load moves both sides of it together. llama.cpp runs unstructured and
#     2:4 zeros as dense arithmetic, so those rows show no speed-up; only removed blocks make
#     llama.cpp faster.
# and prints the Markdown table the README carries. Timings need a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO="$PWD"
LLAMACPP_DIR="${LLAMACPP_DIR:-/work/llamacpp}"
BIN="$LLAMACPP_DIR/build/bin"
MODEL="${MODEL:-models/smollm2-135m}"
WORK="${WORK:-/tmp/owlprune-llamacpp}"
CTX="${CTX:-512}"; CHUNKS="${CHUNKS:-10}"; THREADS="${THREADS:-2}"; ROUNDS="${ROUNDS:-5}"; BENCH="${BENCH:-1}"
TOL_PPL="${TOL_PPL:-1e-3}"; TOL_KLD="${TOL_KLD:-2e-2}"
TEXT="$REPO/data/wikitext-2/wiki.test.raw"
CALIB="$REPO/data/wikitext-2/wiki.valid.tokens"
SRC="$(ls -d "$LLAMACPP_DIR"/llama_cpp_python-*/vendor/llama.cpp | head -1)"
for tool in llama-perplexity llama-bench; do
    [ -x "$BIN/$tool" ] || { echo "compare.sh: $BIN/$tool missing: run Benchmarks/llama_cpp/build.sh first" >&2; exit 1; }
done
[ -f "$MODEL/config.json" ] || { echo "compare.sh: $MODEL/config.json missing: run deploy/setup first" >&2; exit 1; }
OWL="$(swift build -c release --show-bin-path)/owlprune"
[ -x "$OWL" ] || { echo "compare.sh: $OWL missing: swift build -c release first" >&2; exit 1; }
mkdir -p "$WORK"
mpi() { OPENBLAS_NUM_THREADS=1 mpiexec -n "$THREADS" "$OWL" "$@"; }

# 1. Models and exports.
declare -A ARGS=(
    [wanda50]="--method wanda --sparsity 0.5"
    [wanda2of4]="--method wanda --sparsity 0.5 --pattern 2:4"
    [shortgpt4]="--method shortgpt --remove-blocks 4"
    [shortgpt8]="--method shortgpt --remove-blocks 8"
    [streamline4]="--method streamline --remove-blocks 4"
    [streamline8]="--method streamline --remove-blocks 8"
)
NAMES=(dense wanda50 wanda2of4 shortgpt4 shortgpt8 streamline4 streamline8)
dir_of() { [ "$1" = dense ] && echo "$MODEL" || echo "$WORK/$1"; }
for name in "${NAMES[@]}"; do
    if [ "$name" != dense ] && [ ! -f "$WORK/$name/config.json" ]; then
        # shellcheck disable=SC2086
        mpi prune --model "$MODEL" --out "$WORK/$name" ${ARGS[$name]} --calib "$CALIB" --nsamples 16 --seqlen 512 >/dev/null
    fi
    for dtype in f32 f16; do
        case "$dtype:$name" in f16:wanda2of4|f16:shortgpt4|f16:streamline4) continue ;; esac
        out="$WORK/$name.$dtype.gguf"
        [ -f "$out" ] || "$OWL" convert "$(dir_of "$name")" --to gguf --out "$out" --dtype "$dtype" >/dev/null
    done
done

# 2 and 3. Perplexity and KL divergence, llama.cpp and owlprune on the same windows.
ppl_llama() { # model.gguf [extra args] -> the "Final estimate" PPL
    "$BIN/llama-perplexity" -m "$1" -f "$TEXT" -c "$CTX" --chunks "$CHUNKS" -t "$THREADS" "${@:2}" 2>&1 \
        | sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p' | tail -1
}
"$BIN/llama-perplexity" -m "$WORK/dense.f32.gguf" -f "$TEXT" -c "$CTX" --chunks "$CHUNKS" -t "$THREADS" \
    --kl-divergence-base "$WORK/dense.kld" > "$WORK/dense.kld.log" 2>&1
: > "$WORK/results.tsv"
for name in "${NAMES[@]}"; do
    for dtype in f32 f16; do
        gguf="$WORK/$name.$dtype.gguf"
        [ -f "$gguf" ] || continue
        lp="$(ppl_llama "$gguf")"
        # One owlprune run per Hugging Face directory; the F16 row reuses the F32 row's.
        [ -s "$WORK/$name.compare.json" ] || mpi compare "$MODEL" "$(dir_of "$name")" --data "$TEXT" --seqlen "$CTX" \
            --max-windows "$CHUNKS" --llama-cpp-scoring --json > "$WORK/$name.compare.json"
        kld_llama=""; top_llama=""
        if [ "$dtype" = f32 ] && [ "$name" != dense ]; then
            "$BIN/llama-perplexity" -m "$gguf" -f "$TEXT" -c "$CTX" --chunks "$CHUNKS" -t "$THREADS" \
                --kl-divergence-base "$WORK/dense.kld" --kl-divergence > "$WORK/$name.kld.log" 2>&1
            kld_llama="$(sed -n 's/^Mean    KLD: *\([0-9.e+-]*\).*/\1/p' "$WORK/$name.kld.log")"
            top_llama="$(sed -n 's/^Same top p: *\([0-9.]*\).*/\1/p' "$WORK/$name.kld.log")"
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$dtype" "$lp" "$kld_llama" "$top_llama" "$(stat -c %s "$gguf")" \
            >> "$WORK/results.tsv"
    done
done

# 5. Tokens/s, interleaved rounds (bench.tsv: round, name, pp t/s, tg t/s).
: > "$WORK/bench.tsv"
if [ "$BENCH" != 0 ]; then
    for round in $(seq 1 "$ROUNDS"); do
        for name in "${NAMES[@]}"; do
            "$BIN/llama-bench" -m "$WORK/$name.f32.gguf" -p 512 -n 128 -r 1 -t "$THREADS" -o json 2>/dev/null \
                | python3 -c 'import json,sys; r=json.load(sys.stdin); print(sys.argv[1], sys.argv[2], *("%.3f" % x["avg_ts"] for x in r), sep="\t")' \
                    "$round" "$name" >> "$WORK/bench.tsv"
        done
    done
fi

# 4. llama.cpp's own converter on the same Hugging Face directories.
for name in wanda50 shortgpt8; do
    ref="$WORK/$name.convert_hf_to_gguf.f32.gguf"
    [ -f "$ref" ] || PYTHONPATH="$SRC/gguf-py" python3 "$SRC/convert_hf_to_gguf.py" "$WORK/$name" --outtype f32 --outfile "$ref" \
        > "$WORK/$name.convert.log" 2>&1
    PYTHONPATH="$SRC/gguf-py" python3 "$REPO/Benchmarks/llama_cpp/gguf_diff.py" "$WORK/$name.f32.gguf" "$ref" | sed "s/^/$name: /"
done

# The table.
python3 "$REPO/Benchmarks/llama_cpp/table.py" "$WORK" "$TOL_PPL" "$TOL_KLD" "${NAMES[@]}"
