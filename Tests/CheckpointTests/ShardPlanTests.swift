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
        #expect(ShardPlan.parseSize("5GB") == 5_000_000_000)
        #expect(ShardPlan.parseSize("500MB") == 500_000_000)
        #expect(ShardPlan.parseSize("2GiB") == 2 << 30)
        #expect(ShardPlan.parseSize("10KiB") == 10_240)
        #expect(ShardPlan.parseSize("30kb") == 30_000)
        #expect(ShardPlan.parseSize("1.5GB") == 1_500_000_000)
        #expect(ShardPlan.parseSize("1TB") == 1_000_000_000_000)
        #expect(ShardPlan.parseSize("4096") == 4096)
        for bad in ["", "GB", "5XB", "-1GB", "0", "0GB", "1.2.3MB", "five GB", "5 G"] {
            #expect(ShardPlan.parseSize(bad) == nil, "\(bad)")
        }
    }
}
