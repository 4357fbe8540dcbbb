public import ConsensusAPI
import OasisCommon

/// What `runtime-node control status --json` prints (`GET /v1/status`): the fields of API.md
/// and a few more.
public struct NodeStatus: Sendable, Hashable, Codable {
    /// The consensus backend's view.
    public struct Consensus: Sendable, Hashable, Codable {
        /// `local` for the embedded consensus.
        public var backend: String
        /// The latest consensus height.
        public var height: Int64
        /// The current epoch.
        public var epoch: UInt64
        /// The chain's domain-separation context.
        public var chainContext: String

        public init(backend: String, height: Int64, epoch: UInt64, chainContext: String) {
            self.backend = backend
            self.height = height
            self.epoch = epoch
            self.chainContext = chainContext
        }

        enum CodingKeys: String, CodingKey {
            case backend, height, epoch
            case chainContext = "chain_context"
        }
    }

    /// The node itself.
    public var node: NodeInfo
    /// The consensus backend's view.
    public var consensus: Consensus
    /// Every supported runtime, by ID.
    public var runtimes: [RuntimeStatus]

    public init(node: NodeInfo, consensus: Consensus, runtimes: [RuntimeStatus]) {
        self.node = node
        self.consensus = consensus
        self.runtimes = runtimes
    }
}

/// The node process.
public struct NodeInfo: Sendable, Hashable, Codable {
    /// The data directory.
    public var datadir: String
    /// The node's process ID.
    public var pid: Int32
    /// Seconds since the node started serving.
    public var uptimeSeconds: Double
    /// Where the Prometheus endpoint listens (`host:port`), or nil when it is off.
    public var metricsAddress: String?

    public init(datadir: String, pid: Int32, uptimeSeconds: Double, metricsAddress: String?) {
        self.datadir = datadir
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.metricsAddress = metricsAddress
    }

    enum CodingKeys: String, CodingKey {
        case datadir, pid
        case uptimeSeconds = "uptime_seconds"
        case metricsAddress = "metrics_address"
    }
}

/// The state of a hosted runtime, as status reports it.
public enum HostedState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Provisioned and asked to start, not yet through the handshake.
    case starting
    /// Running: the handshake succeeded.
    case started
    /// Not running: stopped by the node or died and waiting to be restarted.
    case stopped
    /// The last start attempt failed; the supervisor retries with backoff.
    case failed
    /// The node does not host this runtime (no `runtime.paths` entry): tracked only.
    case notHosted = "not_hosted"
}

/// One runtime in the status.
public struct RuntimeStatus: Sendable, Hashable, Codable {
    /// The hosted instance.
    public struct Hosted: Sendable, Hashable, Codable {
        /// `starting`, `started`, `stopped`, `failed` or `not_hosted`.
        public var state: HostedState
        /// The version the runtime reported in its handshake (`major.minor.patch`), once started.
        public var version: String?
        /// The runtime process (bubblewrap's when sandboxed), while one runs.
        public var pid: Int32?
        /// How many times the supervisor has restarted the runtime after it died or hung.
        public var restarts: Int
        /// The last start failure, if the latest attempt failed.
        public var lastError: String?
        /// What the runtime's processes use, while one runs (read from `/proc` when asked).
        public var memory: Memory?

        /// The memory of a running runtime.
        public struct Memory: Sendable, Hashable, Codable {
            /// Resident memory summed over the runtime's processes (bubblewrap's included when
            /// sandboxed; a page two of them share counts for each).
            public var residentBytes: UInt64
            /// The largest heap and private writable memory of one of its processes (`VmData`),
            /// which `runtime.limits.memory` bounds.
            public var dataBytes: UInt64
            /// `runtime.limits.memory`; nil without a limit.
            public var limitBytes: UInt64?

            public init(residentBytes: UInt64, dataBytes: UInt64, limitBytes: UInt64?) {
                self.residentBytes = residentBytes
                self.dataBytes = dataBytes
                self.limitBytes = limitBytes
            }

            enum CodingKeys: String, CodingKey {
                case residentBytes = "resident_bytes"
                case dataBytes = "data_bytes"
                case limitBytes = "limit_bytes"
            }

            public func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(residentBytes, forKey: .residentBytes)
                try container.encode(dataBytes, forKey: .dataBytes)
                try container.encode(limitBytes, forKey: .limitBytes)
            }
        }

        public init(
            state: HostedState, version: String? = nil, pid: Int32? = nil, restarts: Int = 0, lastError: String? = nil,
            memory: Memory? = nil
        ) {
            self.state = state
            self.version = version
            self.pid = pid
            self.restarts = restarts
            self.lastError = lastError
            self.memory = memory
        }

        enum CodingKeys: String, CodingKey {
            case state, version, pid, restarts, memory
            case lastError = "last_error"
        }

        // Optional fields are written as `null`, so scripts always find every key.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(state, forKey: .state)
            try container.encode(version, forKey: .version)
            try container.encode(pid, forKey: .pid)
            try container.encode(restarts, forKey: .restarts)
            try container.encode(lastError, forKey: .lastError)
            try container.encode(memory, forKey: .memory)
        }
    }

    /// The runtime's block history.
    public struct History: Sendable, Hashable, Codable {
        /// The latest committed round.
        public var lastRound: UInt64
        /// The consensus height of the latest committed block.
        public var lastConsensusHeight: Int64

        public init(lastRound: UInt64, lastConsensusHeight: Int64) {
            self.lastRound = lastRound
            self.lastConsensusHeight = lastConsensusHeight
        }

        enum CodingKeys: String, CodingKey {
            case lastRound = "last_round"
            case lastConsensusHeight = "last_consensus_height"
        }
    }

    /// The runtime ID (hex).
    public var id: String
    /// `compute`, `keymanager`, or `invalid` before a descriptor is known.
    public var kind: String
    /// `invalid` (no TEE) or `intel-sgx`.
    public var teeHardware: String
    /// The provisioner that hosts it (`mock`, `unconfined`, `sandboxed`), or `none`.
    public var provisioner: String
    /// The hosted instance.
    public var hosted: Hosted
    /// The block history.
    public var history: History

    public init(id: String, kind: String, teeHardware: String, provisioner: String, hosted: Hosted, history: History) {
        self.id = id
        self.kind = kind
        self.teeHardware = teeHardware
        self.provisioner = provisioner
        self.hosted = hosted
        self.history = history
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, provisioner, hosted, history
        case teeHardware = "tee_hardware"
    }
}

/// `GET /v1/runtimes/{id}`: the status plus the descriptors and the executor's figures.
public struct RuntimeDetail: Sendable, Codable {
    /// The status row.
    public var status: RuntimeStatus
    /// The latest registration seen on consensus (oasis JSON form).
    public var registryDescriptor: RuntimeDescriptor?
    /// The descriptor active this epoch.
    public var activeDescriptor: RuntimeDescriptor?
    /// The localnet executor's figures, for hosted compute runtimes.
    public var executor: ExecutorStatistics?

    public init(status: RuntimeStatus, registryDescriptor: RuntimeDescriptor?, activeDescriptor: RuntimeDescriptor?,
                executor: ExecutorStatistics?) {
        self.status = status
        self.registryDescriptor = registryDescriptor
        self.activeDescriptor = activeDescriptor
        self.executor = executor
    }

    enum CodingKeys: String, CodingKey {
        case status
        case registryDescriptor = "registry_descriptor"
        case activeDescriptor = "active_descriptor"
        case executor
    }
}
