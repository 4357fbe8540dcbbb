public import ConsensusAPI

/// An ordered list of changes to a tree. Each entry (``ConsensusAPI/WriteLogEntry``) sets a key
/// to a value; on the wire an entry is the 2-element array `[key bytes, value bytes]`.
public typealias WriteLog = [WriteLogEntry]
