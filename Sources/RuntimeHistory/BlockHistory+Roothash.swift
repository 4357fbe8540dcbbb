public import ConsensusAPI

// Every history can be tracked by a consensus backend: roothash commits into it.
extension RuntimeHistory: RoothashHistory {
    /// Commits consensus's rounds as one batch (``commit(_:)-([HistoryCommit])``).
    public func commit(rounds: [FinalizedRound]) async throws {
        try await commit(rounds.map { HistoryCommit(block: $0.block, roundResults: $0.roundResults) })
    }
}

extension NopHistory: RoothashHistory {
    /// Fails like every other write of the nop history.
    public func commit(rounds: [FinalizedRound]) async throws {
        throw HistoryError.notSupported
    }
}
