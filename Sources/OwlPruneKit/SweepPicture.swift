import Foundation

/// `sweep.svg`: perplexity against target sparsity, one line per method × allocation, as a
/// self-contained SVG a browser shows without anything else. The y axis is logarithmic when
/// the perplexities span more than a factor of 10 (a pruned model at 80 % is often 100× worse
/// than at 50 %, and a linear axis would flatten every other line), linear otherwise; the x axis
/// covers the sparsities of the grid.
package struct SweepPicture {
    package let summary: SweepSummary

    package init(summary: SweepSummary) {
        self.summary = summary
    }

    private let width = 720.0, height = 440.0
    private let left = 70.0, right = 190.0, top = 30.0, bottom = 50.0
    private static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                                 "#7f7f7f", "#bcbd22"]

    package var svg: String {
        let cells = summary.cells.filter { $0.perplexity.isFinite && $0.perplexity > 0 }
        var series: [String] = []
        for r in summary.cells where !series.contains(r.cell.series) { series.append(r.cell.series) }
        let xs = summary.cells.map(\.cell.sparsity)
        var xLow = xs.min() ?? 0, xHigh = xs.max() ?? 1
        if xHigh - xLow < 1e-9 { xLow -= 0.05; xHigh += 0.05 }
        let ys = cells.map(\.perplexity)
        let yMin = ys.min() ?? 1, yMax = ys.max() ?? 10
        let logScale = yMax / yMin > 10
        let (yLow, yHigh): (Double, Double) = logScale
            ? (pow(10, floor(log10(yMin))), pow(10, ceil(log10(yMax))))
            : (0, yMax * 1.1)
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - xLow) / (xHigh - xLow) * plotW }
        func py(_ y: Double) -> Double {
            let f = logScale ? (log10(y) - log10(yLow)) / (log10(yHigh) - log10(yLow)) : (y - yLow) / (yHigh - yLow)
            return top + (1 - f) * plotH
        }
        var out = [String]()
        out.append(#"<?xml version="1.0" encoding="UTF-8"?>"#)
        out.append(#"<svg xmlns="http://www.w3.org/2000/svg" width="\#(f(width))" height="\#(f(height))" viewBox="0 0 \#(f(width)) \#(f(height))" font-family="sans-serif" font-size="12">"#)
        out.append(#"<rect width="100%" height="100%" fill="white"/>"#)
        out.append(#"<text x="\#(f(left))" y="18" font-size="14">\#(svgEscaped("perplexity vs sparsity — \((summary.model as NSString).lastPathComponent)"))</text>"#)
        // Axes, ticks and grid lines.
        out.append(#"<line x1="\#(f(left))" y1="\#(f(top + plotH))" x2="\#(f(left + plotW))" y2="\#(f(top + plotH))" stroke="black"/>"#)
        out.append(#"<line x1="\#(f(left))" y1="\#(f(top))" x2="\#(f(left))" y2="\#(f(top + plotH))" stroke="black"/>"#)
        for x in Array(Set(xs)).sorted() {
            out.append(#"<line x1="\#(f(px(x)))" y1="\#(f(top + plotH))" x2="\#(f(px(x)))" y2="\#(f(top + plotH + 5))" stroke="black"/>"#)
            out.append(#"<text x="\#(f(px(x)))" y="\#(f(top + plotH + 18))" text-anchor="middle">\#(String(format: "%.2f", x))</text>"#)
        }
        for y in yTicks(low: yLow, high: yHigh, log: logScale) {
            out.append(##"<line x1="\##(f(left))" y1="\##(f(py(y)))" x2="\##(f(left + plotW))" y2="\##(f(py(y)))" stroke="#dddddd"/>"##)
            out.append(#"<text x="\#(f(left - 6))" y="\#(f(py(y) + 4))" text-anchor="end">\#(tickLabel(y))</text>"#)
        }
        out.append(#"<text x="\#(f(left + plotW / 2))" y="\#(f(height - 10))" text-anchor="middle">target sparsity</text>"#)
        out.append(#"<text transform="translate(16 \#(f(top + plotH / 2))) rotate(-90)" text-anchor="middle">perplexity\#(logScale ? " (log scale)" : "")</text>"#)
        // One line per series, a dot per cell, a legend entry per series.
        for (k, s) in series.enumerated() {
            let color = Self.colors[k % Self.colors.count]
            let points = cells.filter { $0.cell.series == s }.sorted { $0.cell.sparsity < $1.cell.sparsity }
            let path = points.map { "\(f(px($0.cell.sparsity))),\(f(py($0.perplexity)))" }.joined(separator: " ")
            out.append(#"<polyline class="series" fill="none" stroke="\#(color)" stroke-width="2" points="\#(path)"/>"#)
            for p in points {
                out.append(#"<circle cx="\#(f(px(p.cell.sparsity)))" cy="\#(f(py(p.perplexity)))" r="3.5" fill="\#(color)"><title>\#(svgEscaped(p.cell.id)): \#(String(format: "%.4f", p.perplexity))</title></circle>"#)
            }
            let ly = top + 10 + Double(k) * 18
            out.append(#"<line x1="\#(f(left + plotW + 16))" y1="\#(f(ly))" x2="\#(f(left + plotW + 40))" y2="\#(f(ly))" stroke="\#(color)" stroke-width="2"/>"#)
            out.append(#"<text x="\#(f(left + plotW + 46))" y="\#(f(ly + 4))">\#(svgEscaped(s))</text>"#)
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    private func yTicks(low: Double, high: Double, log: Bool) -> [Double] {
        if log {
            var ticks: [Double] = []
            var d = low
            while d <= high * 1.0001 { ticks.append(d); d *= 10 }
            return ticks
        }
        let raw = (high - low) / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        return stride(from: low, through: high, by: step).map { $0 }
    }

    private func tickLabel(_ y: Double) -> String {
        y >= 100 || y == y.rounded() ? String(format: "%.0f", y) : String(format: "%.1f", y)
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }
}
