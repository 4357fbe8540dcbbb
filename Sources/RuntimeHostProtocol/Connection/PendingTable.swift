/// The calls in flight, by request id.
///
/// Ids are handed out in increasing order (callers on several threads may add them slightly
/// out of order) and most calls end soon, so the table is a ring of slots indexed by the id's
/// low bits: finding, adding and removing a call are an index and a comparison, with no
/// hashing. A call that finds its slot taken (a long call among many short ones) moves the
/// other call to a dictionary, so any number of calls fit, in any order, and none is lost.
struct PendingTable<Value> {
    private struct Slot {
        var id: UInt64
        var value: Value?
    }

    /// Power of two.
    private var slots: ContiguousArray<Slot>
    private var overflow: [UInt64: Value] = [:]
    /// How many calls are in the table.
    private(set) var count = 0

    /// A table whose ring has `ringSize` slots (rounded up to a power of two).
    init(ringSize: Int = 256) {
        var size = 1
        while size < ringSize { size <<= 1 }
        slots = ContiguousArray(repeating: Slot(id: 0, value: nil), count: size)
    }

    private func index(of id: UInt64) -> Int {
        Int(truncatingIfNeeded: id) & (slots.count - 1)
    }

    /// The call with this id, if it is in the table. Setting `nil` removes it; setting a value
    /// adds or replaces it.
    subscript(id: UInt64) -> Value? {
        get {
            let slot = slots[index(of: id)]
            if slot.id == id, let value = slot.value { return value }
            return overflow.isEmpty ? nil : overflow[id]
        }
        set {
            if let newValue {
                insert(newValue, for: id)
            } else {
                removeValue(for: id)
            }
        }
    }

    private mutating func insert(_ value: Value, for id: UInt64) {
        let index = index(of: id)
        if slots[index].id == id, slots[index].value != nil {
            slots[index].value = value
            return
        }
        if !overflow.isEmpty, overflow[id] != nil {
            overflow[id] = value
            return
        }
        count += 1
        if let older = slots[index].value {
            // Another call (usually a long, older one) holds the slot: it moves aside.
            overflow[slots[index].id] = older
        }
        slots[index] = Slot(id: id, value: value)
    }

    /// Removes the call with this id and returns it, if it was in the table.
    @discardableResult
    mutating func removeValue(for id: UInt64) -> Value? {
        let index = index(of: id)
        if slots[index].id == id, let value = slots[index].value {
            slots[index].value = nil
            count -= 1
            return value
        }
        guard !overflow.isEmpty, let value = overflow.removeValue(forKey: id) else { return nil }
        count -= 1
        return value
    }

    /// Every call in the table with its id, in no particular order.
    var all: [(id: UInt64, value: Value)] {
        var result: [(id: UInt64, value: Value)] = []
        result.reserveCapacity(count)
        for slot in slots {
            if let value = slot.value { result.append((slot.id, value)) }
        }
        for (id, value) in overflow { result.append((id, value)) }
        return result
    }
}
