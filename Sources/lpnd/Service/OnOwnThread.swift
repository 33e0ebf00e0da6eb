import Foundation

/// Runs blocking work (a drain, model loading, a semaphore wait) on a thread of its own and
/// awaits its result, so Swift concurrency's small cooperative pool is never blocked.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { (done: CheckedContinuation<T, Never>) in
        Thread { done.resume(returning: body()) }.start()
    }
}
