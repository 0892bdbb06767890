import Cluster
import Foundation
import Pruning

/// `owlprune-streamline.svg` (issue 24 item 5): what LLM-Streamline chose and how its layer
/// trained, self-contained like `owlprune-plan.svg` (no scripts, fonts or styles; every mark has
/// a `<title>`). Top panel: every run start's score (0.5 + 0.5·cos) as a bar on an axis from 0
/// to 1, never truncated, the chosen run in its own colour with each score written above its
/// bar (the scores are close to 1, so the numbers carry the differences). Bottom panel, with
/// `--replacement layer`: each step's training MSE as a line and the validation MSE before
/// training and after each epoch as points at the step where it was measured, on one axis
/// from 0; the kept state is ringed. Written for every streamline run, beside the plan.
package struct StreamlinePicture {
    package static let fileName = "owlprune-streamline.svg"

    package let result: BlockRemovalResult
    package let training: StreamlineTrainingLog?
    package var title: String = ""

    package init(result: BlockRemovalResult, training: StreamlineTrainingLog?, title: String = "") {
        self.result = result
        self.training = training
        self.title = title
    }

    private let width = 960.0
    private let left = 80.0, right = 40.0
    private let scoreTop = 80.0, scoreHeight = 220.0
    private var lossTop: Double { scoreTop + scoreHeight + 90 }
    private let lossHeight = 240.0
    private var plotWidth: Double { width - left - right }
    private var height: Double { (training == nil ? scoreTop + scoreHeight : lossTop + lossHeight) + 70 }

    package var data: Data { Data(render().utf8) }

    package func render() -> String {
        var svg = [String]()
        svg.append(##"<?xml version="1.0" encoding="UTF-8"?>"##)
        svg.append(##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(f(width))" height="\##(f(height))" viewBox="0 0 \##(f(width)) \##(f(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"##)
        svg.append(##"<rect x="0" y="0" width="\##(f(width))" height="\##(f(height))" fill="#ffffff"/>"##)
        svg.append(text(left, 24, title.isEmpty ? "owlprune streamline" : "owlprune streamline — \(title)", size: 16, weight: "bold"))
        svg.append(text(left, 42, subheading, fill: "#444444"))
        svg += scorePanel()
        if let training { svg += lossPanel(training) }
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }

    private var run: [Int] { result.run ?? [0, 0] }

    private var subheading: String {
        var parts = ["replace blocks \(run[0])…\(run[1]) of \(result.scores.count)", "replacement \(result.replacement ?? "none")",
                     "remove \(result.removed.count)"]
        if let t = training {
            parts.append("\(t.steps.count) steps, \(t.stepsPerEpoch) per epoch, batch \(t.settings.batch), lr \(t.settings.learningRate)")
            parts.append("kept: " + (t.keptEpoch == 0 ? "untrained block" : "epoch \(t.keptEpoch)"))
        }
        return parts.joined(separator: " · ")
    }

    private func scorePanel() -> [String] {
        let starts = result.scores.enumerated().compactMap { j, s in s.map { (j, $0) } }
        let slot = plotWidth / Double(max(starts.count, 1))
        let y = { (s: Double) in scoreTop + scoreHeight * (1 - min(max(s, 0), 1)) }
        var out = [text(left, scoreTop - 14, "score of the run starting at each block (0.5 + 0.5·cos(h_j, h_{j+K+1}))", weight: "bold")]
        out += axis(top: scoreTop, height: scoreHeight, maximum: 1, format: "%.1f")
        let k = run[1] - run[0]
        for (i, (j, s)) in starts.enumerated() {
            let x = left + Double(i) * slot + slot * 0.15, w = slot * 0.7
            let chosen = j == run[0]
            out.append(##"<rect x="\##(f(x))" y="\##(f(y(s)))" width="\##(f(w))" height="\##(f(scoreTop + scoreHeight - y(s)))" fill="\##(chosen ? "#d62728" : "#4c78a8")"><title>\##(svgEscaped(String(format: "run %d…%d: %.6f%@", j, j + k, s, chosen ? " (chosen)" : "")))</title></rect>"##)
            out.append(text(x + w / 2, y(s) - 4, String(format: "%.3f", s), anchor: "middle", size: 9, fill: chosen ? "#d62728" : "#333333"))
            out.append(text(x + w / 2, scoreTop + scoreHeight + 16, "\(j)", anchor: "middle", size: 10))
        }
        out.append(text(left + plotWidth / 2, scoreTop + scoreHeight + 34, "first block of the run", anchor: "middle"))
        return out
    }

    private func lossPanel(_ t: StreamlineTrainingLog) -> [String] {
        let losses = t.steps.map(\.loss) + t.validationLoss
        let maximum = niceCeiling(losses.filter(\.isFinite).max() ?? 1)
        let steps = max(t.steps.count, 1)
        let x = { (step: Double) in left + plotWidth * step / Double(steps) }
        let y = { (l: Double) in lossTop + lossHeight * (1 - min(max(l / maximum, 0), 1)) }
        var out = [text(left, lossTop - 14, "training MSE per step (line) and validation MSE per epoch (points)", weight: "bold")]
        out += axis(top: lossTop, height: lossHeight, maximum: maximum, format: "%.3g")
        // Step s's loss is measured on the weights before update s: at x = s.
        let points = t.steps.enumerated().map { "\(f(x(Double($0.offset)))),\(f(y($0.element.loss)))" }.joined(separator: " ")
        out.append(##"<polyline points="\##(points)" fill="none" stroke="#4c78a8" stroke-width="1.5"><title>training loss</title></polyline>"##)
        for (e, l) in t.validationLoss.enumerated() {
            let cx = x(Double(e * t.stepsPerEpoch)), cy = y(l)
            let label = String(format: "%@: validation MSE %.6g%@", e == 0 ? "before training" : "after epoch \(e)", l,
                               e == t.keptEpoch ? " (kept)" : "")
            out.append(##"<circle cx="\##(f(cx))" cy="\##(f(cy))" r="4" fill="#d62728"><title>\##(svgEscaped(label))</title></circle>"##)
            if e == t.keptEpoch {
                out.append(##"<circle cx="\##(f(cx))" cy="\##(f(cy))" r="8" fill="none" stroke="#d62728" stroke-width="1.5"/>"##)
            }
        }
        for tick in 0...4 {
            let s = Double(steps) * Double(tick) / 4
            out.append(text(x(s), lossTop + lossHeight + 16, String(format: "%.0f", s), anchor: "middle", size: 10))
        }
        out.append(text(left + plotWidth / 2, lossTop + lossHeight + 34, "optimizer step", anchor: "middle"))
        return out
    }

    /// A y axis from 0 to `maximum` with five labelled grid lines.
    private func axis(top: Double, height: Double, maximum: Double, format: String) -> [String] {
        var out: [String] = []
        for tick in 0...4 {
            let v = maximum * Double(tick) / 4, y = top + height * (1 - Double(tick) / 4)
            out.append(##"<line x1="\##(f(left))" y1="\##(f(y))" x2="\##(f(left + plotWidth))" y2="\##(f(y))" stroke="#dddddd"/>"##)
            out.append(text(left - 6, y + 4, String(format: format, v), anchor: "end", size: 10))
        }
        return out
    }

    private func niceCeiling(_ v: Double) -> Double {
        guard v > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(v)))
        for step in [1.0, 2, 2.5, 5, 10] where step * magnitude >= v { return step * magnitude }
        return 10 * magnitude
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }

    private func text(_ x: Double, _ y: Double, _ s: String, anchor: String = "start", size: Double = 12,
                      weight: String = "normal", fill: String = "#000000") -> String {
        ##"<text x="\##(f(x))" y="\##(f(y))" text-anchor="\##(anchor)" font-size="\##(f(size))" font-weight="\##(weight)" fill="\##(fill)">\##(svgEscaped(s))</text>"##
    }
}
