#!/usr/bin/env bash
# prune --dry-run's time estimate against the real run (issue 29 item 4), 1 and 2 ranks.
# Not part of CI; run on a quiet machine. Prints each estimate beside the measured wall time of the same command.
set -u
cd "$(dirname "$0")/.."
B=.build/release/owlprune
W=/tmp/dryrun-acc; rm -rf $W; mkdir -p $W
for m in "wanda" "sparsegpt" "owl"; do
  case $m in owl) margs=(--method wanda --allocation owl --sparsity 0.7);; *) margs=(--method $m --sparsity 0.5);; esac
  for r in 1 2; do
    args=(--model models/smollm2-135m "${margs[@]}" --calib data/wikitext-2/wiki.valid.tokens --nsamples 16 --seqlen 512 --force --out $W/$m-$r)
    est=$(OPENBLAS_NUM_THREADS=1 timeout 600 mpiexec -n $r $B prune "${args[@]}" --dry-run --json 2>/dev/null | python3 -c "
import json,sys; d=json.load(sys.stdin)
def find(x,k):
    if isinstance(x,dict):
        if k in x: return x[k]
        for v in x.values():
            r=find(v,k)
            if r is not None: return r
print(find(d,'wall_seconds') or find(d,'wallSeconds') or find(d,'seconds'))")
    s=$(date +%s.%N); OPENBLAS_NUM_THREADS=1 timeout 900 mpiexec -n $r $B prune "${args[@]}" >/dev/null 2>$W/$m-$r.err; e=$(date +%s.%N)
    echo "$m ranks $r: dry-run estimate $est s, real $(echo "$e - $s" | bc) s"
  done
done
