#!/usr/bin/env bash
# Output identity (issue 23 "no output changes"): runs a fixed list of small prunes, evaluations,
# conversions and a sweep with one owlprune binary on 1 and 2 ranks, and prints one line per output
# file: `run ranks file sha256`. Record it with the old binary, again with the new one, and diff:
#
#   Benchmarks/output_identity/record.sh /tmp/owlprune-old > before.txt
#   Benchmarks/output_identity/record.sh "$(swift build -c release --show-bin-path)/owlprune" > after.txt
#   diff before.txt after.txt && echo identical
#
# Every file's bytes are hashed as written, except the JSON documents that hold times
# (owlprune-report.json, sweep.json, sweep.csv, the --json stdout of a run): those are hashed after
# normalize.py removes the timing, timestamp and peak-memory fields only. Weights, plans, SVGs,
# recipes, indexes, configs and token files are hashed raw.
#
# The models are tiny synthesized checkpoints (4 blocks, hidden 64) and SmolLM2-135M for a few
# cheap runs, with 8 calibration windows of 64 tokens, so the whole list takes a few minutes on a
# loaded 2-core machine. Every mpiexec runs under a timeout. Set OWLPRUNE_IDENTITY_DIR to keep the
# outputs (default: a temporary directory, removed at the end); OWLPRUNE_IDENTITY_SKIP_SMOL=1 skips
# the SmolLM2 runs.
#
# OWLPRUNE_IDENTITY_INPUTS names a directory for the input models and texts, kept between
# recordings (default: inside the work directory). Keep it for a before/after pair: the resume
# and sweep fingerprints hold each weight file's modification time and inode, so only the same
# input files give the same `settings` fingerprints in sweep.json. The synthesized inputs are
# hashed from a fresh `synth` run every time.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=${OWLPRUNE_REPO:-$(cd "$here/../.." && pwd)}
bin=${1:-${OWLPRUNE_BIN:-}}
[[ -n "$bin" && -x "$bin" ]] || { echo "usage: $0 OWLPRUNE_BINARY" >&2; exit 2; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
smol="$repo/models/smollm2-135m"
gguf="$repo/models/SmolLM2-135M-Instruct.Q4_1.gguf"
text="$repo/data/wikitext-2/wiki.test.raw"
normalize="$here/normalize.py"

keep=${OWLPRUNE_IDENTITY_DIR:-}
work=${keep:-$(mktemp -d /tmp/owlprune-identity.XXXXXX)}
mkdir -p "$work" && cd "$work" || exit 2
rm -rf ./* 2>/dev/null
mkdir -p logs o synth
export OPENBLAS_NUM_THREADS=1
failures=0
inputs=${OWLPRUNE_IDENTITY_INPUTS:-$work/inputs}
mkdir -p "$inputs"
inputs=$(cd "$inputs" && pwd)

# Inputs at fixed relative paths (symbolic links into $inputs), so every path recorded in a
# report or recipe is the same.
[[ -f "$inputs/calib.txt" ]] || head -c 400000 "$text" > "$inputs/calib.txt"
[[ -f "$inputs/evaltext.txt" ]] || head -c 60000 "$text" > "$inputs/evaltext.txt"
ln -s "$inputs/calib.txt" calib.txt
ln -s "$inputs/evaltext.txt" evaltext.txt
ln -s "$smol" smol

# launch NAME RANKS ARGS...: one run; its stdout in logs/NAME.npR.out. RANKS 0 runs the binary
# without mpiexec (singleton MPI).
launch() {
    local name=$1 ranks=$2; shift 2
    local log="logs/$name.np$ranks"
    local status=0
    if [[ $ranks == 0 ]]; then
        timeout -k 5 600 "$bin" "$@" > "$log.out" 2> "$log.err" || status=$?
    else
        timeout -k 5 600 mpiexec -n "$ranks" "$bin" "$@" > "$log.out" 2> "$log.err" || status=$?
    fi
    if [[ $status != 0 ]]; then
        echo "$name np$ranks FAILED status $status: $(grep -v '^prune:\|^eval:' "$log.err" | tail -1)"
        failures=$((failures + 1))
    fi
    return 0
}

sha() { sha256sum | cut -d' ' -f1; }

# hash_file LABEL RANKS PATH NAME: one line; JSON documents with times are normalized first.
hash_file() {
    local label=$1 ranks=$2 path=$3 name=$4 digest
    case "$(basename "$path")" in
        owlprune-report.json|sweep.json|sweep.csv) digest=$(python3 "$normalize" "$path" | sha) ;;
        *) digest=$(sha < "$path") ;;
    esac
    echo "$label np$ranks $name $digest"
}

# hash_dir LABEL RANKS DIR: every file under DIR (hidden ones too), sorted by name.
hash_dir() {
    local label=$1 ranks=$2 dir=$3 f
    if [[ ! -e "$dir" ]]; then echo "$label np$ranks (no output)"; return; fi
    if [[ -f "$dir" ]]; then hash_file "$label" "$ranks" "$dir" "$(basename "$dir")"; return; fi
    while IFS= read -r f; do hash_file "$label" "$ranks" "$dir/$f" "$f"; done < <(cd "$dir" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
}

# hash_stdout LABEL RANKS [json]: the run's stdout, normalized when it is a JSON document.
hash_stdout() {
    local label=$1 ranks=$2 log="logs/$1.np$2.out"
    if [[ ${3:-} == json ]]; then echo "$label np$ranks stdout $(python3 "$normalize" "$log" 2>/dev/null | sha)"
    else echo "$label np$ranks stdout $(sha < "$log")"; fi
}

# --- inputs: synthesized checkpoints (their bytes are outputs too) ---
synth_args() {
    case $1 in
        tiny) echo --shape custom --hidden 64 --intermediate 128 --layers 4 --heads 4 --kv-heads 2 ;;
        tiny32) echo --shape custom --hidden 64 --intermediate 128 --layers 4 --heads 4 --kv-heads 2 --dtype f32 --seed 3 ;;
        tinyqwen) echo --shape custom --family qwen2 --hidden 64 --intermediate 96 --layers 3 --heads 4 --kv-heads 2 --dtype f16 ;;
        smolsynth) echo --shape smollm2-135m --layers 2 --dtype f32 ;;
    esac
}
for m in tiny tiny32 tinyqwen smolsynth; do
    # shellcheck disable=SC2046
    launch "synth-$m" 0 synth $(synth_args $m) --out "synth/$m" --tokenizer smol
    hash_dir "synth-$m" 0 "synth/$m"
    if [[ $m != smolsynth ]]; then
        # shellcheck disable=SC2046
        [[ -d "$inputs/$m" ]] || launch "input-$m" 0 synth $(synth_args $m) --out "$inputs/$m" --tokenizer smol
        ln -s "$inputs/$m" "$m"
    fi
done
rm -rf synth

launch tokenize 0 tokenize --model tiny --text calib.txt --out calib.ids
hash_dir tokenize 0 calib.ids
head -c $((8 * 64 * 4)) calib.ids > windows.ids

cat > overrides.yaml <<'YAML'
method: wanda
sparsity: 0.55
allocation: owl
owl-lambda: 0.1
nsamples: 8
seqlen: 64
overrides:
  - blocks: [0, -1]
    sparsity: 0.3
  - linears: "mlp\\.down_proj"
    sparsity: 0.6
ignore:
  - "model\\.layers\\.1\\.self_attn\\.o_proj"
YAML

calib=(--calib calib.txt --nsamples 8 --seqlen 64)

# prune NAME RANKS MODEL ARGS...: one prune into o/NAME.npR, its directory and --json stdout hashed.
prune() {
    local name=$1 ranks=$2 model=$3; shift 3
    launch "$name" "$ranks" prune --model "$model" --out "o/$name.np$ranks" --json "$@"
    hash_dir "$name" "$ranks" "o/$name.np$ranks"
    hash_stdout "$name" "$ranks" json
}

for r in 1 2; do
    prune wanda-owl $r tiny "${calib[@]}" --method wanda --allocation owl --sparsity 0.6
    prune sparsegpt-2of4 $r tiny "${calib[@]}" --method sparsegpt --pattern 2:4
    prune magnitude-4of8 $r tiny "${calib[@]}" --method magnitude --pattern 4:8
    prune ria-uniform $r tiny "${calib[@]}" --method ria --sparsity 0.45
    prune wanda-dsnot $r tiny "${calib[@]}" --method wanda --sparsity 0.6 --dsnot --dsnot-all-layers
    prune wanda-dass $r tiny "${calib[@]}" --method wanda --dass --dass-scope all
    prune atp-auto $r tiny "${calib[@]}" --allocation atp --atp-beta auto --atp-grid-points 3 --atp-heldout-windows 2
    prune atp-fixed $r tiny "${calib[@]}" --allocation atp --atp-beta 0.02 --sparsity 0.6
    prune dlp $r tiny "${calib[@]}" --allocation dlp --dlp-alpha 0.1 --sparsity 0.6
    prune alpha-admm $r tiny "${calib[@]}" --allocation alpha --alpha-fit mid --update admm --admm-iterations 4 --admm-mask-steps 2
    prune sparsegpt-admm $r tiny "${calib[@]}" --method sparsegpt --update admm --admm-iterations 3 --admm-mask-steps 2
    prune dense-blocks $r tiny "${calib[@]}" --allocation owl --propagation dense
    prune seq-blocks $r tiny "${calib[@]}" --split blocks --sparsity 0.7
    prune calib-tokens $r tiny --calib-tokens windows.ids --nsamples 8 --seqlen 64 --method sparsegpt --damp 0.05
    prune recipe-overrides $r tiny --recipe overrides.yaml --calib calib.txt --sparsity 0.5
    prune dtype-bf16 $r tiny32 "${calib[@]}" --dtype bf16
    prune dtype-f16 $r tiny "${calib[@]}" --dtype f16 --method magnitude
    prune shard-4MB $r tiny "${calib[@]}" --max-shard-size 4MB
    prune shard-3MiB $r tiny "${calib[@]}" --max-shard-size 3MiB --dtype f32
    prune qwen2-wanda $r tinyqwen "${calib[@]}" --allocation owl
    prune shortgpt $r tiny "${calib[@]}" --method shortgpt --remove-blocks 1
    prune sleb $r tiny "${calib[@]}" --method sleb --remove-blocks 1
    prune streamline-linear $r tiny "${calib[@]}" --method streamline --remove-blocks 1 --replacement linear
    prune remove-by-shortgpt $r tiny "${calib[@]}" --method wanda --remove-by shortgpt --remove-blocks 1
    prune eval-after $r tiny "${calib[@]}" --allocation dlp --eval evaltext.txt --eval-seqlen 64 --eval-windows 3
    # The effective recipe of a run drives the same run again.
    prune recipe-replay $r tiny --recipe "o/wanda-owl.np$r/owlprune-recipe.yaml"
    # plan and dry-run print to stdout only.
    launch plan-owl $r plan --model tiny "${calib[@]}" --allocation owl --sparsity 0.6
    hash_stdout plan-owl $r
    launch plan-alpha $r plan --model tiny "${calib[@]}" --allocation alpha --sparsity 0.6 --out "o/plan-alpha.np$r.json"
    hash_dir plan-alpha $r "o/plan-alpha.np$r.json"
    launch dry-run $r prune --model tiny --out "o/dry.np$r" "${calib[@]}" --allocation owl --dry-run --max-memory 1073741824 --json
    hash_stdout dry-run $r json
    launch eval $r eval --model tiny --data evaltext.txt --seqlen 64 --max-windows 4 --json
    hash_stdout eval $r json
    launch compare $r compare tiny "o/wanda-owl.np$r" --data evaltext.txt --seqlen 64 --max-windows 3 --json
    hash_stdout compare $r json
    launch sweep $r sweep --model tiny --out "o/sweep.np$r" "${calib[@]}" --method wanda,magnitude --allocation uniform,owl \
        --sparsity 0.5,0.6 --eval evaltext.txt --eval-windows 2 --prune-option=--owl-lambda=0.1 --json
    hash_dir sweep $r "o/sweep.np$r"
    hash_stdout sweep $r json
    # Every rank prints inspect's JSON, so its stdout is hashed raw.
    launch inspect $r inspect "o/wanda-owl.np$r" --json
    hash_stdout inspect $r
done

launch convert-gguf-hf 0 convert "$gguf" --out o/convert-hf --dtype bf16
hash_dir convert-gguf-hf 0 o/convert-hf
rm -rf o/convert-hf
launch convert-hf-gguf 0 convert tiny --to gguf --dtype q8_0 --out o/convert.gguf
hash_dir convert-hf-gguf 0 o/convert.gguf

if [[ -z "${OWLPRUNE_IDENTITY_SKIP_SMOL:-}" ]]; then
    smolcalib=(--calib calib.txt --nsamples 4 --seqlen 64)
    for r in 1 2; do
        prune smol-wanda-owl $r smol "${smolcalib[@]}" --method wanda --allocation owl --sparsity 0.7
        rm -rf "o/smol-wanda-owl.np$r"
        prune smol-sparsegpt-2of4-bf16 $r smol "${smolcalib[@]}" --method sparsegpt --pattern 2:4 --dtype bf16 --max-shard-size 100MB
        rm -rf "o/smol-sparsegpt-2of4-bf16.np$r"
    done
fi

echo "failures $failures"
[[ -n "$keep" ]] || { cd / && rm -rf "$work"; }
