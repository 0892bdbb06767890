"""The scaling study's README table and SVG (issue 25 item 4) from Benchmarks/scaling/run.sh's results.

    python3 Benchmarks/scaling/table.py OUT SVG NAME:LABEL:PARAMS ...

e.g. `table.py /tmp/owlprune-scaling docs/scaling.svg smollm2:SmolLM2-135M:135e6 qwen05:Qwen2.5-Coder-0.5B:494e6`.
For each model: perplexity of every allocation (uniform, OWL, ATP with β auto, DLP, AlphaPruning)
per method and target, and its rank among the five (1 = lowest perplexity); the wall time of each
command and its rank count from OUT/NAME.times. The SVG draws the rank of each allocation against
model size, one panel per method × target, so a change of order with size is a crossing line.
"""
import csv
import json
import math
import sys

ALLOCATIONS = ["uniform", "owl", "atp", "dlp", "alpha"]
NAMES = {"uniform": "uniform", "owl": "OWL", "atp": "ATP (β auto)", "dlp": "DLP", "alpha": "AlphaPruning"}
COLORS = {"uniform": "#555555", "owl": "#d62728", "atp": "#2ca02c", "dlp": "#1f77b4", "alpha": "#ff7f0e"}
PANELS = [("wanda", "0.5"), ("wanda", "0.7"), ("sparsegpt", "0.5"), ("sparsegpt", "0.7")]


def load(out, name):
    """{(method, target): {allocation: (perplexity, mean KLD or None, beta or None)}} and the times."""
    cells = {}
    for row in csv.DictReader(open(f"{out}/{name}/sweep.csv")):
        target = str(float(row["target_sparsity"]))
        kld = float(row["mean_kld"]) if row.get("mean_kld") else None
        cells.setdefault((row["method"], target), {})[row["allocation"]] = (float(row["perplexity"]), kld, None)
    for method, target in PANELS:
        try:
            doc = json.load(open(f"{out}/{name}-atp-{method}-{target}.json"))
        except (OSError, ValueError):
            continue
        # `prune --eval --json`: eval.pruned.perplexity (as `eval`), eval.divergence.kld, plan.atp_beta.
        perplexity = doc.get("eval", {}).get("pruned", {}).get("perplexity")
        kld = doc.get("eval", {}).get("divergence", {}).get("kld", {}).get("value")
        beta = doc.get("plan", {}).get("atp_beta")
        if perplexity is not None:
            cells.setdefault((method, target), {})["atp"] = (float(perplexity), kld, beta)
    times = [line.split() for line in open(f"{out}/{name}.times")]
    return cells, times


def ranks(row):
    """Competition ranks by perplexity: equal perplexities (OWL on a model whose blocks all score
    alike is uniform) share a rank."""
    return {a: 1 + sum(other[0] < value[0] for other in row.values()) for a, value in row.items()}


def main():
    out, svg_path, specs = sys.argv[1], sys.argv[2], [s.split(":") for s in sys.argv[3:]]
    models = []
    for name, label, params in specs:
        cells, times = load(out, name)
        models.append((name, label, float(params), cells, times))
    print("| model | method | target | " + " | ".join(NAMES[a] for a in ALLOCATIONS) + " | best |")
    print("|---|---|---|" + "---|" * (len(ALLOCATIONS) + 1))
    for name, label, _, cells, _ in models:
        for method, target in PANELS:
            row = cells.get((method, target), {})
            rank = ranks(row)
            entries = [f"{row[a][0]:.2f} ({rank[a]})" + (f", β {row[a][2]:.3f}" if row[a][2] is not None else "")
                       if a in row else "–" for a in ALLOCATIONS]
            best = ", ".join(NAMES[a] for a in ALLOCATIONS if rank.get(a) == 1) or "–"
            print(f"| {label} | {method} | {float(target):.0%} | " + " | ".join(entries) + f" | {best} |")
    print()
    for name, label, _, _, times in models:
        total = sum(int(t[2]) for t in times)
        counts = {t[1] for t in times}
        if len(counts) == 1:
            count = counts.pop()
            parts = ", ".join(f"{t[0]} {int(t[2]) / 60:.1f} min" for t in times)
            print(f"- {label}: {total / 60:.0f} min on {count} rank{'' if count == '1' else 's'} ({parts})")
        else:
            parts = ", ".join(f"{t[0]} {int(t[2]) / 60:.1f} min on {t[1]} rank{'' if t[1] == '1' else 's'}" for t in times)
            print(f"- {label}: {total / 60:.0f} min ({parts})")
    write_svg(svg_path, models)


