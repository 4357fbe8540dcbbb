public import Logging
public import OasisCommon

/// Which tag index a runtime gets (`runtime.history.tag_indexer.backend`).
public enum TagIndexBackendKind: Sendable, Hashable {
    /// `""`: no index; queries fail with `tag indexer is disabled`.
    case disabled
    /// `sqlite`: ``SQLiteTagIndexBackend`` in `tag-index.sqlite`.
    case sqlite

    /// Parses the configuration value, case-insensitively. `bleve`, what existing oasis
    /// configurations say, is accepted as `sqlite` with a warning.
    public init(configName name: String, logger: Logger) throws(TagIndexerError) {
        switch name.lowercased() {
        case "":
            self = .disabled
        case "sqlite":
            self = .sqlite
        case "bleve":
            logger.warning(
                "runtime.history.tag_indexer.backend \"bleve\" is not available; using \"sqlite\" instead (set it to \"sqlite\" to silence this warning)")
            self = .sqlite
        default:
            throw .unknownBackend(name)
        }
    }

    /// Opens the backend for `runtimeID` in its state directory.
    public func open(directory: String, runtimeID: Namespace, logger: Logger) throws -> any TagIndexBackend {
        switch self {
        case .disabled: DisabledTagIndexBackend()
        case .sqlite: try SQLiteTagIndexBackend(directory: directory, runtimeID: runtimeID, logger: logger)
        }
    }
}
