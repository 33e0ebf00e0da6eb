import Foundation
import Streaming
import StreamingTestSupport
import Support
import Testing

@Suite struct BoundedStageTests {
    final class Collected: Sendable {
        let items = Locked<[Int]>([])
        func add(_ item: Int) { items.withLock { $0.append(item) } }
        var all: [Int] { items.get() }
    }

    @Test func processesEverythingInOrderWithOneWorker() {
        let collected = Collected()
        let stage = BoundedStage<Int>(name: "t", capacity: 3) { _, item in collected.add(item) }
        for i in 0..<100 { #expect(stage.submit(i)) }
        #expect(stage.waitUntilIdle(deadline: MonotonicClock.seconds() + 10))
        #expect(collected.all == Array(0..<100))
        #expect(stage.stats.processed == 100 && stage.stats.maxDepth <= 3)
    }

    @Test func submitWaitsWhileFullAndGivesUpAtTheTimeout() {
        let gate = Gate(), started = Counter()
        let stage = BoundedStage<Int>(name: "t", capacity: 2) { _, _ in started.increment(); gate.pass() }
        #expect(stage.submit(0))
        #expect(started.wait(for: 1))          // the worker holds item 0
        #expect(stage.submit(1) && stage.submit(2))
        #expect(!stage.submit(3, timeout: 0.05), "a full inbox accepted more than its capacity")
        #expect(stage.stats.depth == 2)
        gate.open()
        #expect(stage.submit(3, timeout: 10))
        #expect(stage.waitUntilIdle(deadline: MonotonicClock.seconds() + 10))
        #expect(stage.stats.processed == 4)
    }

    @Test(arguments: [BoundedStage<Int>.DropPolicy.dropOldest, .dropNewest])
    func offerDropsByPolicy(policy: BoundedStage<Int>.DropPolicy) {
        let gate = Gate(), started = Counter(), collected = Collected()
        let stage = BoundedStage<Int>(name: "t", capacity: 2) { _, item in started.increment(); gate.pass(); collected.add(item) }
        #expect(stage.offer(0, policy: policy) == nil)
        #expect(started.wait(for: 1))
        #expect(stage.offer(1, policy: policy) == nil && stage.offer(2, policy: policy) == nil)
        let dropped = stage.offer(3, policy: policy)
        #expect(dropped == (policy == .dropOldest ? 1 : 3))
        gate.open()
        #expect(stage.waitUntilIdle(deadline: MonotonicClock.seconds() + 10))
        #expect(collected.all == (policy == .dropOldest ? [0, 2, 3] : [0, 1, 2]))
        #expect(stage.stats.dropped == 1)
    }

    @Test func closeReleasesBlockedProducersAndRemoveAllReturnsTheQueue() {
        let gate = Gate(), started = Counter()
        let stage = BoundedStage<Int>(name: "t", capacity: 1) { _, _ in started.increment(); gate.pass() }
        #expect(stage.submit(0))
        #expect(started.wait(for: 1))
        #expect(stage.submit(1))
        let result = DispatchSemaphore(value: 0)
        final class Flag: @unchecked Sendable { var value = true }
        let accepted = Flag()
        DispatchQueue.global().async { accepted.value = stage.submit(2); result.signal() }
        stage.close()
        result.wait()
        #expect(!accepted.value, "a closed stage accepted an item")
        #expect(stage.removeAll() == [1])
        gate.open()
    }

    @Test func severalWorkersRunConcurrently() {
        let gate = Gate(), started = Counter()
        let stage = BoundedStage<Int>(name: "t", capacity: 4, workers: 3) { _, _ in started.increment(); gate.pass() }
        for i in 0..<3 { #expect(stage.submit(i)) }
        #expect(started.wait(for: 3), "three workers did not run at once")
        #expect(stage.stats.busyWorkers == 3)
        gate.open()
        #expect(stage.waitUntilIdle(deadline: MonotonicClock.seconds() + 10))
    }
}
