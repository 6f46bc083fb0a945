// Immutable, reference-counted bytes for the write path.
//
// An encoded frame or response is written once into one of these and then queued on one or
// many connections: fan-out shares the same bytes (a retain per subscriber, no copy), and the
// stable heap address lets writev point straight at it.

/// Bytes that never change after creation. Create with `init(capacity:fill:)`.
public final class OutboundBytes: @unchecked Sendable {
    // @unchecked Sendable: the storage is written only inside `init` (by the fill closure, before
    // the object is published to anyone) and is read-only afterwards; it is freed in deinit,
    // when no reference remains. Immutable shared bytes are safe to read from any thread.
    public let base: UnsafeMutableRawPointer
    public let count: Int

    /// Allocates `capacity` bytes and lets `fill` write them; `fill` returns the length used.
    public init(capacity: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Int) rethrows {
        let size = max(capacity, 1)
        base = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        do {
            count = try fill(UnsafeMutableRawBufferPointer(start: base, count: capacity))
        } catch {
            base.deallocate()
            throw error
        }
        precondition(count >= 0 && count <= capacity, "OutboundBytes fill returned \(count) for capacity \(capacity)")
    }

    /// A copy of `bytes`.
    public convenience init<C: Collection>(copying bytes: C) where C.Element == UInt8 {
        let n = bytes.count
        self.init(capacity: n) { buf in
            _ = buf.initializeMemory(as: UInt8.self, from: bytes)
            return n
        }
    }

    /// A copy of an array: one memcpy (the generic init copies element by element when it is not
    /// specialized, which it is not across modules).
    public convenience init(copying bytes: [UInt8]) {
        let n = bytes.count
        self.init(capacity: n) { buf in
            bytes.withUnsafeBytes { if let src = $0.baseAddress, n > 0 { buf.baseAddress!.copyMemory(from: src, byteCount: n) } }
            return n
        }
    }

    /// A copy of a string's UTF-8.
    public convenience init(_ text: String) { self.init(copying: Array(text.utf8)) }

    deinit { base.deallocate() }

    /// The bytes, read-only.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// A copy as an array (tests, diagnostics).
    public var array: [UInt8] { Array(bytes) }
}
