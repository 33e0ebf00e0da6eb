import CKernels

/// The threads one frame's computation runs its parallel sections on: the calling thread and
/// `threads` − 1 workers of its own (workpool.c), which spin for a moment between sections and
/// sleep between frames.
///
/// An evaluation of the network is a few hundred short sections (a convolution's bands, an
/// element-wise pass); handing each to a general-purpose pool, whose threads go to sleep
/// between them, costs wake-ups that eat most of what a second core saves on a 128×128 frame.
/// Parts are claimed one at a time by whichever thread is free, so a thread that the system
/// preempts delays only its own part.
///
/// One section at a time: a pool belongs to one engine (or operator), which is used by one
/// thread at a time, and a part never runs a section on its own pool (it may on another:
/// the symmetric prox's lanes each run their engine's).
public final class WorkerPool {
    /// Threads a section runs on, the caller's included.
    public let threads: Int
    private let pool: OpaquePointer?

    public init(threads: Int) {
        pool = threads > 1 ? lpn_pool_create(Int32(threads)) : nil
        self.threads = pool.map { Int(lpn_pool_threads($0)) } ?? 1
    }

    deinit {
        if let pool { lpn_pool_destroy(pool) }
    }

    /// Runs `body(part, thread)` for every part in 0..<parts and returns when all have
    /// finished: each part once, at the same time as others, on the thread (0..<threads, 0 the
    /// caller) that claimed it, with the caller's floating-point mode (the engine's
    /// flush-to-zero). The body may capture buffers that are not Sendable: the caller gives
    /// each part (or each thread, by `thread`) disjoint memory to write, and nothing outlives
    /// the call.
    public func run(_ parts: Int, _ body: (_ part: Int, _ thread: Int) -> Void) {
        precondition(parts < Int(UInt32.max), "\(parts) parts in one section")
        guard parts > 1, let pool else {
            for part in 0..<max(0, parts) { body(part, 0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var task = body
            withUnsafePointer(to: &task) { task in
                lpn_pool_run(pool, parts, { context, part, thread in
                    context!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee(part, Int(thread))
                }, UnsafeMutableRawPointer(mutating: task))
            }
        }
    }

    /// Runs `body(part)` for every part in 0..<parts (``run(_:_:)-(_,(Int,Int)->Void)``).
    public func run(_ parts: Int, _ body: (_ part: Int) -> Void) {
        run(parts) { part, _ in body(part) }
    }
}
