import Checkpoint
import Foundation
import Model
import Tensor
import TestSupport
import Testing

/// The decoder-block backward pass (LLM-Streamline, issue 24) against PyTorch autograd of
/// transformers' own decoder layer, on one layer of each tiny fixture model
/// (Tests/Fixtures/transformers/make_gradient_fixtures.py): Llama with four RoPE variants,
/// Mistral's sliding window, Qwen2's biases on a sliding layer, Qwen3's q/k norms.
///
/// "Relative" means, per tensor, ‖ours − torch‖₂ / ‖torch‖₂ (Frobenius norms over all
/// elements, in float64): an element-wise ratio would be dominated by gradients that are near
/// zero where float32 cancellation leaves only rounding noise.
@Suite struct DecoderBlockBackwardTests {
    static let root = RepoPaths.root.appendingPathComponent("Tests/Fixtures/transformers")
    static let models = ["llama3", "llama-linear", "llama-dynamic", "llama-yarn", "mistral", "qwen2", "qwen3"]
    static let tolerance = 1e-5

    struct Reference: Decodable {
        let layer: Int
        let loss: Double
        let parameters: [String]
    }

    struct Case {
        let block: DecoderBlock
        let rope: RoPETable
        let reference: Reference
        let tensors: SafetensorsFile
        func tensor(_ name: String) throws -> Matrix { try tensors.matrix(name) }
    }

