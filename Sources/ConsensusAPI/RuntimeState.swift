public import OasisCBOR

/// What roothash keeps per runtime (`roothash.RuntimeState`). The registry reads only
/// ``runtime``. Pointers without `omitempty` (`runtime`, the blocks, `executor_pool`) are written
/// as `null` when `nil`; `suspended` is omitted when false.
public struct RuntimeState: Hashable, Sendable {
    /// The runtime's descriptor as of the current epoch.
    public var runtime: RuntimeDescriptor?
    /// Whether the runtime is suspended.
    public var suspended: Bool
    /// The runtime's first block.
    public var genesisBlock: Block?
    /// The runtime's latest block.
    public var currentBlock: Block?
    /// The consensus height of ``currentBlock``.
    public var currentBlockHeight: Int64
    /// The last round the runtime processed normally (it carries the latest message results).
    public var lastNormalRound: UInt64
    /// The consensus height of ``lastNormalRound``.
    public var lastNormalHeight: Int64
    /// The executor commitment pool, kept as its raw CBOR item: nothing here reads it.
    public var executorPool: CBORValue?

    public init(runtime: RuntimeDescriptor? = nil, suspended: Bool = false, genesisBlock: Block? = nil,
                currentBlock: Block? = nil, currentBlockHeight: Int64 = 0, lastNormalRound: UInt64 = 0,
                lastNormalHeight: Int64 = 0, executorPool: CBORValue? = nil) {
        self.runtime = runtime
        self.suspended = suspended
        self.genesisBlock = genesisBlock
        self.currentBlock = currentBlock
        self.currentBlockHeight = currentBlockHeight
        self.lastNormalRound = lastNormalRound
        self.lastNormalHeight = lastNormalHeight
        self.executorPool = executorPool
    }
}

extension RuntimeState: Codable {
    enum CodingKeys: String, CodingKey {
        case runtime, suspended
        case genesisBlock = "genesis_block"
        case currentBlock = "current_block"
        case currentBlockHeight = "current_block_height"
        case lastNormalRound = "last_normal_round"
        case lastNormalHeight = "last_normal_height"
        case executorPool = "executor_pool"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        runtime = try c.decodeIfPresent(RuntimeDescriptor.self, forKey: .runtime)
        suspended = try c.decode(Bool.self, forKey: .suspended, orZero: false)
        genesisBlock = try c.decodeIfPresent(Block.self, forKey: .genesisBlock)
        currentBlock = try c.decodeIfPresent(Block.self, forKey: .currentBlock)
        currentBlockHeight = try c.decode(Int64.self, forKey: .currentBlockHeight, orZero: 0)
        lastNormalRound = try c.decode(UInt64.self, forKey: .lastNormalRound, orZero: 0)
        lastNormalHeight = try c.decode(Int64.self, forKey: .lastNormalHeight, orZero: 0)
        executorPool = try c.decodeIfPresent(CBORValue.self, forKey: .executorPool)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeOrNull(runtime, forKey: .runtime)
        try c.encodeOmitEmpty(suspended, forKey: .suspended)
        try c.encodeOrNull(genesisBlock, forKey: .genesisBlock)
        try c.encodeOrNull(currentBlock, forKey: .currentBlock)
        try c.encode(currentBlockHeight, forKey: .currentBlockHeight)
        try c.encode(lastNormalRound, forKey: .lastNormalRound)
        try c.encode(lastNormalHeight, forKey: .lastNormalHeight)
        try c.encodeOrNull(executorPool, forKey: .executorPool)
    }
}
