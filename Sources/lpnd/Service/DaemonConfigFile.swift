import Foundation
import Logging
import Reconstruction
import Streaming

/// `lpnd.yaml`: daemon settings and the pipelines it serves (docs/DEPLOY.md, "Configuration:
/// `lpnd.yaml`"). Read with the same ``YAMLSection`` as pipeline files, so every error names
/// the file, line, key (dotted path) and what is wrong, and unknown keys are errors.
struct DaemonConfigFile {
    struct PipelineEntry {
        var file: String
        var runtime: PipelineRuntimeConfiguration
    }

    var path: String
    var publish: String
    var control: String?
    var drainTimeout: Double
    var lingerMs: Int32
    /// Threads one frame may use; nil: `auto` (``frameThreads(cores:)``).
    var frameThreads: Int?
    var statsInterval: Double
    var curve: Daemon.Curve?
    /// The HTTP endpoint (/metrics, /healthz, /readyz); nil when `http: off`.
    var http: (host: String, port: Int)?
    var stallTimeout: Double
    var logLevel: Logger.Level
    /// The MRD TCP endpoint (`mrd`); an empty pipeline name: the first with `input: mrd`.
    var mrd: MRDServer.Settings?
    var pipelines: [PipelineEntry]

    static func load(path: String) throws -> DaemonConfigFile {
        let root = try YAMLSection.load(file: path)
        let directory = (path as NSString).deletingLastPathComponent
        let publish = try root.required("publish", root.string)
        let control = try root.string("control")
        let drainTimeout = try root.double("drain_timeout", min: 0, max: 86_400) ?? 30
        let lingerMs = Int32(try root.int("linger_ms", range: 0...600_000) ?? 2000)
        // `blas_threads` is this key's older name (it set OpenBLAS's threads).
        if root.has("frame_threads") && root.has("blas_threads") {
            throw root.fail("blas_threads", "is the older name of 'frame_threads'; keep one of them")
        }
        let threadsKey = root.has("blas_threads") ? "blas_threads" : "frame_threads"
        let frameThreads = try parseFrameThreads(root.string(threadsKey) ?? "auto", key: threadsKey, root)
        let statsInterval = try root.double("stats_interval", min: 0, max: 86_400) ?? 30
        let curve = try root.section("curve").map { try loadCurve($0, directory: directory) }
        let http = try parseHTTP(root.string("http") ?? "127.0.0.1:9464", root)
        let stallTimeout = try root.double("stall_timeout", min: 1, max: 86_400) ?? 120
        let logLevel = try root.choice("log_level", Logger.Level.self) ?? .info
        let mrd = try root.section("mrd").map(loadMRD)
        let list = try root.required("pipelines", root.sections)
        guard !list.isEmpty else { throw root.fail("pipelines", "needs at least one pipeline") }
        var entries: [PipelineEntry] = []
        // `workers: auto` (the default): one worker for a pipeline that warm-starts each frame
        // from its stream's previous one (its frames build on each other: the cores go to each
        // frame, frame_threads auto), else the cores shared out over the pipelines.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let sharedWorkers = max(1, cores / (frameThreads ?? 1) / list.count)
        for p in list {
            let file = try p.required("file", p.string)
            let autoWorkers = Self.warmStarts(resolve(file, against: directory)) ? 1 : sharedWorkers
            let ingest = try p.required("ingest", p.section)
            let mode = try ingest.choice("mode", IngestMode.self) ?? .bind
            let runtime = PipelineRuntimeConfiguration(
                endpoint: try ingest.required("endpoint", ingest.string), bind: mode == .bind,
                socket: try ingest.choice("socket", PipelineRuntimeConfiguration.SocketKind.self) ?? .pull,
                dropPolicy: try ingest.choice("drop_policy", BoundedStage<RawMessage>.DropPolicy.self) ?? .dropOldest,
                receiveHighWaterMark: Int32(try ingest.int("high_water_mark", range: 1...1_000_000) ?? 2),
                inbox: try p.int("inbox", range: 1...100_000) ?? 4,
                reconstructInbox: try p.int("reconstruct_inbox", range: 1...100_000) ?? 4,
                workers: try parseWorkers(p.string("workers") ?? "auto", automatic: autoWorkers, p),
                reorder: try p.bool("reorder") ?? true,
                publishPNG: try p.bool("png") ?? true,
                pngDirectory: try p.string("png_dir").map { resolve($0, against: directory) },
                publishMRD: try p.bool("mrd_images") ?? false)
            try ingest.finish()
            try p.finish()
            entries.append(PipelineEntry(file: resolve(file, against: directory), runtime: runtime))
        }
        try root.finish()
        return DaemonConfigFile(path: path, publish: publish, control: control, drainTimeout: drainTimeout,
                                lingerMs: lingerMs, frameThreads: frameThreads, statsInterval: statsInterval,
                                curve: curve, http: http, stallTimeout: stallTimeout, logLevel: logLevel, mrd: mrd,
                                pipelines: entries)
    }

