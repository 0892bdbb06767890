"""The README table from compare.sh's results: llama.cpp and owlprune side by side.

    python3 table.py WORK TOL_PPL TOL_KLD NAME...

WORK/results.tsv has one line per GGUF: name, dtype, llama.cpp PPL, llama.cpp mean KLD, same top
(%), file bytes, llama-bench "pp t/s tg t/s"; WORK/NAME.compare.json is `owlprune compare --json
--llama-cpp-scoring` of the dense model against NAME. Exits 1 when an F32 perplexity or mean KLD
is outside the tolerance.
"""
import json
import sys

work, tol_ppl, tol_kld, names = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
rows = [line.rstrip("\n").split("\t") for line in open(f"{work}/results.tsv")]
dense_tg = dense_pp = None
failures = []
print("| model | GGUF | size | PPL llama.cpp | PPL owlprune | mean KLD llama.cpp | mean KLD owlprune | same top llama.cpp | same top owlprune | pp512 t/s | tg128 t/s |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for name, dtype, ppl, kld, top, size, bench in rows:
    doc = json.load(open(f"{work}/{name}.compare.json"))
    div = doc["divergence"]
    # The float64 log-softmax perplexity: llama.cpp also sums its exponentials in double (docs/quality.md §1).
    ours = div["perplexity"]["value"]
    if dtype == "f32" and ppl and abs(float(ppl) - ours) > tol_ppl * ours:
        failures.append(f"{name} {dtype}: PPL llama.cpp {ppl} vs owlprune {ours:.4f}")
    if kld and abs(float(kld) - div["kld"]["value"]) > tol_kld * max(div["kld"]["value"], 1e-6):
        failures.append(f"{name}: mean KLD llama.cpp {kld} vs owlprune {div['kld']['value']:.6f}")
    pp = tg = ""
    if bench:
        pp, tg = bench.split()
        if name == "dense":
            dense_pp, dense_tg = float(pp.split("±")[0]), float(tg.split("±")[0])
        elif dense_pp:
            pp += f" ({float(pp.split('±')[0]) / dense_pp:.2f}×)"
            tg += f" ({float(tg.split('±')[0]) / dense_tg:.2f}×)"
    same = f"{100 * div['same_top']['value']:.2f}%" if name != "dense" else "100%"
    print(f"| {name} | {dtype.upper()} | {int(size) / 2**20:.0f} MiB | {ppl} | {ours:.4f} | {kld or '-'} | "
          f"{div['kld']['value']:.6f} | {top + '%' if top else '-'} | {same} | {pp or '-'} | {tg or '-'} |")
for f in failures:
    print("outside tolerance:", f, file=sys.stderr)
sys.exit(1 if failures else 0)
