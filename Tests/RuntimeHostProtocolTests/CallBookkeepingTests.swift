import NIOCore
import NIOEmbedded
import Testing

@testable import RuntimeHostProtocol

/// The connection's bookkeeping for calls in flight: the pending table and the outbox's flush
/// rule.
@Suite("RHP call bookkeeping")
struct CallBookkeepingTests {
    // MARK: Pending table

    @Test("the pending table finds, replaces and removes calls by id")
    func pendingTableBasics() {
        var table = PendingTable<String>(ringSize: 4)
        #expect(table[0] == nil)
        table[0] = "a"
        table[1] = "b"
        #expect(table.count == 2)
        #expect(table[0] == "a" && table[1] == "b")
        table[0] = "a2"
        #expect(table.count == 2 && table[0] == "a2")
        #expect(table.removeValue(for: 0) == "a2")
        #expect(table.removeValue(for: 0) == nil)
        table[1] = nil
        #expect(table.count == 0 && table[1] == nil)
        // An id that shares a slot with no call there is simply absent.
        #expect(table[5] == nil)
    }

    @Test("a call still in flight when its slot comes round again is kept, and so is the new one")
    func pendingTableOverflow() {
        var table = PendingTable<UInt64>(ringSize: 4)
        table[0] = 0  // a long call
        for id in UInt64(1)...20 {  // many short ones, each ending before the next
            table[id] = id
            #expect(table[0] == 0)
            table[id] = nil
        }
        #expect(table.count == 1)
        // Several long calls on the same slot, all kept.
        table[4] = 4
        table[8] = 8
        table[12] = 12
        #expect(table.count == 4)
        #expect([0, 4, 8, 12].allSatisfy { table[$0] == $0 })
        #expect(Set(table.all.map(\.id)) == [0, 4, 8, 12])
        #expect(table.removeValue(for: 4) == 4)
        #expect(table.removeValue(for: 12) == 12)
        #expect(table.count == 2)
        #expect(Set(table.all.map(\.value)) == [0, 8])
        table[8] = 80
        #expect(table[8] == 80 && table.count == 2)
    }

    @Test("the pending table agrees with a dictionary over a long mixed history")
    func pendingTableMatchesDictionary() {
        var table = PendingTable<UInt64>(ringSize: 8)
        var reference: [UInt64: UInt64] = [:]
        var generator = SystemRandomNumberGenerator()
        var next: UInt64 = 0
        var used = UsedIDs()
        for _ in 0..<5_000 {
            if reference.isEmpty || Int.random(in: 0..<3, using: &generator) > 0 {
                var id = next
                // Ids mostly in order, some a few places early (callers on several threads).
                if Int.random(in: 0..<4, using: &generator) == 0 { id += UInt64.random(in: 1...20, using: &generator) }
                id = used.firstUnused(from: id)
                table[id] = id * 3
                reference[id] = id * 3
                used.mark(id)
                while used.contains(next) { next += 1 }
            } else {
                let id = reference.keys.randomElement(using: &generator)!
                #expect(table.removeValue(for: id) == reference.removeValue(forKey: id))
            }
            #expect(table.count == reference.count)
        }
        for id in 0..<(next + 32) { #expect(table[id] == reference[id]) }
        #expect(Dictionary(uniqueKeysWithValues: table.all.map { ($0.id, $0.value) }) == reference)
    }

    /// The ids handed out so far (each is used once).
    struct UsedIDs {
        private var ids: Set<UInt64> = []
        func contains(_ id: UInt64) -> Bool { ids.contains(id) }
        mutating func mark(_ id: UInt64) { ids.insert(id) }
        /// The first id from `start` on that is not used yet.
        func firstUnused(from start: UInt64) -> UInt64 {
            var id = start
            while ids.contains(id) { id += 1 }
            return id
        }
    }

    // MARK: Outbox

    /// A loop state on an embedded channel, and a way to read what it wrote.
    static func embedded() throws -> (LoopState, EmbeddedChannel) {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (LoopState(channel: channel), channel)
    }

    /// The writes that reached the socket so far, each as the number of frames in it.
    static func writes(_ channel: EmbeddedChannel) throws -> [Int] {
        var writes: [Int] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            var frames = 0
            while let length = buffer.readInteger(as: UInt32.self) {
                buffer.moveReaderIndex(forwardBy: Int(length))
                frames += 1
            }
            writes.append(frames)
        }
        return writes
    }

    static func ping(_ id: UInt64) throws -> ByteBuffer {
        try Frame.encode(Message(id: id, type: .request, body: .runtimePingRequest), allocator: ByteBufferAllocator())
    }

    @Test("a lone call leaves at once")
    func loneCallFlushedAtOnce() throws {
        let (state, channel) = try Self.embedded()
        state.send(try Self.ping(0), call: 0, inFlight: 1)
        #expect(try Self.writes(channel) == [1])
        _ = try state.appendRequest(call: 1, inFlight: 1) { buffer throws(FrameError) in
            try Frame.write(Message(id: 1, type: .request, body: .runtimePingRequest), into: &buffer)
        }
        #expect(try Self.writes(channel) == [1])
    }

    @Test("requests of calls in flight leave together once the outbox holds half of them, the rest after the turn")
    func burstFlushedAtHalf() throws {
        let (state, channel) = try Self.embedded()
        // Eight calls in flight, written one after another in one turn of the loop.
        for id in UInt64(0)..<3 {
            state.send(try Self.ping(id), call: id, inFlight: 8)
            #expect(try Self.writes(channel) == [], "request \(id) of 8 went out early")
        }
        _ = try state.appendRequest(call: 3, inFlight: 8) { buffer throws(FrameError) in
            try Frame.write(Message(id: 3, type: .request, body: .runtimePingRequest), into: &buffer)
        }
        #expect(try Self.writes(channel) == [4], "the first half leaves in one write")
        for id in UInt64(4)..<7 {
            state.send(try Self.ping(id), call: id, inFlight: 8)
        }
        #expect(try Self.writes(channel) == [])
        channel.embeddedEventLoop.run()  // the end of the turn
        #expect(try Self.writes(channel) == [3])
    }
}
