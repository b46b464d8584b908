#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension JSONValue {
    /// True when both are the same JSON value, however each was written: white space,
    /// string escapes (`"\u0041"` is `"A"`) and the order of an object's members do not
    /// matter. Numbers compare by their text (an ID's digits are what count), strings by
    /// their decoded bytes. Decides whether an analysis read again is `unchanged`.
    public func isEquivalent(to other: JSONValue) -> Bool {
        let mine = node
        let theirs = other.node
        guard mine.kind == theirs.kind else { return false }
        switch mine.kind {
        case .null, .true, .false:
            return true
        case .number:
            return withRawBytes { a in other.withRawBytes { b in Self.bytesEqual(a, b) } }
        case .string:
            if !mine.escaped && !theirs.escaped {
                return withRawBytes { a in other.withRawBytes { b in Self.bytesEqual(a, b) } }
            }
            return withStringBytes { a in other.withStringBytes { b in Self.bytesEqual(a, b) } }
        case .array:
            guard count == other.count else { return false }
            var a = index + 1
            var b = other.index + 1
            while a < mine.next {
                guard JSONValue(document: document, index: a).isEquivalent(to: JSONValue(document: other.document, index: b)) else { return false }
                a = document.tape[Int(a)].next
                b = other.document.tape[Int(b)].next
            }
            return true
        case .object:
            guard count == other.count else { return false }
            var a = index + 1
            var b = other.index + 1
            while a < mine.next {
                let name = JSONValue(document: document, index: a)
                let value = JSONValue(document: document, index: a + 1)
                // Members in the same order: one comparison each; otherwise a search by name.
                let match: JSONValue?
                if b < theirs.next, name.isEquivalent(to: JSONValue(document: other.document, index: b)) {
                    match = JSONValue(document: other.document, index: b + 1)
                } else {
                    match = name.withStringBytes { other.member($0) }
                }
                guard let match, value.isEquivalent(to: match) else { return false }
                a = document.tape[Int(a + 1)].next
                if b < theirs.next { b = other.document.tape[Int(b + 1)].next }
            }
            return true
        }
    }

    private static func bytesEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        guard a.count > 0 else { return true }
        return memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
    }
}
