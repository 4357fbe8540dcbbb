import OasisCBOR
public import OasisCommon

/// The registered errors of module `registry` that concern runtimes.
public enum RegistryErrors {
    /// The module name.
    public static let module = "registry"
    /// Code 1.
    public static let invalidArgument = CodedError.register(module: module, code: 1, message: "registry: invalid argument")
    /// Code 4.
    public static let badEntityForRuntime = CodedError.register(
        module: module, code: 4, message: "registry: unknown entity in runtime registration")
    /// Code 5.
    public static let noEnclaveForRuntime = CodedError.register(
        module: module, code: 5, message: "registry: no enclaves for TEE runtime registration")
    /// Code 11.
    public static let noSuchRuntime = CodedError.register(module: module, code: 11, message: "registry: no such runtime")
    /// Code 16.
    public static let forbidden = CodedError.register(module: module, code: 16, message: "registry: forbidden by policy")
    /// Code 18.
    public static let runtimeUpdateNotAllowed = CodedError.register(
        module: module, code: 18, message: "registry: runtime update not allowed")
    /// Code 19.
    public static let entityHasRuntimes = CodedError.register(
        module: module, code: 19, message: "registry: entity still has runtimes")
}

/// The registry consensus parameters that runtime verification reads (a subset of Go's
/// `registry.ConsensusParameters`).
public struct RegistryConsensusParameters: Hashable, Sendable {
    /// Whether runtimes with the test flag in their ID may register.
    public var debugAllowTestRuntimes: Bool
    /// The governance models runtimes may use. Go keeps a map to booleans; a model mapped to
    /// `false` there is simply absent here.
    public var enabledRuntimeGovernanceModels: Set<RuntimeGovernanceModel>

    public init(debugAllowTestRuntimes: Bool = false, enabledRuntimeGovernanceModels: Set<RuntimeGovernanceModel> = []) {
        self.debugAllowTestRuntimes = debugAllowTestRuntimes
        self.enabledRuntimeGovernanceModels = enabledRuntimeGovernanceModels
    }
}

/// Finds registered runtimes by ID (`registry.RuntimeLookup`).
public protocol RuntimeLookup {
    /// An active (not suspended) runtime.
    func runtime(_ id: Namespace) throws -> RuntimeDescriptor
    /// A suspended runtime; ``RegistryErrors/noSuchRuntime`` when there is none.
    func suspendedRuntime(_ id: Namespace) throws -> RuntimeDescriptor
    /// An active or suspended runtime; ``RegistryErrors/noSuchRuntime`` when there is none.
    func anyRuntime(_ id: Namespace) throws -> RuntimeDescriptor
    /// Every runtime, active ones first.
    func allRuntimes() throws -> [RuntimeDescriptor]
}

/// A fixed set of runtimes to look up in: what ``RuntimeDescriptor/sanityCheckRuntimes(_:suspended:params:isGenesis:debugDontBlameOasis:)``
/// builds (Go's `sanityCheckRuntimeLookup`).
public struct RuntimeLookupTable: RuntimeLookup, Hashable, Sendable {
    private var active: [Namespace: RuntimeDescriptor] = [:]
    private var suspended: [Namespace: RuntimeDescriptor] = [:]
    private var ordered: [RuntimeDescriptor] = []

    /// Fails on a duplicate ID: `duplicate runtime: <hex>` among the active runtimes,
    /// `duplicate (suspended) runtime: <hex>` for a suspended one that repeats any known ID.
    public init(runtimes: [RuntimeDescriptor], suspended suspendedRuntimes: [RuntimeDescriptor]) throws(DescriptorError) {
        for rt in runtimes {
            guard active[rt.id] == nil else { throw DescriptorError("duplicate runtime: \(rt.id)") }
            active[rt.id] = rt
            ordered.append(rt)
        }
        for rt in suspendedRuntimes {
            guard active[rt.id] == nil && suspended[rt.id] == nil else {
                throw DescriptorError("duplicate (suspended) runtime: \(rt.id)")
            }
            suspended[rt.id] = rt
            ordered.append(rt)
        }
    }

