public import OasisCBOR
public import OasisCommon

/// A runtime's staking parameters (`registry.RuntimeStakingParameters`). Every field is
/// `omitempty`, so in CBOR the whole struct is left out of a descriptor when all of them are
/// empty (``isGoEmpty``); Go's `encoding/json` never leaves a struct out, so JSON always has it.
public struct RuntimeStakingParameters: Hashable, Sendable {
    /// Minimum stake per threshold kind, on top of the global thresholds.
    public var thresholds: [ThresholdKind: Quantity]
    /// Per-reason slashing of the runtime's nodes.
    public var slashing: [SlashReason: Slash]
    /// Percentage (0–100) of an equivocation slash that goes to the runtime's account.
    public var rewardSlashEquivocationRuntimePercent: UInt8
    /// Percentage (0–100) of a bad-results slash that goes to the runtime's account.
    public var rewardSlashBadResultsRuntimePercent: UInt8

    public init(thresholds: [ThresholdKind: Quantity] = [:], slashing: [SlashReason: Slash] = [:],
                rewardSlashEquivocationRuntimePercent: UInt8 = 0, rewardSlashBadResultsRuntimePercent: UInt8 = 0) {
        self.thresholds = thresholds
        self.slashing = slashing
        self.rewardSlashEquivocationRuntimePercent = rewardSlashEquivocationRuntimePercent
        self.rewardSlashBadResultsRuntimePercent = rewardSlashBadResultsRuntimePercent
    }

    /// oasis-core's checks, with its messages.
    ///
    /// Go walks the thresholds in random map order, so with several bad thresholds the reported
    /// one varies; here they are checked in threshold-kind order, so the result is stable.
    /// Go's "invalid threshold of kind … specified" cannot happen: a ``Quantity`` is never
    /// negative.
    public func validateBasic(runtimeKind: RuntimeKind) throws(DescriptorError) {
        if rewardSlashEquivocationRuntimePercent > 100 {
            throw DescriptorError("runtime reward percentage from slashing for equivocation must be <= 100")
        }
        if rewardSlashBadResultsRuntimePercent > 100 {
            throw DescriptorError("runtime reward percentage from slashing for bad results must be <= 100")
        }
        for kind in thresholds.keys.sorted() {
            let allowed: Bool
            switch kind {
            case .nodeCompute, .nodeStorage: allowed = runtimeKind == .compute
            case .nodeKeyManager: allowed = runtimeKind == .keyManager
            default: allowed = false
            }
            if !allowed { throw DescriptorError("unsupported staking threshold kind for runtime: \(kind)") }
        }
    }
}

extension RuntimeStakingParameters: GoEmptyCheckable {
    /// Every field is empty, so the CBOR of a descriptor leaves `staking` out.
    public var isGoEmpty: Bool {
        thresholds.isEmpty && slashing.isEmpty && rewardSlashEquivocationRuntimePercent == 0
            && rewardSlashBadResultsRuntimePercent == 0
    }
}

extension RuntimeStakingParameters: Codable {
    enum CodingKeys: String, CodingKey {
        case thresholds, slashing
        case rewardSlashEquivocationRuntimePercent = "reward_equivocation"
        case rewardSlashBadResultsRuntimePercent = "reward_bad_results"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        thresholds = try c.decode([ThresholdKind: Quantity].self, forKey: .thresholds, orZero: [:])
        slashing = try c.decode([SlashReason: Slash].self, forKey: .slashing, orZero: [:])
        rewardSlashEquivocationRuntimePercent = try c.decode(
            UInt8.self, forKey: .rewardSlashEquivocationRuntimePercent, orZero: 0)
        rewardSlashBadResultsRuntimePercent = try c.decode(
            UInt8.self, forKey: .rewardSlashBadResultsRuntimePercent, orZero: 0)
    }

    public func encode(to encoder: any Encoder) throws {
        if !encoder.isCBOR {
            try thresholds.checkJSONKeys(codingPath: encoder.codingPath)
            try slashing.checkJSONKeys(codingPath: encoder.codingPath)
        }
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeOmitEmpty(thresholds, forKey: .thresholds)
        try c.encodeOmitEmpty(slashing, forKey: .slashing)
        try c.encodeOmitEmpty(rewardSlashEquivocationRuntimePercent, forKey: .rewardSlashEquivocationRuntimePercent)
        try c.encodeOmitEmpty(rewardSlashBadResultsRuntimePercent, forKey: .rewardSlashBadResultsRuntimePercent)
    }
}
