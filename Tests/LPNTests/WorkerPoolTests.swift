import CKernels
import LPN
import Support
import Testing

/// The pool's sections: every part once, on a thread of the pool, with the caller's
/// floating-point mode; sections back to back (a late thread must not run a part of the next);
/// pools inside a pool's parts (the symmetric prox's lanes, each with an engine's pool).
@Suite struct WorkerPoolTests {
    @Test(arguments: [1, 2, 3])
    func everyPartRunsOnceOnAThreadOfThePool(threads: Int) {
        let pool = WorkerPool(threads: threads)
        #expect(pool.threads == threads)
        for parts in [0, 1, 2, 5, 64] {
            let counts = Locked([Int](repeating: 0, count: parts))
            let seen = Locked(Set<Int>())
            pool.run(parts) { part, thread in
                counts.withLock { $0[part] += 1 }
                seen.withLock { _ = $0.insert(thread) }
            }
            #expect(counts.get() == [Int](repeating: 1, count: parts), "\(parts) parts on \(threads) threads")
            #expect(seen.get().allSatisfy { (0..<threads).contains($0) })
        }
    }

    /// Many short sections back to back, each writing its section number into its parts' slots:
    /// a part run twice, run late or with another section's body leaves a wrong number.
    @Test func sectionsBackToBackNeverMix() {
        let pool = WorkerPool(threads: 2)
        let parts = 7
        let slots = UnsafeMutablePointer<Int>.allocate(capacity: parts)
        defer { slots.deallocate() }
        for section in 0..<20_000 {
            slots.initialize(repeating: -1, count: parts)
            let count = 1 + section % parts
            pool.run(count) { part, _ in slots[part] = slots[part] == -1 ? section : -2 }
            #expect((0..<count).allSatisfy { slots[$0] == section }, "section \(section)")
            if (0..<count).contains(where: { slots[$0] != section }) { break }
        }
    }

    @Test func partsRunWithTheCallersFloatingPointMode() {
        let pool = WorkerPool(threads: 2)
        let before = lpn_flush_denormals()
        defer { lpn_restore_fp_mode(before) }
        let caller = lpn_fp_mode()
        let modes = Locked([UInt32]())
        pool.run(16) { _, _ in
            let mode = lpn_fp_mode()
            modes.withLock { $0.append(mode) }
        }
        #expect(modes.get().count == 16)
        #expect(modes.get().allSatisfy { $0 == caller })
    }

    @Test func poolsRunInsideAPoolsParts() {
        let outer = WorkerPool(threads: 2)
        let inner = [WorkerPool(threads: 2), WorkerPool(threads: 2)]
        let sums = Locked([0, 0])
        outer.run(2) { lane in
            for _ in 0..<200 {
                inner[lane].run(4) { part in sums.withLock { $0[lane] += part } }
            }
        }
        #expect(sums.get() == [1200, 1200])
    }
}