    /// Reports a missing ID with the plain text `runtime not found`, as Go's table does.
    public func runtime(_ id: Namespace) throws -> RuntimeDescriptor {
        guard let rt = active[id] else { throw DescriptorError("runtime not found") }
        return rt
    }

    public func suspendedRuntime(_ id: Namespace) throws -> RuntimeDescriptor {
        guard let rt = suspended[id] else { throw RegistryErrors.noSuchRuntime }
        return rt
    }

    public func anyRuntime(_ id: Namespace) throws -> RuntimeDescriptor {
        guard let rt = active[id] ?? suspended[id] else { throw RegistryErrors.noSuchRuntime }
        return rt
    }

    public func allRuntimes() -> [RuntimeDescriptor] { ordered }
}

extension RuntimeDescriptor {
    /// oasis-core's consensus-level `VerifyRuntime`, in Go's order and with its errors.
    ///
    /// Go's first check (a nil descriptor: `registry: invalid argument: no runtime given`) has no
    /// counterpart: a `RuntimeDescriptor` is never nil.
    ///
    /// - Parameters:
    ///   - params: the registry consensus parameters in force.
    ///   - isGenesis: the descriptor comes from the genesis document.
    ///   - isSanityCheck: a genesis sanity check rather than a registration.
    ///   - debugDontBlameOasis: see ``validateBasic(strict:debugDontBlameOasis:)``.
    /// - Throws: a registry ``CodedError``, or the ``DescriptorError`` of
    ///   ``RuntimeGenesis/sanityCheck(isGenesis:)`` as it is.
    public func verifyRuntime(params: RegistryConsensusParameters, isGenesis: Bool, isSanityCheck: Bool,
                              debugDontBlameOasis: Bool = false) throws {
        do {
            try validateBasic(strict: !isGenesis && !isSanityCheck, debugDontBlameOasis: debugDontBlameOasis)
        } catch {
            throw RegistryErrors.invalidArgument.wrapping(error.message)
        }
        if id.isTest && !params.debugAllowTestRuntimes {
            throw RegistryErrors.invalidArgument.wrapping("test runtime not allowed")
        }
        try genesis.sanityCheck(isGenesis: isGenesis)

        if params.enabledRuntimeGovernanceModels.isEmpty {
            throw RegistryErrors.forbidden.wrapping("no runtime governance models are enabled")
        }
        if !params.enabledRuntimeGovernanceModels.contains(governanceModel) {
            throw RegistryErrors.forbidden.wrapping("runtime governance model is not enabled: \(governanceModel)")
        }

        if teeHardware.rawValue >= TEEHardware.reserved.rawValue {
            throw RegistryErrors.invalidArgument.wrapping("invalid TEE hardware")
        }
        if teeHardware == .intelSGX {
            let constraints: SGXConstraints
            do {
                constraints = try Self.decodeSGXConstraints(versions.tee)
            } catch {
                throw RegistryErrors.invalidArgument.wrapping("invalid SGX TEE constraints")
            }
            if (constraints.enclaves ?? []).isEmpty {
                throw RegistryErrors.noEnclaveForRuntime.wrapping("invalid SGX TEE constraints")
            }
        }

        if (admissionPolicy.anyNode == nil) == (admissionPolicy.entityWhitelist == nil) {
            throw RegistryErrors.invalidArgument.wrapping("invalid admission policy")
        }
        if governanceModel == .runtime && kind != .compute {
            throw RegistryErrors.invalidArgument.wrapping("runtime governance can only be used with compute runtimes")
        }
        if let whitelist = admissionPolicy.entityWhitelist {
            // Sorted, so that with several bad entries the same one is always reported.
            for (entity, config) in (whitelist.entities ?? [:]).sorted(by: { $0.key < $1.key }) {
                if !entity.isValidForRegistry {
                    throw RegistryErrors.invalidArgument.wrapping("invalid entity ID in entity whitelist")
                }
                if config.maxNodes.keys.contains(where: { !$0.isSingleRole }) {
                    throw RegistryErrors.invalidArgument.wrapping("non-single role in entity whitelist max nodes map")
                }
            }
        }
    }