    /// The first daemon-level key whose change needs a restart (new sockets, keys or
    /// endpoints), or nil. Pipelines are compared by the daemon itself.
    func restartOnlyKeyChanged(in new: DaemonConfigFile) -> String? {
        if publish != new.publish { return "publish" }
        if control != new.control { return "control" }
        if http?.host != new.http?.host || http?.port != new.http?.port { return "http" }
        if curve?.server.secretKey != new.curve?.server.secretKey || curve?.clients != new.curve?.clients { return "curve" }
        if drainTimeout != new.drainTimeout { return "drain_timeout" }
        if frameThreads != new.frameThreads { return "frame_threads" }
        if statsInterval != new.statsInterval { return "stats_interval" }
        if stallTimeout != new.stallTimeout { return "stall_timeout" }
        if logLevel != new.logLevel { return "log_level" }
        if lingerMs != new.lingerMs { return "linger_ms" }
        if mrd != new.mrd { return "mrd" }
        return nil
    }

    /// `auto` (nil) or a thread count in 1…256.
    static func parseFrameThreads(_ text: String, key: String, _ root: YAMLSection) throws -> Int? {
        guard text != "auto" else { return nil }
        guard let count = Int(text), (1...256).contains(count) else {
            throw root.fail(key, "'\(text)' is not auto or an integer in 1…256")
        }
        return count
    }

    /// Whether the pipeline file sets `solver.warm_start: true` (false when it cannot be read:
    /// loading the pipeline names that problem).
    static func warmStarts(_ path: String) -> Bool {
        guard let root = try? YAMLSection.load(file: path), let solver = try? root.section("solver") else { return false }
        return (try? solver.bool("warm_start")) == true
    }

    /// `auto` (`automatic`) or a worker count in 1…256.
    static func parseWorkers(_ text: String, automatic: Int, _ section: YAMLSection) throws -> Int {
        guard text != "auto" else { return automatic }
        guard let count = Int(text), (1...256).contains(count) else {
            throw section.fail("workers", "'\(text)' is not auto or an integer in 1…256")
        }
        return count
    }

    /// Reconstruction workers over all pipelines.
    var totalWorkers: Int { pipelines.reduce(0) { $0 + $1.runtime.workers } }

    /// Threads one frame may use on a machine with `cores` cores: the configured count, or for
    /// `auto` ``FrameThreads/automatic(workers:cores:)`` over all pipelines' workers.
    func frameThreads(cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        frameThreads ?? FrameThreads.automatic(workers: totalWorkers, cores: cores)
    }

    /// `host:port` (port 0: any free port), or `off`.
    static func parseHTTP(_ text: String, _ root: YAMLSection) throws -> (host: String, port: Int)? {
        guard text != "off" else { return nil }
        guard let address = hostPort(text) else {
            throw root.fail("http", "'\(text)' is not host:port (e.g. 127.0.0.1:9464) or off")
        }
        return address
    }

    /// `host:port` with a port in 0…65535, or nil.
    static func hostPort(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), colon > text.startIndex,
              let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        return (String(text[..<colon]), port)
    }

    /// `mrd: {listen: HOST:PORT, pipeline: NAME, max_connections: N, idle_timeout: SECONDS}`.
    static func loadMRD(_ section: YAMLSection) throws -> MRDServer.Settings {
        let listen = try section.required("listen", section.string)
        guard let (host, port) = hostPort(listen) else {
            throw section.fail("listen", "'\(listen)' is not host:port (e.g. 127.0.0.1:9002)")
        }
        let settings = MRDServer.Settings(host: host, port: port, pipeline: try section.string("pipeline") ?? "",
                                          maxConnections: try section.int("max_connections", range: 1...1024) ?? 4,
                                          idleTimeout: try section.double("idle_timeout", min: 0.1, max: 86_400) ?? 60)
        try section.finish()
        return settings
    }

    /// `curve: {secret_key: FILE, clients: DIRECTORY | [FILE or Z85 key, …]}`.
    static func loadCurve(_ section: YAMLSection, directory: String) throws -> Daemon.Curve {
        let secretFile = resolve(try section.required("secret_key", section.string), against: directory)
        let server: CurveKeyPair
        do { server = try CurveKeyPair.load(secretFile: secretFile) } catch {
            throw section.fail("secret_key", "\(error)")
        }
        let clients: CurveClientList
        do {
            switch try section.required("clients", section.stringOrList) {
            case .scalar(let path): clients = try CurveClientList.load(directory: resolve(path, against: directory))
            case .list(let entries):
                clients = try CurveClientList.load(entries: entries.map { $0.utf8.count == 40 && !$0.contains("/") ? $0 : resolve($0, against: directory) })
            }
        } catch let error as CurveKeyError {
            throw section.fail("clients", "\(error)")
        }
        guard !clients.keys.isEmpty else {
            throw section.fail("clients", "no client public key found: no sender or subscriber could connect")
        }
        try section.finish()
        return Daemon.Curve(server: server, clients: clients)
    }

    enum IngestMode: String, CaseIterable {
        case bind, connect
    }

    static func resolve(_ path: String, against directory: String) -> String {
        path.hasPrefix("/") || directory.isEmpty ? path : directory + "/" + path
    }
}
