import CKernels
import Dispatch

/// Runs `body(part)` for every part in 0..<parts at once on Dispatch's thread pool and returns
/// when all have finished (the calling thread runs one of them); one part runs inline. Every
/// part runs with the caller's floating-point mode (the engine's flush-to-zero).
///
/// The body may capture buffers that are not Sendable: the caller gives each part disjoint
/// memory to write, and nothing outlives the call.
public func concurrently(_ parts: Int, _ body: (Int) -> Void) {
    guard parts > 1 else {
        if parts == 1 { body(0) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let work = PartWork(body: body)
        let mode = lpn_fp_mode()
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let own = lpn_fp_mode()
            lpn_restore_fp_mode(mode)
            work.body(part)
            lpn_restore_fp_mode(own)
        }
    }
}

/// @unchecked Sendable: concurrentPerform returns only after every part ends, and the parts
/// write disjoint memory (``concurrently(_:_:)``'s contract).
private struct PartWork: @unchecked Sendable {
    let body: (Int) -> Void
}
