import Foundation
import Cluster
import Pruning

/// `owlprune-plan.svg`: the plan as a picture a browser shows with nothing else installed (one
/// self-contained SVG, no scripts, no external fonts or styles). Top panel: each block's target
/// sparsity as a bar on an axis from 0 to 1 — never a truncated axis, so OWL's ±λ spread looks
/// as large as it is — with the target as a dashed line and OWL's outlier ratio (or DLP's score)
/// as a line on its own axis, also from 0; ATP's arithmetic progression is drawn as its line.
/// Bottom panel: a heat map of the sparsity each of the seven linears of each block reached
/// (after `prune`) or was handed (after `plan`), on one colour scale from 0 to 1 with the
/// target marked. Every bar and cell carries a `<title>` so hovering names it.
package struct PlanPicture {
    package static let fileName = "owlprune-plan.svg"

    package let plan: SparsityPlan
    /// Achieved sparsity by HF module path (`model.layers.3.mlp.up_proj`); nil before pruning.
    package let achieved: [String: Double]?
    package var title: String = ""

    package init(plan: SparsityPlan, achieved: [String: Double]?, title: String = "") {
        self.plan = plan
        self.achieved = achieved
        self.title = title
    }

    /// After a prune: the report's measured sparsity of every linear.
    package init(plan: SparsityPlan, report: PruneReport) {
        let pairs = report.linears.map { ($0.name.hasSuffix(".weight") ? String($0.name.dropLast(7)) : $0.name, $0.achievedSparsity) }
        self.init(plan: plan, achieved: Dictionary(pairs, uniquingKeysWith: { a, _ in a }),
                  title: URL(fileURLWithPath: report.arguments.model).lastPathComponent)
    }

    // Geometry (px).
    private let width = 960.0
    private let left = 70.0, right = 70.0
    private let barTop = 70.0, barHeight = 260.0
    private var heatTop: Double { barTop + barHeight + 80 }
    private let cellHeight = 24.0
    private var plotWidth: Double { width - left - right }
    private var blocks: Int { plan.blockSparsities.count }
    private var slot: Double { plotWidth / Double(max(blocks, 1)) }
    private var height: Double { heatTop + cellHeight * Double(LinearKind.allCases.count) + 110 }

    package func render() -> String {
        var svg = [String]()
        svg.append(##"<?xml version="1.0" encoding="UTF-8"?>"##)
        svg.append(##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(f(width))" height="\##(f(height))" viewBox="0 0 \##(f(width)) \##(f(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"##)
        svg.append(##"<rect x="0" y="0" width="\##(f(width))" height="\##(f(height))" fill="#ffffff"/>"##)
        svg.append(text(left, 24, heading, size: 16, weight: "bold"))
        svg.append(text(left, 42, subheading, size: 12, fill: "#444444"))
        svg += barPanel()
        svg += heatPanel()
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }

    private var heading: String {
        let what = title.isEmpty ? "owlprune plan" : "owlprune plan — \(title)"
        return what
    }

    private var subheading: String {
        var parts = ["\(plan.method.rawValue)", "pattern \(plan.pattern.description)", allocationText,
                     String(format: "target %.4f", plan.targetSparsity), String(format: "mean of blocks %.4f", plan.meanBlockSparsity),
                     "\(blocks) blocks"]
        if plan.dsnot { parts.append("DSnoT") }
        if plan.dass { parts.append("DaSS") }
        return parts.joined(separator: " · ")
    }

    private var allocationText: String {
        switch plan.allocation {
        case .uniform: "uniform"
        case let .owl(m, lambda): String(format: "OWL (M=%g, λ=%g)", m, lambda)
        case let .atp(beta): String(format: "ATP (β=%g)", beta)
        case let .dlp(alpha): String(format: "DLP (α=%g)", alpha)
        case let .alpha(epsilon, fit): String(format: "AlphaPruning (ε=%g, x_min %@)", epsilon, "\(fit)")
        }
    }

    // MARK: Top panel

    private func y(_ s: Double) -> Double { barTop + barHeight * (1 - s) }

    private func barPanel() -> [String] {
        var out = [String]()
        out.append(text(left, barTop - 10, "target sparsity per block (axis from 0)", size: 13, weight: "bold"))
        for tick in stride(from: 0.0, through: 1.0001, by: 0.2) {
            let ty = y(tick)
            out.append(##"<line x1="\##(f(left))" y1="\##(f(ty))" x2="\##(f(left + plotWidth))" y2="\##(f(ty))" stroke="#dddddd" stroke-width="1"/>"##)
            out.append(text(left - 8, ty + 4, String(format: "%.1f", tick), anchor: "end"))
        }
        out.append(##"<line x1="\##(f(left))" y1="\##(f(barTop))" x2="\##(f(left))" y2="\##(f(y(0)))" stroke="#000000" stroke-width="1"/>"##)
        out.append(##"<line x1="\##(f(left))" y1="\##(f(y(0)))" x2="\##(f(left + plotWidth))" y2="\##(f(y(0)))" stroke="#000000" stroke-width="1"/>"##)
        out.append(text(18, barTop + barHeight / 2, "sparsity", anchor: "middle", rotate: true))
        let barWidth = max(1, slot * 0.7)
        for (i, s) in plan.blockSparsities.enumerated() {
            let x = left + slot * Double(i) + (slot - barWidth) / 2
            out.append(##"<rect class="bar" data-block="\##(i)" x="\##(f(x))" y="\##(f(y(s)))" width="\##(f(barWidth))" height="\##(f(barHeight * s))" fill="#4c78a8"><title>\##(svgEscaped(String(format: "block %d: target sparsity %.4f", i, s)))</title></rect>"##)
        }
        let labelEvery = max(1, Int((Double(blocks) / 16).rounded(.up)))
        for i in stride(from: 0, to: blocks, by: labelEvery) {
            out.append(text(left + slot * (Double(i) + 0.5), y(0) + 16, "\(i)", anchor: "middle", size: 10))
        }
        out.append(text(left + plotWidth / 2, y(0) + 34, "block", anchor: "middle"))
        let ty = y(plan.targetSparsity)
        out.append(##"<line class="target" x1="\##(f(left))" y1="\##(f(ty))" x2="\##(f(left + plotWidth))" y2="\##(f(ty))" stroke="#d62728" stroke-width="2" stroke-dasharray="6 4"/>"##)
        out.append(text(left + plotWidth, barTop - 10, String(format: "- - target %.4f", plan.targetSparsity), anchor: "end", size: 11, fill: "#d62728"))
        out += secondaryLine()
        return out
    }

    /// OWL's outlier ratio (percent) or DLP's score on a right-hand axis from 0; ATP's progression.
    private func secondaryLine() -> [String] {
        var out = [String]()
        let centre = { (i: Int) in self.left + self.slot * (Double(i) + 0.5) }
        if case .atp = plan.allocation, blocks > 1 {
            let points = plan.blockSparsities.enumerated().map { "\(f(centre($0.offset))),\(f(y($0.element)))" }
            out.append(##"<polyline class="atp" points="\##(points.joined(separator: " "))" fill="none" stroke="#ff7f0e" stroke-width="2"/>"##)
            out.append(text(left + plotWidth - 130, barTop - 10, "— ATP arithmetic progression", anchor: "end", size: 11, fill: "#ff7f0e"))
        }
        guard let ratios = plan.outlierRatios, ratios.count == blocks, !ratios.isEmpty else { return out }
        let isDLP = if case .dlp = plan.allocation { true } else { false }
        let isAlpha = if case .alpha = plan.allocation { true } else { false }
        let label = isDLP ? "DLP score" : isAlpha ? "mean α (ESD)" : "outlier ratio %"
        let top = niceCeiling(ratios.max() ?? 1)
        let ry = { (v: Double) in self.barTop + self.barHeight * (1 - v / top) }
        let axisX = left + plotWidth
        out.append(##"<line x1="\##(f(axisX))" y1="\##(f(barTop))" x2="\##(f(axisX))" y2="\##(f(y(0)))" stroke="#2ca02c" stroke-width="1"/>"##)
        for k in 0...4 {
            let v = top * Double(k) / 4
            out.append(text(axisX + 6, ry(v) + 4, isDLP ? String(format: "%.2g", v) : String(format: "%.3g", v), size: 10, fill: "#2ca02c"))
        }
        out.append(text(width - 10, barTop + barHeight / 2, label + " (axis from 0)", anchor: "middle", size: 11, fill: "#2ca02c", rotate: true))
        let points = ratios.enumerated().map { "\(f(centre($0.offset))),\(f(ry($0.element)))" }
        out.append(##"<polyline class="ratio" points="\##(points.joined(separator: " "))" fill="none" stroke="#2ca02c" stroke-width="2"/>"##)
        for (i, r) in ratios.enumerated() {
            out.append(##"<circle cx="\##(f(centre(i)))" cy="\##(f(ry(r)))" r="3" fill="#2ca02c"><title>\##(svgEscaped(String(format: "block %d: %@ %.4g", i, label, r)))</title></circle>"##)
        }
        out.append(text(left + plotWidth - 130, barTop - 10, "— \(label)", anchor: "end", size: 11, fill: "#2ca02c"))
        return out
    }

    // MARK: Bottom panel

    private func heatPanel() -> [String] {
        var out = [String]()
        let kinds = LinearKind.allCases
        let what = achieved == nil ? "planned sparsity per linear (plan only: nothing pruned yet)" : "achieved sparsity per linear"
        out.append(text(left, heatTop - 12, what, size: 13, weight: "bold"))
        for (row, kind) in kinds.enumerated() {
            let cy = heatTop + cellHeight * Double(row)
            out.append(text(left - 6, cy + cellHeight / 2 + 4, kind.shortName, anchor: "end", size: 10))
            for b in 0..<blocks {
                let path = kind.modulePath(block: b)
                let s = achieved?[path] ?? plan.sparsity(block: b, kind: kind)
                let x = left + slot * Double(b)
                out.append(##"<rect class="cell" data-block="\##(b)" data-linear="\##(kind.shortName)" x="\##(f(x))" y="\##(f(cy))" width="\##(f(slot))" height="\##(f(cellHeight))" fill="\##(colour(s))" stroke="#ffffff" stroke-width="0.5"><title>\##(svgEscaped(String(format: "%@: %.4f", path, s)))</title></rect>"##)
                if slot >= 22 {
                    out.append(text(x + slot / 2, cy + cellHeight / 2 + 3, String(format: "%.0f", 100 * s), anchor: "middle", size: 8,
                                    fill: s > 0.55 ? "#ffffff" : "#000000"))
                }
            }
        }
        // Colour scale 0…1 with the target marked.
        let scaleTop = heatTop + cellHeight * Double(kinds.count) + 40
        let scaleWidth = min(400.0, plotWidth)
        let steps = 50
        for k in 0..<steps {
            let s = (Double(k) + 0.5) / Double(steps)
            out.append(##"<rect x="\##(f(left + scaleWidth * Double(k) / Double(steps)))" y="\##(f(scaleTop))" width="\##(f(scaleWidth / Double(steps) + 0.5))" height="12" fill="\##(colour(s))"/>"##)
        }
        out.append(##"<rect x="\##(f(left))" y="\##(f(scaleTop))" width="\##(f(scaleWidth))" height="12" fill="none" stroke="#888888"/>"##)
        for tick in stride(from: 0.0, through: 1.0001, by: 0.25) {
            out.append(text(left + scaleWidth * tick, scaleTop + 26, String(format: "%.2f", tick), anchor: "middle", size: 10))
        }
        let tx = left + scaleWidth * plan.targetSparsity
        out.append(##"<line class="target" x1="\##(f(tx))" y1="\##(f(scaleTop - 4))" x2="\##(f(tx))" y2="\##(f(scaleTop + 16))" stroke="#d62728" stroke-width="2"/>"##)
        out.append(text(tx, scaleTop - 8, "target", anchor: "middle", size: 10, fill: "#d62728"))
        out.append(text(left + scaleWidth + 16, scaleTop + 11, "sparsity (fraction of weights that are zero); cell labels in %", size: 10, fill: "#444444"))
        return out
    }

    /// White (0) to dark blue (1), linear in each channel.
    private func colour(_ s: Double) -> String {
        let t = min(1, max(0, s))
        let from = (247.0, 251.0, 255.0), to = (8.0, 48.0, 107.0)
        let c = [from.0 + (to.0 - from.0) * t, from.1 + (to.1 - from.1) * t, from.2 + (to.2 - from.2) * t]
        return "#" + c.map { String(format: "%02x", Int($0.rounded())) }.joined()
    }

    /// The smallest of 1, 2, 2.5, 5 × 10^k at or above `v` (an axis top that reads well).
    private func niceCeiling(_ v: Double) -> Double {
        guard v > 0, v.isFinite else { return 1 }
        let p = pow(10, floor(log10(v)))
        return [1.0, 2, 2.5, 5, 10].map { $0 * p }.first { $0 >= v } ?? 10 * p
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }

    private func text(_ x: Double, _ y: Double, _ s: String, anchor: String = "start", size: Double = 12,
                      weight: String = "normal", fill: String = "#000000", rotate: Bool = false) -> String {
        let transform = rotate ? ##" transform="rotate(-90 \##(f(x)) \##(f(y)))""## : ""
        return ##"<text x="\##(f(x))" y="\##(f(y))" text-anchor="\##(anchor)" font-size="\##(f(size))" font-weight="\##(weight)" fill="\##(fill)"\##(transform)>\##(svgEscaped(s))</text>"##
    }

    package var data: Data { Data(render().utf8) }
}

extension LinearKind {
    /// `q_proj`, `down_proj`, …: the part of the HF name people say.
    package var shortName: String { String(rawValue.split(separator: ".").last ?? Substring(rawValue)) }
}
