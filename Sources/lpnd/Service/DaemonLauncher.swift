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

/// Builds a ``Daemon`` from a configuration file: loads every pipeline, then opens every
/// socket. Any failure stops the start (a service that runs half its configuration is worse
/// than one that refuses).
enum DaemonLauncher {
    static func start(_ file: DaemonConfigFile, logger: Logger, metrics: MetricsFactory,
                      frameObserver: (@Sendable (PublishedFrame) -> Void)? = nil) throws -> Daemon {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let threads = FrameThreads.take(file.frameThreads(cores: cores))
        logger.info("\(cores) cores: \(file.pipelines.count) pipeline(s), \(file.totalWorkers) worker(s), \(threads) thread(s) per frame (frame_threads: \(file.frameThreads.map(String.init) ?? "auto")); \(OpenBLASCoreRestart.summary)")
        if threads * file.totalWorkers > cores {
            logger.warning("\(file.path): frame_threads × workers over all pipelines = \(threads * file.totalWorkers) exceeds the \(cores) cores; expect contention")
        }
        let specs = try pipelineSpecs(file, threads: threads)
        return try Daemon(settings: Daemon.Settings(publishEndpoint: file.publish, controlEndpoint: file.control,
                                                    drainTimeout: file.drainTimeout, lingerMs: file.lingerMs,
                                                    curve: file.curve, logger: logger, metrics: metrics,
                                                    frameObserver: frameObserver, mrd: try mrdSettings(file, specs)),
                          pipelines: specs)
    }

    /// `mrd`: its pipeline named, or the first pipeline with `input: mrd`.
    static func mrdSettings(_ file: DaemonConfigFile, _ specs: [Daemon.PipelineSpec]) throws -> MRDServer.Settings? {
        guard var mrd = file.mrd else { return nil }
        let names = specs.filter { $0.backend.interface.mrd != nil }.map(\.backend.interface.name)
        if mrd.pipeline.isEmpty {
            guard let first = names.first else {
                throw ValidationErrorText("\(file.path): key 'mrd': no pipeline has input: mrd; the MRD endpoint needs one")
            }
            mrd.pipeline = first
        }
        guard names.contains(mrd.pipeline) else {
            throw ValidationErrorText("\(file.path): key 'mrd.pipeline': '\(mrd.pipeline)' is not a served pipeline with input: mrd (those: \(names))")
        }
        return mrd
    }

    /// Every pipeline file loaded (models included), or an error naming the file and key.
    static func pipelineSpecs(_ file: DaemonConfigFile, threads: Int) throws -> [Daemon.PipelineSpec] {
        try file.pipelines.enumerated().map { index, entry in
            do {
                let pipeline = try Pipeline.load(path: entry.file)
                return Daemon.PipelineSpec(backend: ReconstructionBackend(pipeline: pipeline, threads: threads),
                                           configuration: entry.runtime)
            } catch {
                throw ValidationErrorText("\(file.path): key 'pipelines[\(index)].file': \(error)")
            }
        }
    }

    /// Logs one line per pipeline every `interval` seconds (queue depths, drops, latency).
    static func logStats(of daemon: Daemon, every interval: Double, logger: Logger) -> DispatchSourceTimer? {
        guard interval > 0 else { return nil }
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler {
            for p in daemon.stats.pipelines {
                let depths = p.stages.map { "\($0.name.split(separator: ".").last ?? "") \($0.depth)/\($0.capacity)" }.joined(separator: ", ")
                logger.info("stats \(p.pipeline): received \(p.received), frames \(p.frames), errors \(p.errors), dropped \(p.dropped), depths [\(depths)], p50 \(p.latencyP50Ms.map { String(format: "%.1f ms", $0) } ?? "-")")
            }
        }
        timer.resume()
        return timer
    }
}
