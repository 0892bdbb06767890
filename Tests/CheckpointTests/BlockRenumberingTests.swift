import Checkpoint
import Foundation
import Testing

/// Issue 12 item 6: names and config.json of a depth-pruned model.
@Suite struct BlockRenumberingTests {
    let r = BlockRenumbering(removing: [1, 3], of: 5)

    @Test func namesAreRenumberedContiguously() {
        #expect(r.kept == [0, 2, 4] && r.removed == [1, 3])
        #expect(r.outputName(of: "model.layers.4.mlp.up_proj.weight") == "model.layers.2.mlp.up_proj.weight")
        #expect(r.outputName(of: "model.layers.3.mlp.up_proj.weight") == nil)
        #expect(r.outputName(of: "model.norm.weight") == "model.norm.weight")
        #expect(r.inputName(of: "model.layers.1.self_attn.q_proj.weight") == "model.layers.2.self_attn.q_proj.weight")
        #expect(r.inputName(of: "model.embed_tokens.weight") == "model.embed_tokens.weight")
    }

    /// Only num_hidden_layers, layer_types and max_window_layers change; every other byte stays.
    @Test func configIsEditedInPlace() throws {
        let text = """
        {
          "hidden_size": 32,
          "layer_types": [
            "full_attention",
            "sliding_attention",
            "full_attention",
            "sliding_attention",
            "sliding_attention"
          ],
          "max_window_layers": 3,
          "num_hidden_layers" : 5,
          "rope_theta": 1e4
        }
        """
        let edited = String(decoding: try r.editConfig(Data(text.utf8)), as: UTF8.self)
        let expected = """
        {
          "hidden_size": 32,
          "layer_types": [
            "full_attention",
            "full_attention",
            "sliding_attention"
          ],
          "max_window_layers": 2,
          "num_hidden_layers" : 3,
          "rope_theta": 1e4
        }
        """
        #expect(edited == expected)
        #expect(throws: CheckpointError.self) { try BlockRenumbering(removing: [0], of: 4).editConfig(Data(text.utf8)) }
    }
}
