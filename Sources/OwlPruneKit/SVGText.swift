/// Text placed in an SVG picture (`owlprune-plan.svg`, `sweep.svg`): `&`, `<`, `>` and `"` as
/// entities, so a model path or a cell name can neither end an element nor an attribute. The one
/// escaper of both pictures.
package func svgEscaped(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
