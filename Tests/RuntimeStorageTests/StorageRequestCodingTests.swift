import ConsensusAPI
import OasisCBOR
import OasisCommon
import RuntimeStorage
import Testing

@Suite("Storage request encoding")
struct StorageRequestCodingTests {
    func keys(_ bytes: [UInt8]) throws -> Set<String> {
        guard case .map(let entries) = try CBORValue(decoding: bytes) else { return [] }
        return Set(entries.compactMap { if case .textString(let key) = $0.key { key } else { nil } })
    }

    @Test("apply and apply-batch requests use the v21.1 field names and round-trip through CBOR")
    func applyRequests() throws {
        let log: WriteLog = [WriteLogEntry(key: bytes("k"), value: bytes("v"))]
        let apply = ApplyRequest(namespace: runtimeA, rootType: .state, srcRound: 1, srcRoot: .empty,
                                 dstRound: 2, dstRoot: Hash.digest(bytes("x")), writeLog: log)
        let encoded = try CBOREncoder().encode(apply)
        #expect(try keys(encoded) == ["namespace", "root_type", "src_round", "src_root", "dst_round", "dst_root", "writelog"])
        #expect(try CBORDecoder().decode(ApplyRequest.self, from: encoded) == apply)

        let batch = ApplyBatchRequest(namespace: runtimeA, dstRound: 2, ops: [
            ApplyOp(rootType: .io, srcRound: 2, srcRoot: .empty, dstRoot: .empty, writeLog: log),
        ])
        let batchBytes = try CBOREncoder().encode(batch)
        #expect(try keys(batchBytes) == ["namespace", "dst_round", "ops"])
        #expect(try CBORDecoder().decode(ApplyBatchRequest.self, from: batchBytes) == batch)
    }

    @Test("diff and checkpoint requests use the v21.1 field names and round-trip through CBOR")
    func otherRequests() throws {
        let root = StorageRoot(namespace: runtimeA, version: 3, type: .io, hash: .empty)
        let diff = GetDiffRequest(startRoot: root, endRoot: root, options: GetDiffOptions(offsetKey: [1], limit: 10))
        let diffBytes = try CBOREncoder().encode(diff)
        #expect(try keys(diffBytes) == ["start_root", "end_root", "options"])
        #expect(try CBORDecoder().decode(GetDiffRequest.self, from: diffBytes) == diff)

        let checkpoints = GetCheckpointsRequest(version: 1, namespace: runtimeA)
        let checkpointBytes = try CBOREncoder().encode(checkpoints)
        #expect(try keys(checkpointBytes) == ["version", "namespace"])
        #expect(try CBORDecoder().decode(GetCheckpointsRequest.self, from: checkpointBytes) == checkpoints)
        let rooted = GetCheckpointsRequest(version: 1, namespace: runtimeA, rootVersion: 7)
        #expect(try CBORDecoder().decode(GetCheckpointsRequest.self, from: CBOREncoder().encode(rooted)) == rooted)

        let chunk = ChunkMetadata(root: root, index: 4, digest: .empty)
        #expect(try CBORDecoder().decode(ChunkMetadata.self, from: CBOREncoder().encode(chunk)) == chunk)
    }
}
