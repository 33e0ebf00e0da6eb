import ArgumentParser
import Foundation
import LPN

/// Threads for one frame's learned prox (its convolutions' bands, ``LPNEngine``): `--threads`
/// of the offline commands, `frame_threads` of the daemon. OpenBLAS keeps one thread, so its
/// threads never stack on top of the engine's.
enum FrameThreads {
    static let help: ArgumentHelp = "Threads for the learned prox of a frame (its convolutions; OpenBLAS keeps one)."

    /// `auto`: the cores shared out over the workers (⌊cores / workers⌋, at least 1), so a lone
    /// worker's frame uses every core and several workers do not oversubscribe them.
    static func automatic(workers: Int, cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        max(1, cores / max(1, workers))
    }

    /// Sets OpenBLAS to one thread and returns the engine's thread count (at least 1).
    static func take(_ requested: Int) -> Int {
        openBLASSetThreads(1)
        return max(1, requested)
    }
}
