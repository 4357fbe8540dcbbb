public import OasisCommon

/// A lifecycle event of a hosted runtime (oasis-core's `host.Event`).
///
/// Order for a supervised runtime: zero or more `failedToStart`, then `started`, … `stopped`;
/// after an unexpected exit or a forced abort, `stopped` then `started` (or `failedToStart`).
public enum HostEvent: Sendable, CustomStringConvertible {
    /// The runtime is up: spawned, connected, handshaken and initialised.
    /// `capabilityTEE` is nil outside a TEE.
    case started(version: Version, capabilityTEE: CapabilityTEE?)
    /// A start attempt failed; the error says which step.
    case failedToStart(any Error)
    /// A running instance went away (exit, kill after an abort or a hang, or stop).
    case stopped
    /// The TEE capability changed (re-attestation).
    case updated(capabilityTEE: CapabilityTEE?)

    public var description: String {
        switch self {
        case .started(let version, let tee): "started(version: \(version), tee: \(tee.map { "\($0.hardware)" } ?? "none"))"
        case .failedToStart(let error): "failedToStart(\(error))"
        case .stopped: "stopped"
        case .updated(let tee): "updated(tee: \(tee.map { "\($0.hardware)" } ?? "none"))"
        }
    }
}

/// The TEE capability of a runtime instance (oasis-core's `node.CapabilityTEE`): CBOR keys
/// `hardware`, `rak` and `attestation`.
public struct CapabilityTEE: Hashable, Sendable, Codable {
    /// The TEE kind.
    public var hardware: TEEHardware
    /// The runtime attestation key.
    public var rak: PublicKey
    /// The attestation; for SGX the CBOR encoding of the AVR bundle.
    public var attestation: [UInt8]

    /// A capability.
    public init(hardware: TEEHardware, rak: PublicKey, attestation: [UInt8]) {
        self.hardware = hardware
        self.rak = rak
        self.attestation = attestation
    }

    enum CodingKeys: String, CodingKey {
        case hardware, rak, attestation
    }
}
