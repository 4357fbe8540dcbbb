// `import RuntimeRegistry` gives access to every public module of the package.
@_exported public import OasisCBOR
@_exported public import OasisCommon
@_exported public import ConsensusAPI
@_exported public import RuntimeStorage
@_exported public import RuntimeStorageSQLite
@_exported public import RuntimeHistory
@_exported public import RuntimeLocalStorage
@_exported public import RuntimeTagIndexer
@_exported public import RuntimeHostProtocol
@_exported public import LocalConsensus
@_exported public import RuntimeHost
