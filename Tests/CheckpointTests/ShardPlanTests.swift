import Checkpoint
import Foundation
import Testing

/// `ShardPlan`: Hugging Face's size-based split and naming, and transformers' size strings.
@Suite struct ShardPlanTests {
    func entries(_ sizes: [Int]) -> [SafetensorsWriter.Entry] {
        sizes.enumerated().map { .init(name: "t\($0.offset)", dtype: .f32, shape: [$0.element / 4]) }
    }

    func groups(_ plan: ShardPlan) -> [[String]] { plan.files.map { $0.entries.map(\.name) } }

    @Test func fillsInOrderAndGivesAnOversizedTensorItsOwnShardFirst() {
        // huggingface_hub split_state_dict_into_shards_factory: t2 (120 > 100) is appended at
        // once, before the shard still being filled ([t0, t1]).
        let plan = ShardPlan(entries: entries([40, 40, 120, 16, 60, 40]), maxShardSize: 100)
        #expect(groups(plan) == [["t2"], ["t0", "t1", "t3"], ["t4", "t5"]])
        #expect(plan.files.map(\.name) == ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                           "model-00003-of-00003.safetensors"])
        #expect(plan.index?.weightMap["t3"] == "model-00002-of-00003.safetensors")
        #expect(plan.index?.totalSize == 316)
    }

    @Test func oneShardIsModelSafetensorsWithoutAnIndex() {
        let plan = ShardPlan(entries: entries([40, 40]), maxShardSize: ShardPlan.defaultMaxShardSize)
        #expect(plan.files.map(\.name) == ["model.safetensors"] && plan.index == nil)
    }

    @Test func offsetsFollowTheHeader() throws {
        let e = entries([8, 12])
        let plan = ShardPlan(entries: e, maxShardSize: 100)
        let header = 8 + (try #require(plan.placement(of: "t0"))).offset - 8
        #expect(plan.placement(of: "t1")?.offset == header + 8)
        #expect(header % 8 == 0)
    }

    @Test func sizesParseAsTransformersTakesThem() {
        #expect(ByteSize("5GB")?.bytes == 5_000_000_000)
        #expect(ByteSize("500MB")?.bytes == 500_000_000)
        #expect(ByteSize("2GiB")?.bytes == 2 << 30)
        #expect(ByteSize("5GiB")?.bytes == 5 << 30)
        #expect(ByteSize("10KiB")?.bytes == 10_240)
        #expect(ByteSize("30kb")?.bytes == 30_000)
        #expect(ByteSize("1.5GB")?.bytes == 1_500_000_000)
        #expect(ByteSize("1TB")?.bytes == 1_000_000_000_000)
        #expect(ByteSize("4096")?.bytes == 4096)
        #expect(ByteSize("2GiB")?.text == "2GiB")
        for bad in ["", "GB", "5XB", "-1GB", "0", "0GB", "1.2.3MB", "five GB", "5 G", "48G", "512M"] {
            #expect(ByteSize(bad) == nil, "\(bad)")
        }
    }

    /// A bare unit letter (Slurm's `--mem=48G`) is refused with both readings spelled out.
    @Test func aBareUnitLetterIsRefusedWithBothReadings() {
        #expect(ByteSize.problem(with: "48G") == "say 48GB (48·10^9 bytes) or 48GiB (48·2^30 bytes)")
        #expect(ByteSize.problem(with: "1.5m") == "say 1.5MB (1.5·10^6 bytes) or 1.5MiB (1.5·2^20 bytes)")
        #expect(ByteSize.problem(with: "12Q")
                == "expected a size such as 5GB, 500MB (powers of ten), 2GiB (powers of two) or a number of bytes")
    }
}
