public import ConsensusAPI
import Foundation
import OasisCBOR
import OasisCommon
import RuntimeRegistry
import Synchronization

/// The control API's routes (HTTP/1.1 + JSON on `<datadir>/internal.sock`):
///
/// | Route | Answer |
/// |---|---|
/// | `GET /v1/status` | ``NodeStatus`` |
/// | `GET /v1/runtimes` | `[RuntimeStatus]` |
/// | `GET /v1/runtimes/{id}` | ``RuntimeDetail`` (descriptors in oasis JSON form, executor figures) |
/// | `GET /v1/runtimes/{id}/block[?round=N]` | ``BlockAnswer``: a history block, the latest without `round` |
/// | `POST /v1/runtimes/{id}/tx` `{"method","args"}` | ``SubmitResult`` once the block is committed |
/// | `POST /v1/runtimes/{id}/query` `{"method","args"}` | `{"result": …}` at the latest block |
/// | `GET /v1/runtimes/{id}/tags?key=K&value=V` | ``TagSearchAnswer``: transactions that emitted the tag |
/// | `GET /metrics` | Prometheus text |
///
/// Errors are `{"error": "…"}` with 400 (bad request), 404 (unknown runtime, route or round),
/// 409 (runtime not hosted or not a compute runtime), 422 (transaction rejected by check-tx),
/// 503 (shutting down) or 500.
final class ControlRoutes: Sendable {
    private let node = Mutex<RuntimeNode?>(nil)

    func attach(_ node: RuntimeNode) {
        self.node.withLock { $0 = node }
    }

    func handle(_ request: ControlRequest) async -> ControlResponse {
        guard let node = node.withLock({ $0 }) else { return .error(status: 503, "the node is starting") }
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        do {
            let route = Route(parts)
            switch (request.method, route) {
            case ("GET", .metrics):
                guard let metrics = node.metrics else { return .error(status: 404, "metrics are not enabled") }
                return ControlResponse(
                    status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics.exposition())
            case ("GET", .status):
                return .json(await node.status())
            case ("GET", .runtimes):
                var rows: [RuntimeStatus] = []
                for runtime in node.registry.runtimes() { rows.append(await node.status(of: runtime)) }
                return .json(rows)
            case ("GET", .runtime(let id)):
                return .json(try await detail(node, try runtime(node, id)))
            case ("GET", .block(let id)):
                return try await block(node, try runtime(node, id), round: request.query["round"])
            case ("POST", .transaction(let id)):
                let call = try CallRequest.decode(request.body)
                let executor = try self.executor(node, try runtime(node, id))
                let transaction = try CBOREncoder().encode(call.transaction)
                return .json(try await executor.submit(transaction))
            case ("POST", .query(let id)):
                let call = try CallRequest.decode(request.body)
                let executor = try self.executor(node, try runtime(node, id))
                let result = try await executor.query(method: call.method, arguments: call.args?.cbor ?? .null)
                return .json(["result": JSONValue(result)])
            case ("GET", .tags(let id)):
                return try await tags(try runtime(node, id), query: request.query)
            case (_, .unknown):
                return .error(status: 404, "no such route: \(request.method) \(request.path)")
            default:
                return .error(status: 405, "\(request.method) is not allowed on \(request.path)")
            }
        } catch let error as RouteError {
            return .error(status: error.status, error.message)
        } catch let error as ExecutorError {
            switch error {
            case .checkTxFailed: return .error(status: 422, "\(error)")
            case .stopped: return .error(status: 503, "\(error)")
            case .queueFull: return .error(status: 503, "\(error)")
            case .batchFailed: return .error(status: 500, "\(error)")
            }
        } catch {
            return .error(status: 500, "\(error)")
        }
    }

    private func runtime(_ node: RuntimeNode, _ idText: String) throws(RouteError) -> Runtime {
        let id: Namespace
        do {
            id = try Namespace(hex: idText)
        } catch {
            throw RouteError(400, "malformed runtime ID '\(idText)': \(error)")
        }
        do {
            return try node.registry.runtime(id)
        } catch {
            throw RouteError(404, "\(error)")
        }
    }

    private func executor(_ node: RuntimeNode, _ runtime: Runtime) throws(RouteError) -> LocalnetExecutor {
        guard runtime.hasHost else { throw RouteError(409, "runtime \(runtime.id) is not hosted by this node") }
        guard let entry = node.hosting.entry(runtime.id) else {
            if let failure = node.hosting.failure(runtime.id) {
                throw RouteError(409, "runtime \(runtime.id) could not be hosted: \(failure)")
            }
            throw RouteError(503, "runtime \(runtime.id) is still being provisioned; try again shortly")
        }
        guard let executor = entry.executor else {
            throw RouteError(409, "runtime \(runtime.id) is not a compute runtime, so it takes no transactions")
        }
        return executor
    }

    private func detail(_ node: RuntimeNode, _ runtime: Runtime) async throws -> RuntimeDetail {
        RuntimeDetail(
            status: await node.status(of: runtime), registryDescriptor: try? node.consensus.registryDescriptor(id: runtime.id),
            activeDescriptor: try? await node.consensus.runtimeState(id: runtime.id, height: 0).runtime,
            executor: node.hosting.entry(runtime.id)?.executor?.statistics)
    }

