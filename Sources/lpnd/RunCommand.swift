import ArgumentParser
import Foundation
import LPN
import Reconstruction
import Streaming

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the streaming daemon (until SIGTERM or SIGINT).",
        discussion: "Settings and pipelines come from a YAML file; see docs/PIPELINES.md and docs/PROTOCOL.md.")

    @Option(help: "Daemon configuration (lpnd.yaml).") var config: String

    func run() throws {
        let file = try DaemonConfigFile.load(path: config)
        let daemon = try DaemonLauncher.start(file)
        let stop = SignalWaiter(signals: [SIGTERM, SIGINT])
        SystemdNotifier.notify("READY=1\nSTATUS=serving \(daemon.pipelines.count) pipeline(s)")
        let statsTimer = DaemonLauncher.logStats(of: daemon, every: file.statsInterval)
        let signal = stop.wait()
        Log.info("received signal \(signal)")
        SystemdNotifier.notify("STOPPING=1")
        statsTimer?.cancel()
        daemon.shutdown()
    }
}

/// Builds a ``Daemon`` from a configuration file: loads every pipeline (a pipeline file that
/// fails to load is reported and skipped, like a pipeline whose socket fails).
enum DaemonLauncher {
    static func start(_ file: DaemonConfigFile) throws -> Daemon {
        openBLASSetThreads(file.blasThreads)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let threads = file.blasThreads * file.pipelines.reduce(0) { $0 + $1.runtime.workers }
        if threads > cores {
            Log.warning("\(file.path): blas_threads × workers over all pipelines = \(threads) exceeds the \(cores) cores; expect contention")
        }
        var specs: [Daemon.PipelineSpec] = []
        for entry in file.pipelines {
            do {
                let pipeline = try Pipeline.load(path: entry.file)
                specs.append(Daemon.PipelineSpec(backend: ReconstructionBackend(pipeline: pipeline), configuration: entry.runtime))
            } catch {
                Log.error("pipeline file \(entry.file) not loaded: \(error)")
            }
        }
        guard !specs.isEmpty else { throw ValidationError("\(file.path): no pipeline could be loaded") }
        let daemon = try Daemon(settings: Daemon.Settings(publishEndpoint: file.publish, controlEndpoint: file.control,
                                                          drainTimeout: file.drainTimeout, lingerMs: file.lingerMs),
                                pipelines: specs)
        guard !daemon.pipelines.isEmpty else {
            daemon.shutdown()
            throw ValidationError("\(file.path): no pipeline could start")
        }
        return daemon
    }

    /// Logs one line per pipeline every `interval` seconds (queue depths, drops, latency).
    static func logStats(of daemon: Daemon, every interval: Double) -> DispatchSourceTimer? {
        guard interval > 0 else { return nil }
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler {
            for p in daemon.stats.pipelines {
                let depths = p.stages.map { "\($0.name.split(separator: ".").last ?? "") \($0.depth)/\($0.capacity)" }.joined(separator: ", ")
                Log.info("stats \(p.pipeline): received \(p.received), frames \(p.frames), errors \(p.errors), dropped \(p.dropped), depths [\(depths)], p50 \(p.latencyP50Ms.map { String(format: "%.1f ms", $0) } ?? "-")")
            }
        }
        timer.resume()
        return timer
    }
}

/// Blocks until one of the given signals arrives (they are ignored by default handlers and
/// delivered through Dispatch sources instead).
final class SignalWaiter {
    private let semaphore = DispatchSemaphore(value: 0)
    private var sources: [DispatchSourceSignal] = []
    private let received = LockedValue<Int32>(0)

    init(signals: [Int32]) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [semaphore, received] in
                received.set(number)
                semaphore.signal()
            }
            source.resume()
            sources.append(source)
        }
    }

    func wait() -> Int32 {
        semaphore.wait()
        return received.get()
    }
}

final class LockedValue<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ newValue: T) { lock.lock(); value = newValue; lock.unlock() }
}
