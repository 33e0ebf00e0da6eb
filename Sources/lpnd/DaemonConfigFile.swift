import Foundation
import Streaming
import Yams

/// `lpnd.yaml`: daemon settings and the pipelines it serves (docs/PIPELINES.md, "Daemon
/// configuration"). Every error names the file, the key (dotted path) and what is wrong;
/// unknown keys are errors.
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
    var blasThreads: Int
    var statsInterval: Double
    var pipelines: [PipelineEntry]

    struct ConfigError: Error, CustomStringConvertible {
        let file: String, key: String, reason: String
        var description: String { key.isEmpty ? "\(file): \(reason)" : "\(file): key '\(key)': \(reason)" }
    }

    static func load(path: String) throws -> DaemonConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, key: "", reason: "cannot read file")
        }
        let root: Any?
        do {
            root = try Yams.load(yaml: String(decoding: data, as: UTF8.self))
        } catch {
            throw ConfigError(file: path, key: "", reason: "not valid YAML: \(error)")
        }
        let reader = try Reader(file: path, key: "", value: root as Any)
        try reader.allow(["publish", "control", "drain_timeout", "linger_ms", "blas_threads", "stats_interval", "pipelines"])
        let directory = (path as NSString).deletingLastPathComponent
        var entries: [PipelineEntry] = []
        let list = try reader.list("pipelines")
        guard !list.isEmpty else { throw ConfigError(file: path, key: "pipelines", reason: "needs at least one pipeline") }
        for (i, item) in list.enumerated() {
            let p = try Reader(file: path, key: "pipelines[\(i)]", value: item)
            try p.allow(["file", "ingest", "inbox", "reconstruct_inbox", "workers", "reorder", "png", "png_dir"])
            let ingest = try p.child("ingest")
            try ingest.allow(["endpoint", "mode", "socket", "drop_policy", "high_water_mark"])
            let mode = try ingest.string("mode", default: "bind")
            guard mode == "bind" || mode == "connect" else {
                throw ConfigError(file: path, key: ingest.path("mode"), reason: "'\(mode)' is not bind or connect")
            }
            let socketName = try ingest.string("socket", default: "pull")
            guard let socket = PipelineRuntimeConfiguration.SocketKind(rawValue: socketName) else {
                throw ConfigError(file: path, key: ingest.path("socket"), reason: "'\(socketName)' is not pull or sub")
            }
            let policyName = try ingest.string("drop_policy", default: "drop-oldest")
            guard let policy = BoundedStage<RawMessage>.DropPolicy(rawValue: policyName) else {
                throw ConfigError(file: path, key: ingest.path("drop_policy"), reason: "'\(policyName)' is not drop-oldest or drop-newest")
            }
            let file = try p.string("file")
            let pngDir = try p.optionalString("png_dir")
            let runtime = PipelineRuntimeConfiguration(
                endpoint: try ingest.string("endpoint"), bind: mode == "bind", socket: socket, dropPolicy: policy,
                receiveHighWaterMark: Int32(try ingest.int("high_water_mark", default: 2, range: 1...1_000_000)),
                inbox: try p.int("inbox", default: 4, range: 1...100_000),
                reconstructInbox: try p.int("reconstruct_inbox", default: 4, range: 1...100_000),
                workers: try p.int("workers", default: 1, range: 1...256),
                reorder: try p.bool("reorder", default: true), publishPNG: try p.bool("png", default: true),
                pngDirectory: pngDir.map { resolve($0, against: directory) })
            entries.append(PipelineEntry(file: resolve(file, against: directory), runtime: runtime))
        }
        return DaemonConfigFile(
            path: path, publish: try reader.string("publish"), control: try reader.optionalString("control"),
            drainTimeout: try reader.double("drain_timeout", default: 30, range: 0...86_400),
            lingerMs: Int32(try reader.int("linger_ms", default: 2000, range: 0...600_000)),
            blasThreads: try reader.int("blas_threads", default: 1, range: 1...256),
            statsInterval: try reader.double("stats_interval", default: 30, range: 0...86_400),
            pipelines: entries)
    }

    static func resolve(_ path: String, against directory: String) -> String {
        path.hasPrefix("/") || directory.isEmpty ? path : directory + "/" + path
    }

    /// Typed access to one YAML mapping, naming the dotted key in every error.
    struct Reader {
        let file: String
        let key: String
        let map: [String: Any]

        init(file: String, key: String, value: Any) throws {
            guard let map = value as? [String: Any] else {
                throw ConfigError(file: file, key: key, reason: "must be a mapping")
            }
            self.file = file
            self.key = key
            self.map = map
        }

        func path(_ name: String) -> String { key.isEmpty ? name : "\(key).\(name)" }

        func allow(_ keys: Set<String>) throws {
            if let unknown = map.keys.sorted().first(where: { !keys.contains($0) }) {
                throw ConfigError(file: file, key: path(unknown), reason: "unknown key (allowed: \(keys.sorted().joined(separator: ", ")))")
            }
        }

        func child(_ name: String) throws -> Reader {
            guard let value = map[name] else { throw ConfigError(file: file, key: path(name), reason: "missing") }
            return try Reader(file: file, key: path(name), value: value)
        }

        func list(_ name: String) throws -> [Any] {
            guard let value = map[name] else { throw ConfigError(file: file, key: path(name), reason: "missing") }
            guard let list = value as? [Any] else { throw ConfigError(file: file, key: path(name), reason: "must be a list") }
            return list
        }

        func string(_ name: String, default fallback: String? = nil) throws -> String {
            guard let value = map[name] else {
                if let fallback { return fallback }
                throw ConfigError(file: file, key: path(name), reason: "missing")
            }
            guard let s = value as? String else { throw ConfigError(file: file, key: path(name), reason: "must be a string, got \(value)") }
            return s
        }

        func optionalString(_ name: String) throws -> String? {
            guard let value = map[name], !(value is NSNull) else { return nil }
            return try string(name)
        }

        func int(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
            guard let value = map[name] else { return fallback }
            guard let n = value as? Int else { throw ConfigError(file: file, key: path(name), reason: "must be an integer, got \(value)") }
            guard range.contains(n) else { throw ConfigError(file: file, key: path(name), reason: "\(n) is outside \(range)") }
            return n
        }

        func double(_ name: String, default fallback: Double, range: ClosedRange<Double>) throws -> Double {
            guard let value = map[name] else { return fallback }
            let number: Double? = (value as? Double) ?? (value as? Int).map(Double.init)
            guard let x = number else { throw ConfigError(file: file, key: path(name), reason: "must be a number, got \(value)") }
            guard range.contains(x) else { throw ConfigError(file: file, key: path(name), reason: "\(x) is outside \(range)") }
            return x
        }

        func bool(_ name: String, default fallback: Bool) throws -> Bool {
            guard let value = map[name] else { return fallback }
            guard let b = value as? Bool else { throw ConfigError(file: file, key: path(name), reason: "must be true or false, got \(value)") }
            return b
        }
    }
}
