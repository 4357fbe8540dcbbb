package import GRDB

/// A stored value of another type or range than its column's: only a file damaged or edited by
/// hand holds one (SQLite keeps text in an INTEGER column as text).
///
/// Every store reads its columns through the `Row` accessors below instead of GRDB's typed
/// subscripts, which stop the process on a value they cannot convert (and truncate a real to an
/// integer): a damaged file must fail the call that meets it, with this as the reason.
package struct StoredValueMismatch: Error, Sendable, CustomStringConvertible {
    /// The column's name.
    package let column: String
    /// What the column holds.
    package let value: DatabaseValue
    /// What it should hold, as a phrase: "an integer", "a blob", "text".
    package let expected: String

    package init(column: String, value: DatabaseValue, expected: String) {
        self.column = column
        self.value = value
        self.expected = expected
    }

    /// "its column round holds the text 'latest', not an integer".
    package var description: String {
        "its column \(column) holds \(Self.describe(value)), not \(expected)"
    }

    /// A stored value as a phrase, at most 40 characters of text.
    private static func describe(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: "NULL"
        case .int64(let integer): "the integer \(integer)"
        case .double(let real): "the real \(real)"
        case .string(let text): "the text '\(text.prefix(40))'"
        case .blob(let data): "a \(data.count)-byte blob"
        }
    }
}

extension Row {
    /// The integer in `column`, or ``StoredValueMismatch``.
    package func storedInteger(_ column: String) throws(StoredValueMismatch) -> Int64 {
        try Self.integer(self[column], column)
    }

    /// The integer in `column` as a `T`, or ``StoredValueMismatch`` when it is no integer or out
    /// of `T`'s range (a negative round, say).
    package func storedInteger<T: FixedWidthInteger>(_ column: String, as type: T.Type) throws(StoredValueMismatch) -> T {
        try Self.integer(self[column], column, as: type)
    }

    /// The integer in column `index` (named `column` in errors), or ``StoredValueMismatch``: by
    /// index for hot reads, where a lookup by name costs a search.
    package func storedInteger(at index: Int, named column: String) throws(StoredValueMismatch) -> Int64 {
        try Self.integer(self[index], column)
    }

    /// The integer in column `index` (named `column` in errors) as a `T`, or ``StoredValueMismatch``.
    package func storedInteger<T: FixedWidthInteger>(
        at index: Int, named column: String, as type: T.Type
    ) throws(StoredValueMismatch) -> T {
        try Self.integer(self[index], column, as: type)
    }

    /// The blob in `column`, or ``StoredValueMismatch``.
    package func storedBlob(_ column: String) throws(StoredValueMismatch) -> [UInt8] {
        try Self.blob(self[column], column)
    }

    /// The blob in column `index` (named `column` in errors), or ``StoredValueMismatch``.
    package func storedBlob(at index: Int, named column: String) throws(StoredValueMismatch) -> [UInt8] {
        try Self.blob(self[index], column)
    }

    /// The blob in `column`, nil for NULL, or ``StoredValueMismatch``.
    package func storedOptionalBlob(_ column: String) throws(StoredValueMismatch) -> [UInt8]? {
        let value: DatabaseValue = self[column]
        return value.isNull ? nil : try Self.blob(value, column)
    }

    /// The text in `column`, or ``StoredValueMismatch``.
    package func storedText(_ column: String) throws(StoredValueMismatch) -> String {
        let value: DatabaseValue = self[column]
        guard case .string(let text) = value.storage else {
            throw StoredValueMismatch(column: column, value: value, expected: "text")
        }
        return text
    }

    private static func integer(_ value: DatabaseValue, _ column: String) throws(StoredValueMismatch) -> Int64 {
        guard case .int64(let integer) = value.storage else {
            throw StoredValueMismatch(column: column, value: value, expected: "an integer")
        }
        return integer
    }

    private static func integer<T: FixedWidthInteger>(
        _ value: DatabaseValue, _ column: String, as type: T.Type
    ) throws(StoredValueMismatch) -> T {
        guard case .int64(let integer) = value.storage, let converted = T(exactly: integer) else {
            let expected: String
            if T.min == 0 && T.max >= Int64.max {
                expected = "a non-negative integer"
            } else {
                expected = "an integer from \(T.min) to \(T.max)"
            }
            throw StoredValueMismatch(column: column, value: value, expected: expected)
        }
        return converted
    }

    private static func blob(_ value: DatabaseValue, _ column: String) throws(StoredValueMismatch) -> [UInt8] {
        guard case .blob(let data) = value.storage else {
            throw StoredValueMismatch(column: column, value: value, expected: "a blob")
        }
        return [UInt8](data)
    }
}
