import ArgumentParser
import Foundation
import LPN
import Reconstruction
import Streaming

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the streaming daemon (until SIGTERM or SIGINT).",
        discussion: """
            Settings and pipelines come from a YAML file; see docs/PIPELINES.md and docs/PROTOCOL.md.
            Exit status: 0 after a clean stop, 78 when the configuration (lpnd.yaml, a pipeline \
            file or a model) is invalid, 69 when a socket cannot bind or connect (docs/DEPLOY.md).
            """)

    @Option(help: "Daemon configuration (lpnd.yaml).") var config: String

    /// sysexits.h codes a service manager can tell apart (docs/DEPLOY.md, "Exit status").
    enum Exit {
        static let configuration = ExitCode(78)  // EX_CONFIG: fix the files, restarting will not help
        static let unavailable = ExitCode(69)    // EX_UNAVAILABLE: a socket could not open; a restart may
    }

    func run() throws {
        // Signals are handled from the start, so one arriving while models load is not fatal.
        let signals = SignalWaiter(signals: [SIGTERM, SIGINT, SIGHUP])
        signal(SIGPIPE, SIG_IGN)
        let file: DaemonConfigFile
        let daemon: Daemon
        do {
            file = try DaemonConfigFile.load(path: config)
            daemon = try DaemonLauncher.start(file)
        } catch let error as SocketSetupError {
            Log.error("\(config): \(error)")
            throw Exit.unavailable
        } catch {
            Log.error("\(error)")
            throw Exit.configuration
        }
        SystemdNotifier.notify("READY=1\nSTATUS=serving \(daemon.pipelines.count) pipeline(s)")
        let statsTimer = DaemonLauncher.logStats(of: daemon, every: file.statsInterval)
        while true {
            let received = signals.wait()
            if received == SIGHUP {
                Log.warning("SIGHUP: configuration reload is not implemented; ignored (the daemon keeps serving, nothing is lost)")
                continue
            }
            Log.info("received signal \(received)")
            break
        }
        SystemdNotifier.notify("STOPPING=1")
        statsTimer?.cancel()
        daemon.shutdown()
        // Everything accepted is published and every socket closed. End without exit-time
        // teardown (library destructors), which must never race a thread that is still inside
        // a library call: a clean stop can then not crash.
        fflush(nil)
        _exit(0)
    }
}

/// Builds a ``Daemon`` from a configuration file: loads every pipeline, then opens every
/// socket. Any failure stops the start (a service that runs half its configuration is worse
/// than one that refuses).
enum DaemonLauncher {
    static func start(_ file: DaemonConfigFile) throws -> Daemon {
        openBLASSetThreads(file.blasThreads)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let threads = file.blasThreads * file.pipelines.reduce(0) { $0 + $1.runtime.workers }
        if threads > cores {
            Log.warning("\(file.path): blas_threads × workers over all pipelines = \(threads) exceeds the \(cores) cores; expect contention")
        }
        var specs: [Daemon.PipelineSpec] = []
        for (index, entry) in file.pipelines.enumerated() {
            do {
                let pipeline = try Pipeline.load(path: entry.file)
                specs.append(Daemon.PipelineSpec(backend: ReconstructionBackend(pipeline: pipeline), configuration: entry.runtime))
            } catch {
                throw ValidationErrorText("\(file.path): key 'pipelines[\(index)].file': \(error)")
            }
        }
        return try Daemon(settings: Daemon.Settings(publishEndpoint: file.publish, controlEndpoint: file.control,
                                                    drainTimeout: file.drainTimeout, lingerMs: file.lingerMs,
                                                    curve: file.curve),
                          pipelines: specs)
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

/// Delivers the given signals one at a time through ``wait()`` (their default handlers are
/// replaced by Dispatch sources, so none of them kills the process).
final class SignalWaiter {
    private let semaphore = DispatchSemaphore(value: 0)
    private var sources: [DispatchSourceSignal] = []
    private let pending = LockedValue<[Int32]>([])

    init(signals: [Int32]) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [semaphore, pending] in
                pending.update { $0.append(number) }
                semaphore.signal()
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The next signal received (blocks until there is one).
    func wait() -> Int32 {
        semaphore.wait()
        return pending.update { $0.removeFirst() }
    }
}

final class LockedValue<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ newValue: T) { lock.lock(); value = newValue; lock.unlock() }
    func update<R>(_ body: (inout T) -> R) -> R { lock.lock(); defer { lock.unlock() }; return body(&value) }
}