    /// Go's `cbor.Unmarshal` into `sgx.Constraints`: `nil` input is a no-op (no enclaves),
    /// anything else must be one strict CBOR item, so an empty byte string fails.
    private static func decodeSGXConstraints(_ tee: [UInt8]?) throws -> SGXConstraints {
        guard let tee else { return SGXConstraints() }
        return try CBORDecoder().decode(SGXConstraints.self, from: tee)
    }

    /// oasis-core's `VerifyRegisterComputeRuntimeArgs`: a runtime that names a key manager must
    /// name a key manager runtime (active or suspended), and unless it is a test runtime it must
    /// itself run in SGX.
    ///
    /// - Throws: the lookup's error as it is, or ``RegistryErrors/invalidArgument``.
    public func verifyRegisterComputeRuntimeArgs(lookup: some RuntimeLookup) throws {
        guard let keyManager else { return }
        let km = try lookup.anyRuntime(keyManager)
        guard km.kind == .keyManager else { throw RegistryErrors.invalidArgument }
        if !id.isTest && teeHardware != .intelSGX {
            throw RegistryErrors.invalidArgument.wrapping("compute runtime without SGX using key manager")
        }
    }

    /// oasis-core's `VerifyRuntimeUpdate`: which changes a descriptor update may make.
    ///
    /// Refused with ``RegistryErrors/runtimeUpdateNotAllowed`` when the entity, ID, kind or
    /// genesis (``RuntimeGenesis/isEqual(to:)``) changes, when a key manager is removed or
    /// replaced, when the governance model changes other than from entity to runtime, or when
    /// the new model is runtime governance for a runtime that is not a compute runtime.
    public static func verifyRuntimeUpdate(current: RuntimeDescriptor, new: RuntimeDescriptor) throws(CodedError) {
        let notAllowed = RegistryErrors.runtimeUpdateNotAllowed
        guard current.entityID == new.entityID, current.id == new.id, current.kind == new.kind,
            current.genesis.isEqual(to: new.genesis)
        else { throw notAllowed }
        if let currentKM = current.keyManager, new.keyManager != currentKM { throw notAllowed }
        if current.governanceModel != new.governanceModel
            && !(current.governanceModel == .entity && new.governanceModel == .runtime)
        {
            throw notAllowed
        }
        if new.governanceModel == .runtime && new.kind != .compute { throw notAllowed }
    }

    /// oasis-core's `SanityCheckRuntimes` over a genesis document's runtimes.
    ///
    /// Every runtime, then every suspended one, must pass ``verifyRuntime(params:isGenesis:isSanityCheck:debugDontBlameOasis:)``
    /// as a sanity check (`runtime sanity check failed: <e>`); the IDs must be unique
    /// (``RuntimeLookupTable/init(runtimes:suspended:)``); and every compute runtime must pass
    /// ``verifyRegisterComputeRuntimeArgs(lookup:)`` against the lot
    /// (`compute runtime sanity check failed: <e>`).
    ///
    /// - Returns: the table of the runtimes, for further lookups.
    @discardableResult
    public static func sanityCheckRuntimes(
        _ runtimes: [RuntimeDescriptor], suspended: [RuntimeDescriptor], params: RegistryConsensusParameters,
        isGenesis: Bool, debugDontBlameOasis: Bool = false
    ) throws -> RuntimeLookupTable {
        for rt in runtimes + suspended {
            do {
                try rt.verifyRuntime(
                    params: params, isGenesis: isGenesis, isSanityCheck: true, debugDontBlameOasis: debugDontBlameOasis)
            } catch {
                throw DescriptorError("runtime sanity check failed", wrapping: error)
            }
        }
        let table = try RuntimeLookupTable(runtimes: runtimes, suspended: suspended)
        for rt in runtimes + suspended where rt.kind == .compute {
            do {
                try rt.verifyRegisterComputeRuntimeArgs(lookup: table)
            } catch {
                throw DescriptorError("compute runtime sanity check failed", wrapping: error)
            }
        }
        return table
    }
}
