/// What stands in for the run of K + 1 blocks LLM-Streamline selects (`--replacement`, issue 24
/// items 2–3). Every replacement removes the same K blocks — b + 1 … b + K of the run [b, b + K] —
/// and keeps block b's position; they differ only in block b's weights, so the net block count is
/// K fewer in every case and `none` is exactly the comparison point of the other two.
///
/// - `none` ("the selection alone"): block b unchanged. The authors' layer is initialised from
///   block b (`init_layer`) and trained to map h_b to h_{b+K+1}; keeping block b untrained is that
///   layer before its first step, i.e. the model the training starts from.
/// - `linear` (ReplaceMe, `ReplaceMeEstimate`): block b is the last block before the cut
///   [b + 1, b + K]; a least-squares map T from its MLP output is folded into its down projection,
///   so that h_{b+1} − M + M·T approximates h_{b+K+1}.
/// - `layer` (the authors' default, `StreamlineTrainer`): block b, every tensor of it, trained
///   with AdamW so that it maps h_b to h_{b+K+1} (MSE), as `train_lightweightnetwork.py` trains
///   the `LlamaDecoderLayer` it initialises from block b.
public enum StreamlineReplacement: String, Sendable, Codable, CaseIterable {
    case none
    case linear
    case layer

    /// The blocks removed for the run starting at `start` with K = `count`: b + 1 … b + K.
    public static func removed(start: Int, count: Int) -> [Int] { Array((start + 1)...(start + count)) }
}