    static func load(_ name: String) throws -> Case {
        let dir = try RepoPaths.require(root.appendingPathComponent(name))
        let fixture = try RepoPaths.require(root.appendingPathComponent("gradients/\(name)"))
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: fixture.appendingPathComponent("reference.json")))
        let architecture = try Architecture(config: ModelConfig(contentsOf: dir.appendingPathComponent("config.json")))
        let block = try DecoderBlock.load(index: reference.layer, shape: architecture.shape, from: CheckpointDirectory(url: dir))
        let tensors = try SafetensorsFile(url: fixture.appendingPathComponent("tensors.safetensors"))
        let input = try tensors.matrix("input")
        return Case(block: block, rope: architecture.ropeTable(positions: input.rows), reference: reference, tensors: tensors)
    }

    static func relativeError(_ got: [Float], _ want: [Float]) -> Double {
        precondition(got.count == want.count, "relative error: \(got.count) vs \(want.count) elements")
        var diff = 0.0, norm = 0.0
        for i in got.indices {
            let d = Double(got[i]) - Double(want[i])
            diff += d * d
            norm += Double(want[i]) * Double(want[i])
        }
        return (diff / norm).squareRoot()
    }

    /// torch's name for each of our tensors, in `DecoderBlock.parameterNames` order.
    static func torchNames(_ block: DecoderBlock) -> [String] {
        var names = BlockLinear.allCases.map { "\($0.rawValue).weight" }
        names += ["input_layernorm.weight", "post_attention_layernorm.weight"]
        names += BlockLinear.allCases.filter { block.biases[$0] != nil }.map { "\($0.rawValue).bias" }
        if block.queryNorm != nil { names += ["self_attn.q_norm.weight", "self_attn.k_norm.weight"] }
        return names
    }

    /// Worst relative error over the input gradient and every parameter gradient, with its name.
    static func worst(_ c: Case, input: Matrix, parameters: DecoderBlockGradients) throws -> [(String, Double)] {
        var errors = [("input", relativeError(input.elements, try c.tensor("grad.input").elements))]
        for (name, values) in zip(torchNames(c.block), parameters.tensors) {
            errors.append((name, relativeError(values, try c.tensor("grad." + name).elements)))
        }
        return errors
    }

    static func gradients(_ c: Case, block: DecoderBlock) throws -> (input: Matrix, parameters: DecoderBlockGradients, loss: Double) {
        let input = try c.tensor("input"), target = try c.tensor("target")
        let (output, tape) = block.forwardForTraining(input, rope: c.rope)
        let loss = MeanSquaredError.sumOfSquares(prediction: output, target: target) / Double(output.count)
        let dy = MeanSquaredError.gradient(prediction: output, target: target, elements: output.count)
        let (dx, grads) = block.backward(tape, outputGradient: dy, rope: c.rope)
        return (dx, grads, loss)
    }

    @Test(arguments: models) func gradientsMatchTorchAutograd(_ name: String) throws {
        let c = try Self.load(name)
        #expect(Set(Self.torchNames(c.block)) == Set(c.reference.parameters), "\(name): parameter sets differ")
        let input = try c.tensor("input")
        let (output, _) = c.block.forwardForTraining(input, rope: c.rope)
        // The training forward is the inference forward, bit for bit.
        #expect(output == c.block.forward(input, rope: c.rope))
        let outputError = Self.relativeError(output.elements, try c.tensor("output").elements)
        #expect(outputError <= Self.tolerance, "\(name): output relative error \(outputError)")
        let g = try Self.gradients(c, block: c.block)
        #expect(abs(g.loss - c.reference.loss) <= Self.tolerance * c.reference.loss, "\(name): loss \(g.loss) vs torch \(c.reference.loss)")
        let errors = try Self.worst(c, input: g.input, parameters: g.parameters)
        print("\(name) layer \(c.reference.layer): output \(outputError); " + errors.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
        for (tensor, error) in errors {
            #expect(error <= Self.tolerance, "\(name): gradient of \(tensor) relative error \(error)")
        }
        // Control: a gradient off by one part in 10⁴ fails the same check.
        var perturbed = g.parameters
        perturbed.weights[.k] = Matrix(rows: g.parameters.weights[.k]!.rows, cols: g.parameters.weights[.k]!.cols,
                                       elements: g.parameters.weights[.k]!.elements.map { $0 * (1 + 1e-4) })
        let controlErrors = try Self.worst(c, input: g.input, parameters: perturbed)
        #expect(controlErrors.contains { $0.0 == "self_attn.k_proj.weight" && $0.1 > Self.tolerance })
    }

    /// Control: the attention mask matters to the check. The block is run with the wrong window
    /// (none where the model slides, 8 where it does not), and its q/k gradients must fail.
    @Test(arguments: ["mistral", "qwen2", "llama3"]) func wrongMaskFailsTheCheck(_ name: String) throws {
        let c = try Self.load(name)
        var shape = c.block.shape
        if shape.attentionWindow(block: c.block.index) != nil {
            shape.slidingBlocks = []
        } else {
            shape.slidingWindow = 8
            shape.slidingBlocks = [c.block.index]
        }
        let wrong = DecoderBlock(index: c.block.index, shape: shape, weights: c.block.weights, inputNorm: c.block.inputNorm,
                                 postAttentionNorm: c.block.postAttentionNorm, biases: c.block.biases,
                                 queryNorm: c.block.queryNorm, keyNorm: c.block.keyNorm)
        let g = try Self.gradients(c, block: wrong)
        let errors = Dictionary(uniqueKeysWithValues: try Self.worst(c, input: g.input, parameters: g.parameters))
        #expect(errors["self_attn.q_proj.weight"]! > 100 * Self.tolerance, "\(name): \(errors)")
        #expect(errors["input"]! > 100 * Self.tolerance, "\(name): \(errors)")
    }

    /// Windows run on any number of threads give the same bits, and their float64 sum in window
    /// order does not depend on which thread computed which window.
    @Test func windowGradientsAreTheSameBitsOnAnyThreadCount() throws {
        let c = try Self.load("qwen2")
        let input = try c.tensor("input"), target = try c.tensor("target")
        let windows = (0..<4).map { w in
            Matrix(rows: input.rows, cols: input.cols, elements: input.elements.map { $0 * (1 + Float(w) * 0.01) })
        }
        let block = c.block, rope = c.rope
        func run(_ workers: Int) -> DecoderBlockGradientSum {
            let parts = Parallel.map(windows.count, workers: workers) { w -> DecoderBlockGradients in
                let (y, tape) = block.forwardForTraining(windows[w], rope: rope)
                let dy = MeanSquaredError.gradient(prediction: y, target: target, elements: y.count * windows.count)
                return block.backward(tape, outputGradient: dy, rope: rope).parameters
            }
            var sum = DecoderBlockGradientSum(shapedLike: block)
            for p in parts { sum.add(p) }
            return sum
        }
        let one = run(1), two = run(2)
        #expect(one == two)
        #expect(one.windows == 4)
        // Control: the sum does see every window (dropping one changes it).
        var three = DecoderBlockGradientSum(shapedLike: block)
        for w in 0..<3 {
            let (y, tape) = block.forwardForTraining(windows[w], rope: rope)
            three.add(block.backward(tape, outputGradient: MeanSquaredError.gradient(prediction: y, target: target, elements: y.count * 4),
                                     rope: rope).parameters)
        }
        #expect(three != one)
    }

    /// Parameters round-trip through the flat list the optimizer uses, names in the same order.
    @Test func parameterListRoundTrips() throws {
        let c = try Self.load("qwen3")
        var block = c.block
        let tensors = block.parameterTensors
        #expect(tensors.count == block.parameterNames.count && tensors.count == 11)
        #expect(tensors.reduce(0) { $0 + $1.count } == block.shape.parameterCount)
        var changed = tensors
        changed[9][0] += 1  // the q norm
        block.setParameterTensors(changed)
        #expect(block.queryNorm![0] == c.block.queryNorm![0] + 1 && block.parameterTensors == changed)
        #expect(block.parameterNames[9] == ModelTensorName.queryNorm(block: block.index))
    }
}
