import XCTest
@testable import Onyx

/// ``MappedBlockCache``: freed blocks come back for the same length first,
/// then for shorter requests up to ``MappedBlockCache/reuseFactor`` times
/// shorter (reported with their true length, zeroed as far as asked).
final class MappedBlockCacheTests: XCTestCase {
    func testReusesExactThenLongerBlocksWithTheirTrueLength() throws {
        let cache = MappedBlockCache()
        let unit = MappedBlockCache.length(for: 1)
        XCTAssertEqual(unit, 64 << 10)
        let factor = MappedBlockCache.reuseFactor
        let long = try XCTUnwrap(cache.acquire(length: 2 * factor * unit))
        XCTAssertEqual(long.length, 2 * factor * unit)
        long.pointer.initializeMemory(as: UInt8.self, repeating: 0xAB, count: long.length)
        cache.release(long.pointer, length: long.length)

        // More than reuseFactor times shorter: fresh pages, not the long block.
        let tiny = try XCTUnwrap(cache.acquire(length: unit))
        XCTAssertNotEqual(tiny.pointer, long.pointer)
        XCTAssertEqual(tiny.length, unit)

        // Within the factor: the long block, with its true length, zeroed as far as asked.
        let short = try XCTUnwrap(cache.acquire(length: 3 * unit))
        XCTAssertEqual(short.pointer, long.pointer)
        XCTAssertEqual(short.length, 2 * factor * unit)
        let bytes = UnsafeRawBufferPointer(start: short.pointer, count: short.length)
        XCTAssertTrue(bytes[0..<(3 * unit)].allSatisfy { $0 == 0 })
        if short.length > 3 * unit { XCTAssertEqual(bytes[3 * unit], 0xAB) }

        // An exact length wins over a longer one.
        let exact = try XCTUnwrap(cache.acquire(length: 2 * unit))
        XCTAssertEqual(exact.length, 2 * unit)
        cache.release(short.pointer, length: short.length)
        cache.release(exact.pointer, length: exact.length)
        let again = try XCTUnwrap(cache.acquire(length: 2 * unit, zeroed: false))
        XCTAssertEqual(again.pointer, exact.pointer)
        XCTAssertEqual(again.length, 2 * unit)
        cache.release(again.pointer, length: again.length)
        cache.release(tiny.pointer, length: tiny.length)
    }
}
