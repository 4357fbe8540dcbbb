import Foundation
import OasisCBOR
import OasisCommon
import Testing

@Suite("Hash, Version, Quantity and friends")
struct CommonTypesTests {
    @Test("SHA-512/256 matches FIPS 180-4 and the empty hash is not the zero hash")
    func hashes() throws {
        #expect(Hash.digest(Array("abc".utf8)).description == "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23")
        #expect(Hash.empty.description == "c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a")
        #expect(Hash.empty.isEmpty && !Hash.zero.isEmpty)
        #expect(Hash.digest(parts: [Array("a".utf8), Array("bc".utf8)]) == Hash.digest(Array("abc".utf8)))
        #expect(try Hash(hex: Hash.empty.description.uppercased()) == .empty)
        #expect(throws: HashError.malformed) { try Hash(bytes: [1, 2]) }
        let json = try JSONEncoder().encode([Hash.empty])
        #expect(String(decoding: json, as: UTF8.self) == "[\"\(Hash.empty.base64)\"]")
        #expect(try JSONDecoder().decode([Hash].self, from: json) == [Hash.empty])
    }

    @Test("versions pack into u64 and unpack with the 8-bit quirk (70)")
    func versionPacking() throws {
        #expect(Version(major: 1, minor: 2, patch: 3).packed == 4_295_098_371)
        #expect(Version(major: 4).packed == 17_179_869_184)
        #expect(Version(packed: Version(major: 1, minor: 300, patch: 2).packed) == Version(major: 1, minor: 44, patch: 2))
        #expect(throws: VersionError.zero) { try Version().validateBasic() }
        #expect("\(VersionError.zero)" == "invalid version: 0.0.0")
        #expect(Version.runtimeHostProtocol.packed == 8_589_934_592)
        #expect(Version(major: 2, minor: 9).isCompatible(with: .runtimeHostProtocol))
        #expect(try Version(parsing: "1.2.3") == Version(major: 1, minor: 2, patch: 3))
    }

    @Test("versions encode with zero components left out (71)")
    func versionCBOR() throws {
        #expect(Hex.encode(try CBOREncoder().encode(Version())) == "a0")
        #expect(Hex.encode(try CBOREncoder().encode(Version(major: 1, minor: 2, patch: 3)))
            == "a3656d616a6f7201656d696e6f720265706174636803")
        #expect(try CBORDecoder().decode(Version.self, from: [0xa0]) == Version())
    }

    @Test("quantities are big-endian magnitudes in CBOR and decimal strings in JSON")
    func quantities() throws {
        #expect(try CBOREncoder().encode(Quantity.zero) == [0x40])
        #expect(try CBOREncoder().encode(Quantity(256)) == [0x42, 0x01, 0x00])
        let big = try Quantity(decimal: "340282366920938463463374607431768211456")  // 2^128
        #expect(big.magnitude == [1] + [UInt8](repeating: 0, count: 16))
        #expect(big.description == "340282366920938463463374607431768211456")
        #expect(try CBORDecoder().decode(Quantity.self, from: try CBOREncoder().encode(big)) == big)
        #expect(throws: (any Error).self) { try CBORDecoder().decode(Quantity.self, from: [0x42, 0x00, 0x01]) }
        #expect(throws: QuantityError.self) { try Quantity(decimal: "-5") }
        let json = try JSONEncoder().encode([Quantity(1_000_000)])
        #expect(String(decoding: json, as: UTF8.self) == "[\"1000000\"]")
        #expect(Quantity(5) > Quantity(4) && Quantity(256) > Quantity(255))
    }

    @Test("quantity JSON reads as Go's big.Int text does: base prefixes, a bare 0 for octal, _ separators")
    func quantityGoText() throws {
        func read(_ text: String) -> Quantity? {
            let json = Data(#"[""#.utf8) + Data(text.utf8) + Data(#""]"#.utf8)
            return try? JSONDecoder().decode([Quantity].self, from: json).first
        }
        #expect(read("1000") == Quantity(1000))
        #expect(read("010") == Quantity(8))
        #expect(read("0x3e8") == Quantity(1000))
        #expect(read("0X3E8") == Quantity(1000))
        #expect(read("0o17") == Quantity(15))
        #expect(read("0b101") == Quantity(5))
        #expect(read("1_000") == Quantity(1000))
        #expect(read("0_1") == Quantity(1))
        #expect(read("0x_ff") == Quantity(255))
        #expect(read("+5") == Quantity(5))
        #expect(read("0") == .zero)
        #expect(read("00") == .zero)
        #expect(read("-0") == .zero)
        #expect(read("0x1000000000000000000000000000000000") == (try Quantity(decimal: "5444517870735015415413993718908291383296")))
        for bad in ["", "+", "-5", "08", "0b2", "0x", "0xg", "1__0", "_1", "1_", " 1", "1 ", "1.0", "1e3", "--1"] {
            #expect(read(bad) == nil, "\(bad)")
        }
        // Written back, a quantity is always decimal.
        #expect(String(decoding: try JSONEncoder().encode([read("010")]), as: UTF8.self) == #"["8"]"#)
    }

    @Test("TEE hardware parses case-insensitively (65)")
    func teeHardware() throws {
        #expect(try TEEHardware(string: "") == .invalid)
        #expect(try TEEHardware(string: "INTEL-SGX") == .intelSGX)
        #expect(throws: TEEHardwareError.self) { try TEEHardware(string: "sgx") }
        #expect("\(TEEHardwareError.invalid("sgx"))" == "node: invalid TEE implementation")
        #expect(TEEHardware(rawValue: 7).description == "[unsupported TEEHardware]")
    }

    @Test("malformed keys and signatures carry the messages of Go's signature package")
    func keyErrors() {
        #expect(throws: KeyError.malformedPublicKey) { try PublicKey(bytes: [1, 2, 3]) }
        #expect("\(KeyError.malformedPublicKey)" == "signature: malformed public key")
        #expect("\(KeyError.malformedSignature)" == "signature: malformed signature")
    }

    @Test("base64 is strict: padding required, no stray bits")
    func base64() {
        #expect(Base64.encode([]) == "")
        #expect(Base64.encode(Array("f".utf8)) == "Zg==")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.decode("Zm9v") == Array("foo".utf8))
        #expect(Base64.decode("Zg") == nil)
        #expect(Base64.decode("Zh==") == nil)
        #expect(Base64.decode("Z===") == nil)
    }

    @Test("coded errors match by module and code and wrap with context")
    func codedErrors() {
        let base = CodedError.register(module: "test/common", code: 1, message: "test: invalid argument")
        let wrapped = base.wrapping("no runtime given")
        #expect(wrapped.description == "test: invalid argument: no runtime given")
        #expect(wrapped.matches(base))
        #expect(CodedError.registered(module: "test/common", code: 1) == base)
        #expect(CodedError.register(module: "test/common", code: 1, message: "other") == base)
    }
}

