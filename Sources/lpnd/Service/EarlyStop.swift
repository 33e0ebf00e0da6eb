import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals
import LPN
import Reconstruction
import Streaming
import TensorIO
import Support

/// SIGTERM/SIGINT before the service group runs (while models load): remembered, then handed
/// to the group, so an early stop is a graceful stop, not a kill.
final class EarlyStop: @unchecked Sendable {  // safe: `state` is a lock box; `sources` is written only in init
    private struct State {
        var requested = false
        var group: ServiceGroup?
    }

    private let state = Locked(State())
    private var sources: [DispatchSourceSignal] = []

    init(signals: [Int32]) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.request() }
            source.resume()
            sources.append(source)
        }
    }

    private func request() {
        let group = state.withLock { s in
            s.requested = true
            return s.group
        }
        if let group { Task { await group.triggerGracefulShutdown() } }
    }

    func forward(to group: ServiceGroup) {
        let requested = state.withLock { s in
            s.group = group
            return s.requested
        }
        if requested { Task { await group.triggerGracefulShutdown() } }
    }
}