    private func block(_ node: RuntimeNode, _ runtime: Runtime, round text: String?) async throws -> ControlResponse {
        guard let history = runtime.history else { throw RouteError(404, "runtime \(runtime.id) keeps no history") }
        let annotated: AnnotatedBlock
        if let text {
            guard let round = UInt64(text) else { throw RouteError(400, "malformed round '\(text)': want a whole number") }
            do {
                annotated = try await history.annotatedBlock(round: round)
            } catch where RoothashErrors.notFound.matches(error) {
                throw RouteError(404, "round \(round) of runtime \(runtime.id) is not in the history")
            }
        } else {
            do {
                annotated = try await history.latestAnnotatedBlock()
            } catch where RoothashErrors.notFound.matches(error) {
                throw RouteError(404, "runtime \(runtime.id) has no blocks yet")
            }
        }
        guard let block = annotated.block else { throw RouteError(404, "the history holds no block there") }
        return .json(BlockAnswer(
            consensusHeight: annotated.consensusHeight, hash: "\(block.header.encodedHash())", header: block.header))
    }

    private func tags(_ runtime: Runtime, query: [String: String]) async throws -> ControlResponse {
        guard let key = query["key"], let value = query["value"] else {
            throw RouteError(400, "a tag search needs both 'key' and 'value'")
        }
        guard let indexer = runtime.tagIndexer else { throw RouteError(404, "runtime \(runtime.id) has no tag index") }
        let hits: [UInt64: [TagQueryResult]]
        do {
            hits = try await indexer.queries.queryTxns(TagQuery(
                conditions: [TagQueryCondition(key: Array(key.utf8), values: [Array(value.utf8)])]))
        } catch TagIndexerError.disabled {
            // The node was configured without an index: the client asked for something that is
            // not there, which is no server failure.
            throw RouteError(
                404, "runtime \(runtime.id) has no tag index (runtime.history.tag_indexer.backend is not set)")
        }
        let rows = hits.sorted { $0.key < $1.key }.flatMap { round, results in
            results.map { TagSearchAnswer.Hit(round: round, txHash: "\($0.txHash)", txIndex: $0.txIndex) }
        }
        return .json(TagSearchAnswer(transactions: rows))
    }
}

/// The routes, from the path's segments.
enum Route: Equatable {
    case metrics, status, runtimes
    case runtime(String), block(String), transaction(String), query(String), tags(String)
    case unknown

    init(_ parts: [String]) {
        switch parts.count {
        case 1 where parts[0] == "metrics": self = .metrics
        case 2 where parts == ["v1", "status"]: self = .status
        case 2 where parts == ["v1", "runtimes"]: self = .runtimes
        case 3 where parts[0] == "v1" && parts[1] == "runtimes": self = .runtime(parts[2])
        case 4 where parts[0] == "v1" && parts[1] == "runtimes":
            switch parts[3] {
            case "block": self = .block(parts[2])
            case "tx": self = .transaction(parts[2])
            case "query": self = .query(parts[2])
            case "tags": self = .tags(parts[2])
            default: self = .unknown
            }
        default: self = .unknown
        }
    }
}

/// A route's refusal: status and message.
struct RouteError: Error {
    let status: Int
    let message: String
    init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// The body of a transaction or query: `{"method": "insert", "args": {"key": "a", "value": "1"}}`.
struct CallRequest: Codable {
    var method: String
    var args: JSONValue?

    static func decode(_ body: [UInt8]) throws(RouteError) -> CallRequest {
        do {
            let call = try JSONDecoder().decode(CallRequest.self, from: Data(body))
            guard !call.method.isEmpty else { throw RouteError(400, "'method' must not be empty") }
            return call
        } catch let error as RouteError {
            throw error
        } catch {
            throw RouteError(400, "the body must be JSON {\"method\": NAME, \"args\": …}: \(error)")
        }
    }

    /// The transaction a runtime receives: canonical CBOR `{"args": …, "method": …}`.
    var transaction: CBORValue {
        .map([
            CBORMapEntry(key: .textString("args"), value: args?.cbor ?? .null),
            CBORMapEntry(key: .textString("method"), value: .textString(method)),
        ])
    }
}

/// `GET /v1/runtimes/{id}/block`.
public struct BlockAnswer: Sendable, Codable {
    /// The consensus height the block was finalized at.
    public var consensusHeight: Int64
    /// The header's hash (hex).
    public var hash: String
    /// The header, with oasis-core's JSON field names.
    public var header: BlockHeader

    enum CodingKeys: String, CodingKey {
        case consensusHeight = "consensus_height"
        case hash, header
    }
}

/// `GET /v1/runtimes/{id}/tags`.
public struct TagSearchAnswer: Sendable, Codable {
    /// One transaction that emitted the tag.
    public struct Hit: Sendable, Codable {
        public var round: UInt64
        public var txHash: String
        public var txIndex: UInt32

        enum CodingKeys: String, CodingKey {
            case round
            case txHash = "tx_hash"
            case txIndex = "tx_index"
        }
    }

    /// The hits, by round then index.
    public var transactions: [Hit]
}