@Suite("Broadcaster and ManualClock")
struct ConcurrencyToolsTests {
    @Test("a replaying broadcaster gives new subscribers the latest value, then every later one in order")
    func replayLast() async {
        let broadcaster = Broadcaster<Int>(replayLast: true)
        broadcaster.publish(1)
        broadcaster.publish(2)
        let stream = broadcaster.subscribe()
        broadcaster.publish(3)
        broadcaster.finish()
        var seen: [Int] = []
        for await value in stream { seen.append(value) }
        #expect(seen == [2, 3])
    }

    @Test("a subscription ends when its consumer stops")
    func unsubscribe() async {
        let broadcaster = Broadcaster<Int>(replayLast: false)
        do {
            let stream = broadcaster.subscribe()
            #expect(broadcaster.subscriberCount == 1)
            broadcaster.publish(1)
            for await _ in stream { break }
        }
        // The stream was dropped and the iterator ended: the subscriber is gone.
        broadcaster.publish(2)
        #expect(broadcaster.subscriberCount == 0)
    }

    @Test("sleepers wake only when the manual clock reaches their deadline")
    func manualClock() async throws {
        let clock = ManualClock()
        let woke = Broadcaster<Int>(replayLast: true)
        let events = woke.subscribe()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await clock.sleep(for: .seconds(10))
                woke.publish(10)
            }
            group.addTask {
                try await clock.sleep(for: .seconds(5))
                woke.publish(5)
            }
            await clock.waitForSleepers(count: 2)
            clock.advance(by: .seconds(4))
            #expect(clock.sleepers == 2)
            clock.advance(by: .seconds(1))
            var iterator = events.makeAsyncIterator()
            #expect(await iterator.next() == 5)
            #expect(clock.sleepers == 1)
            clock.advance(by: .seconds(5))
            #expect(await iterator.next() == 10)
            try await group.waitForAll()
        }
    }

    @Test("a latch releases current and later waiters once opened, and only the first open counts")
    func latchOpens() async throws {
        let latch = Latch()
        let waiter = Task { try await latch.wait() }
        #expect(!latch.isOpen)
        #expect(latch.open())
        #expect(!latch.open())
        try await waiter.value
        #expect(await latch.waitUnlessCancelled())
    }

    @Test("a cancelled latch waiter returns false or throws, and the latch stays closed")
    func latchCancellation() async {
        let latch = Latch()
        let quiet = Task { await latch.waitUnlessCancelled() }
        let throwing = Task { try await latch.wait() }
        quiet.cancel()
        throwing.cancel()
        #expect(await quiet.value == false)
        await #expect(throws: CancellationError.self) { try await throwing.value }
        #expect(!latch.isOpen)
    }

    @Test("a waiter that ignores cancellation returns only once the latch opens, even when its task is cancelled")
    func latchIgnoresCancellation() async {
        let latch = Latch()
        let waiter = Task {
            await latch.waitIgnoringCancellation()
            return latch.isOpen
        }
        waiter.cancel()
        // Bounded: the waiter registers however slow the machine is.
        let clock = ContinuousClock()
        let end = clock.now + .seconds(120)
        while latch.waiterCount == 0, clock.now < end { await Task.yield() }
        // Cancelled, and still waiting.
        #expect(latch.waiterCount == 1)
        latch.open()
        #expect(await waiter.value)
        // Already open: returns at once, cancelled or not.
        let late = Task { await latch.waitIgnoringCancellation() }
        late.cancel()
        await late.value
    }

    @Test("cancelling a sleeper ends its sleep with CancellationError")
    func cancelSleep() async {
        let clock = ManualClock()
        let task = Task { try await clock.sleep(for: .seconds(60)) }
        await clock.waitForSleepers()
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(clock.sleepers == 0)
    }
}
