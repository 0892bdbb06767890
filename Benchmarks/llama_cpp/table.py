"""The README table from compare.sh's results: llama.cpp and owlprune side by side.

    python3 table.py WORK TOL_PPL TOL_KLD NAME...

WORK/results.tsv has one line per GGUF: name, dtype, llama.cpp PPL, llama.cpp mean KLD, same top
(%), file bytes; WORK/bench.tsv one line per llama-bench run: round, name, pp512 t/s, tg128 t/s
(every F32 model once per round, interleaved); WORK/NAME.compare.json is `owlprune compare --json
--llama-cpp-scoring` of the dense model against NAME. Tokens/s are the median over rounds; the
speed-up is the median over rounds of the ratio to the dense model's run in the same round.
Exits 1 when an F32 perplexity or mean KLD is outside the tolerance.
"""
import json
import os
import statistics
import sys

work, tol_ppl, tol_kld, names = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
rows = [line.rstrip("\n").split("\t") for line in open(f"{work}/results.tsv")]
runs = {}  # (round, name) -> (pp, tg)
if os.path.exists(f"{work}/bench.tsv"):
    for line in open(f"{work}/bench.tsv"):
        r, name, pp, tg = line.split()
        runs[(r, name)] = (float(pp), float(tg))
rounds = sorted({r for r, _ in runs}, key=int)


def speed(name, which):
    """Median t/s over the rounds and the median of the per-round ratio to dense, as text."""
    values = [runs[(r, name)][which] for r in rounds if (r, name) in runs]
    if not values:
        return "-"
    text = f"{statistics.median(values):.1f}"
    ratios = [runs[(r, name)][which] / runs[(r, "dense")][which]
              for r in rounds if (r, name) in runs and (r, "dense") in runs]
    if name != "dense" and ratios:
        text += f" ({statistics.median(ratios):.2f}×)"
    return text


failures = []
print("| model | GGUF | size | PPL llama.cpp | PPL owlprune | mean KLD llama.cpp | mean KLD owlprune | same top llama.cpp | same top owlprune | pp512 t/s | tg128 t/s |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for name, dtype, ppl, kld, top, size in rows:
    doc = json.load(open(f"{work}/{name}.compare.json"))
    div = doc["divergence"]
    # The float64 log-softmax perplexity: llama.cpp also sums its exponentials in double (docs/quality.md §1).
    ours = div["perplexity"]["value"]
    if dtype == "f32" and ppl and abs(float(ppl) - ours) > tol_ppl * ours:
        failures.append(f"{name} {dtype}: PPL llama.cpp {ppl} vs owlprune {ours:.4f}")
    if kld and abs(float(kld) - div["kld"]["value"]) > tol_kld * max(div["kld"]["value"], 1e-6):
        failures.append(f"{name}: mean KLD llama.cpp {kld} vs owlprune {div['kld']['value']:.6f}")
    pp = speed(name, 0) if dtype == "f32" else "-"
    tg = speed(name, 1) if dtype == "f32" else "-"
    same = f"{100 * div['same_top']['value']:.2f}%" if name != "dense" else "100%"
    print(f"| {name} | {dtype.upper()} | {int(size) / 2**20:.0f} MiB | {ppl} | {ours:.4f} | {kld or '-'} | "
          f"{div['kld']['value']:.6f} | {top + '%' if top else '-'} | {same} | {pp} | {tg} |")
if rounds:
    print(f"\nllama-bench -p 512 -n 128 -r 1, {len(rounds)} interleaved rounds; median t/s, "
          "(median ratio to the dense model in the same round)")
for f in failures:
    print("outside tolerance:", f, file=sys.stderr)
sys.exit(1 if failures else 0)
