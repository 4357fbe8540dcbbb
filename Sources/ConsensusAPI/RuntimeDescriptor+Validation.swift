extension RuntimeDescriptor {
    /// oasis-core's `Runtime.ValidateBasic`: the descriptor's own consistency, checked in Go's
    /// order (version, kind-specific rules, staking, governance model) with Go's messages.
    ///
    /// - Parameters:
    ///   - strict: require exactly ``latestVersion`` rather than the accepted range. Consensus
    ///     uses strict checks for new registrations and relaxed ones at genesis and in sanity
    ///     checks.
    ///   - debugDontBlameOasis: the node's `debug.dont_blame_oasis` flag, which skips the storage
    ///     checkpoint checks (see ``StorageParameters/validateBasic(debugDontBlameOasis:)``).
    public func validateBasic(strict: Bool, debugDontBlameOasis: Bool = false) throws(DescriptorError) {
        if strict {
            guard descriptorVersion == Self.latestVersion else {
                throw DescriptorError(
                    "invalid runtime descriptor version (expected: \(Self.latestVersion) got: \(descriptorVersion))")
            }
        } else {
            guard (Self.minimumVersion...Self.maximumVersion).contains(descriptorVersion) else {
                throw DescriptorError(
                    "invalid runtime descriptor version (min: \(Self.minimumVersion) max: \(Self.maximumVersion))")
            }
        }

        switch kind {
        case .compute:
            if id.isKeyManager { throw DescriptorError("compute runtime ID has the key manager flag set") }
            if keyManager == id { throw DescriptorError("compute runtime has self as key manager") }
            do {
                try executor.validateBasic()
            } catch {
                throw DescriptorError("bad executor parameters", wrapping: error)
            }
            do {
                try txnScheduler.validateBasic()
            } catch {
                throw DescriptorError("bad txn scheduler parameters", wrapping: error)
            }
            do {
                try storage.validateBasic(debugDontBlameOasis: debugDontBlameOasis)
            } catch {
                throw DescriptorError("bad storage parameters", wrapping: error)
            }
        case .keyManager:
            if !id.isKeyManager {
                throw DescriptorError("key manager runtime ID does not have the key manager flag set")
            }
            if keyManager != nil { throw DescriptorError("key manager runtime cannot itself have a key manager") }
            // The key manager implementation assumes SGX; only test runtimes may do without.
            if !id.isTest && teeHardware != .intelSGX { throw DescriptorError("non-SGX keymanager runtime") }
        default:
            throw DescriptorError("bad runtime kind: \(kind)")
        }

        do {
            try staking.validateBasic(runtimeKind: kind)
        } catch {
            throw DescriptorError("bad staking parameters", wrapping: error)
        }

        guard governanceModel >= .entity && governanceModel <= .highest else {
            throw DescriptorError("runtime: unsupported governance model: out of range")
        }
    }
}