def short(params):
    """The x axis' label of a model: its parameter count (135M, 0.5B, 1.5B)."""
    return f"{params / 1e6:.0f}M" if params < 3e8 else f"{params / 1e9:.1f}B"


def write_svg(path, models):
    width, height, pad = 300, 220, 50
    xs = [math.log10(m[2]) for m in models]
    lo, hi = min(xs), max(xs)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width + 200}" height="{2 * height + 40}" '
             'font-family="sans-serif" font-size="11">',
             '<rect width="100%" height="100%" fill="white"/>']
    for index, (method, target) in enumerate(PANELS):
        ox, oy = (index % 2) * width, 20 + (index // 2) * height
        left, right, top, bottom = ox + pad, ox + width - 20, oy + 25, oy + height - 35
        parts.append(f'<text x="{(left + right) / 2}" y="{oy + 15}" text-anchor="middle" font-weight="bold">'
                     f'{method} {float(target):.0%}: rank of each allocation (1 = best)</text>')
        parts.append(f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="none" stroke="#999"/>')
        def x_of(value):
            return left + 15 + (right - left - 30) * ((value - lo) / (hi - lo) if hi > lo else 0.5)
        def y_of(rank):
            return top + 12 + (bottom - top - 24) * (rank - 1) / (len(ALLOCATIONS) - 1)
        for rank in range(1, len(ALLOCATIONS) + 1):
            parts.append(f'<text x="{left - 6}" y="{y_of(rank) + 4}" text-anchor="end">{rank}</text>')
        for (_, label, params, _, _), value in zip(models, xs):
            parts.append(f'<text x="{x_of(value)}" y="{bottom + 14}" text-anchor="middle">{short(params)}</text>')
        for allocation in ALLOCATIONS:
            points = []
            for (_, _, _, cells, _), value in zip(models, xs):
                row = cells.get((method, target), {})
                if allocation in row:
                    points.append((x_of(value), y_of(ranks(row)[allocation])))
            if not points:
                continue
            color = COLORS[allocation]
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="'
                         + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
            parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"/>' for x, y in points)
    for index, allocation in enumerate(ALLOCATIONS):
        y = 40 + 18 * index
        parts.append(f'<rect x="{2 * width + 10}" y="{y - 9}" width="12" height="12" fill="{COLORS[allocation]}"/>')
        parts.append(f'<text x="{2 * width + 28}" y="{y + 1}">{NAMES[allocation]}</text>')
    for index, (_, label, params, _, _) in enumerate(models):
        y = 40 + 18 * (len(ALLOCATIONS) + 1 + index)
        parts.append(f'<text x="{2 * width + 10}" y="{y + 1}">{short(params)}: {label}</text>')
    # Models whose grid is not complete: their ranks are among the allocations that ran.
    notes = []
    for _, label, _, cells, _ in models:
        missing = [f"{method} {float(target):.0%}: {len(cells.get((method, target), {}))} of {len(ALLOCATIONS)}"
                   for method, target in PANELS if len(cells.get((method, target), {})) < len(ALLOCATIONS)]
        if missing:
            notes.append(f"{label}: allocations run — " + "; ".join(missing) + " (ranks among those)")
    for index, note in enumerate(notes):
        parts.append(f'<text x="10" y="{2 * height + 30 + 14 * index}" font-size="10">{note}</text>')
    if notes:
        parts[0] = parts[0].replace(f'height="{2 * height + 40}"', f'height="{2 * height + 40 + 14 * len(notes)}"')
    parts.append("</svg>")
    open(path, "w").write("\n".join(parts) + "\n")


main()
