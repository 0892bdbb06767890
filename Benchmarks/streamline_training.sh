#!/usr/bin/env bash
# LLM-Streamline training time on 1 rank, two 1-rank processes at once (the ceiling) and 2 ranks,
# and the 1- and 2-rank outputs compared (issue 24 item 6). EXTRA="--threads 1" for one thread per
# process (the comparison docs/algorithms.md reports); ROUNDS="1 2 3". Not part of CI; quiet machine.
set -u
cd "$(dirname "$0")/.."
B=.build/release/owlprune
W=/tmp/train-scaling; rm -rf $W; mkdir -p $W
args=(--model models/smollm2-135m --method streamline --remove-blocks 4 --calib data/wikitext-2/wiki.valid.tokens --nsamples 16 --seqlen 512 --json --force ${EXTRA:-})
train() { python3 -c "
import json,sys; d=json.load(open(sys.argv[1]+'/owlprune-report.json'))
def find(x,k):
    if isinstance(x,dict):
        if k in x: return x[k]
        for v in x.values():
            r=find(v,k)
            if r is not None: return r
    if isinstance(x,list):
        for v in x:
            r=find(v,k)
            if r is not None: return r
t=find(d,'steps'); print('%.2f' % sum(s['seconds'] for s in t), len(t))" $1; }
for round in ${ROUNDS:-1 2}; do
  s=$(date +%s.%N); OPENBLAS_NUM_THREADS=1 $B prune "${args[@]}" --out $W/one >/dev/null 2>$W/one.err; e=$(date +%s.%N)
  echo "round $round 1 rank alone: wall $(echo "$e - $s" | bc) s, training $(train $W/one)"
  s=$(date +%s.%N); OPENBLAS_NUM_THREADS=1 $B prune "${args[@]}" --out $W/a >/dev/null 2>$W/a.err & OPENBLAS_NUM_THREADS=1 $B prune "${args[@]}" --out $W/b >/dev/null 2>$W/b.err; wait; e=$(date +%s.%N)
  echo "round $round two 1-rank processes at once: wall $(echo "$e - $s" | bc) s, training $(train $W/a) / $(train $W/b)"
  s=$(date +%s.%N); OPENBLAS_NUM_THREADS=1 timeout 900 mpiexec -n 2 $B prune "${args[@]}" --out $W/two >/dev/null 2>$W/two.err; e=$(date +%s.%N)
  echo "round $round 2 ranks: wall $(echo "$e - $s" | bc) s, training $(train $W/two)"
  cmp $W/one/model.safetensors $W/two/model.safetensors && echo "round $round: 1-rank and 2-rank outputs identical"
done
