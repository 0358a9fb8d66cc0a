import Foundation
import XCTest
@testable import Onyx

/// The intra-op worker pool: every index runs exactly once, loops nested in a
/// loop body and loops from two threads at once complete (serially where the
/// pool is busy), and a pool that slept wakes up for the next loop.
final class WorkerPoolTests: XCTestCase {
    func testEveryIndexRunsOnceOverManyLoops() {
        let pool = WorkerPool.shared
        for iterations in [0, 1, 2, 3, 7, 64, 1000] {
            for _ in 0..<50 {
                var hits = [Int](repeating: 0, count: iterations)
                hits.withUnsafeMutableBufferPointer { counts in
                    pool.run(iterations) { counts[$0] += 1 }
                }
                XCTAssertEqual(hits, [Int](repeating: 1, count: iterations), "\(iterations) iterations")
            }
        }
    }

    func testNestedAndConcurrentLoopsComplete() {
        let pool = WorkerPool.shared
        var outer = [Int](repeating: 0, count: 8)
        outer.withUnsafeMutableBufferPointer { sums in
            pool.run(8) { index in
                var inner = [Int](repeating: 0, count: 16)
                inner.withUnsafeMutableBufferPointer { values in pool.run(16) { values[$0] = $0 } }
                sums[index] = inner.reduce(0, +)
            }
        }
        XCTAssertEqual(outer, [Int](repeating: 120, count: 8))
        // Two threads submitting at once: each loop completes, on the pool or alone.
        let finished = DispatchSemaphore(value: 0)
        let threads = (0..<2).map { _ in
            Thread {
                for _ in 0..<200 {
                    var values = [Int](repeating: 0, count: 100)
                    values.withUnsafeMutableBufferPointer { buffer in pool.run(100) { buffer[$0] = $0 } }
                    precondition(values.reduce(0, +) == 4950)
                }
                finished.signal()
            }
        }
        threads.forEach { $0.start() }
        for _ in threads { finished.wait() }
    }

    func testLoopAfterTheWorkersSleep() {
        Thread.sleep(forTimeInterval: Double(WorkerPool.spinNanoseconds) * 5e-9)
        var hits = [Int](repeating: 0, count: 32)
        hits.withUnsafeMutableBufferPointer { counts in WorkerPool.shared.run(32) { counts[$0] += 1 } }
        XCTAssertEqual(hits, [Int](repeating: 1, count: 32))
    }
}
