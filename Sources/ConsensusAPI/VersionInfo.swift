public import OasisCBOR
public import OasisCommon

/// A runtime's version information (`registry.VersionInfo`, key `versions` in a descriptor).
public struct VersionInfo: Hashable, Sendable {
    /// The runtime's version.
    public var version: Version
    /// Enclave identities in a TEE-specific format: for SGX, the CBOR of ``SGXConstraints``.
    ///
    /// `nil` is Go's nil slice (the key is absent or `null`); `[]` is a present but empty byte
    /// string. Both are left out when writing (`omitempty`), but they verify differently: an
    /// SGX runtime with `nil` has no enclaves, while `[]` is not valid CBOR at all.
    public var tee: [UInt8]?

    public init(version: Version = Version(), tee: [UInt8]? = nil) {
        self.version = version
        self.tee = tee
    }
}

extension VersionInfo: Codable {
    enum CodingKeys: String, CodingKey { case version, tee }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(Version.self, forKey: .version, orZero: Version())
        tee = try c.decodeIfPresent(GoBytes.self, forKey: .tee)?.bytes
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(version, forKey: .version)
        try c.encodeBytes(tee ?? [], forKey: .tee, omitEmpty: true)
    }
}

/// An SGX measurement register value: MRENCLAVE or MRSIGNER (`sgx.MrEnclave`, `sgx.MrSigner`),
/// 32 bytes, written as a byte string. ``description`` is lowercase hex.
public struct SGXMeasurement: Hashable, Sendable, CustomStringConvertible {
    /// The 32 bytes, inline.
    public private(set) var raw: Bytes32

    public init(raw: Bytes32) {
        self.raw = raw
    }

    /// Exactly 32 bytes.
    public init(bytes: [UInt8]) throws(DescriptorError) {
        guard let raw = Bytes32(bytes) else { throw DescriptorError("sgx: malformed measurement") }
        self.raw = raw
    }

    /// The 32 bytes.
    public var bytes: [UInt8] { raw.bytes }

    public var description: String { Hex.encode(bytes) }
}

extension SGXMeasurement: GoBinaryCodable {}

/// An allowed MRENCLAVE/MRSIGNER pair (`sgx.EnclaveIdentity`).
///
/// CBOR writes the map `{mr_enclave, mr_signer}`; Go's JSON uses the type's text marshaler,
/// standard base64 of the 64 concatenated bytes.
public struct EnclaveIdentity: Hashable, Sendable {
    /// The enclave's MRENCLAVE.
    public var mrEnclave: SGXMeasurement
    /// The enclave signer's MRSIGNER.
    public var mrSigner: SGXMeasurement

    public init(mrEnclave: SGXMeasurement = SGXMeasurement(raw: .zero),
                mrSigner: SGXMeasurement = SGXMeasurement(raw: .zero)) {
        self.mrEnclave = mrEnclave
        self.mrSigner = mrSigner
    }
}

extension EnclaveIdentity: Codable {
    enum CodingKeys: String, CodingKey {
        case mrEnclave = "mr_enclave"
        case mrSigner = "mr_signer"
    }

    public init(from decoder: any Decoder) throws {
        if decoder.isCBOR {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            mrEnclave = try c.decode(SGXMeasurement.self, forKey: .mrEnclave, orZero: SGXMeasurement(raw: .zero))
            mrSigner = try c.decode(SGXMeasurement.self, forKey: .mrSigner, orZero: SGXMeasurement(raw: .zero))
            return
        }
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let bytes = Base64.decode(text), bytes.count == 64 else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "sgx: malformed EnclaveIdentity")
        }
        mrEnclave = SGXMeasurement(raw: Bytes32(bytes[..<32])!)
        mrSigner = SGXMeasurement(raw: Bytes32(bytes[32...])!)
    }

    public func encode(to encoder: any Encoder) throws {
        if encoder.isCBOR {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(mrEnclave, forKey: .mrEnclave)
            try c.encode(mrSigner, forKey: .mrSigner)
        } else {
            var c = encoder.singleValueContainer()
            try c.encode(Base64.encode(mrEnclave.bytes + mrSigner.bytes))
        }
    }
}

/// The SGX constraints a runtime carries in ``VersionInfo/tee`` (`sgx.Constraints`).
public struct SGXConstraints: Hashable, Sendable {
    /// The allowed enclaves. No `omitempty`: `nil` is written as `null`.
    public var enclaves: [EnclaveIdentity]?

    public init(enclaves: [EnclaveIdentity]? = nil) {
        self.enclaves = enclaves
    }
}

extension SGXConstraints: Codable {
    enum CodingKeys: String, CodingKey { case enclaves }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        enclaves = try c.decodeIfPresent([EnclaveIdentity].self, forKey: .enclaves)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeOrNull(enclaves, forKey: .enclaves)
    }
}
