import Foundation
import Yams

/// A typed view of one YAML mapping of a configuration file (pipeline files, `lpnd.yaml`):
/// every read names its dotted key and line, every failure becomes
/// ``ReconstructionError/invalidPipeline(file:key:reason:)``, and keys that nothing read are
/// rejected by ``finish()``.
public final class YAMLSection {
    let file: String
    let path: String
    let node: Node
    private var entries: [(String, Node)] = []
    private var read: Set<String> = []

    init(file: String, path: String, node: Node) throws {
        self.file = file
        self.path = path
        self.node = node
        guard let mapping = node.mapping else {
            throw Self.error(file, path, node, "expected a mapping of keys, got \(Self.describe(node))")
        }
        for (k, v) in mapping {
            guard let key = k.string, k.scalar != nil else {
                throw Self.error(file, path, k, "keys must be strings")
            }
            if entries.contains(where: { $0.0 == key }) {
                throw Self.error(file, qualify(key), k, "duplicate key")
            }
            entries.append((key, v))
        }
    }

    public static func load(file: String) throws -> YAMLSection {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ReconstructionError.invalidPipeline(file: file, key: "", reason: "cannot read the file")
        }
        let text = String(decoding: data, as: UTF8.self)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ReconstructionError.invalidPipeline(file: file, key: "", reason: "not valid YAML: \(error)")
        }
        guard let root else {
            throw ReconstructionError.invalidPipeline(file: file, key: "", reason: "the file is empty")
        }
        return try YAMLSection(file: file, path: "", node: root)
    }

    func qualify(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    static func error(_ file: String, _ key: String, _ node: Node?, _ reason: String) -> ReconstructionError {
        let place = node?.mark.map { "\(file):\($0.line)" } ?? file
        return .invalidPipeline(file: place, key: key, reason: reason)
    }

    public func fail(_ key: String, _ reason: String) -> ReconstructionError {
        Self.error(file, qualify(key), value(key) ?? node, reason)
    }

    public func has(_ key: String) -> Bool { entries.contains { $0.0 == key } }

    private func value(_ key: String) -> Node? { entries.first { $0.0 == key }?.1 }

    private func take(_ key: String) -> Node? {
        read.insert(key)
        guard let v = value(key) else { return nil }
        if case .scalar(let s) = v, s.style == .plain, ["", "~", "null", "Null", "NULL"].contains(s.string) {
            return nil
        }
        return v
    }

    private func scalar(_ key: String, _ node: Node, _ type: String) throws -> String {
        guard case .scalar(let s) = node else {
            throw Self.error(file, qualify(key), node, "expected \(type), got \(Self.describe(node))")
        }
        return s.string
    }

    public func required<T>(_ key: String, _ get: (String) throws -> T?) throws -> T {
        guard let v = try get(key) else { throw Self.error(file, qualify(key), node, "missing (required)") }
        return v
    }

    public func string(_ key: String) throws -> String? {
        guard let node = take(key) else { return nil }
        return try scalar(key, node, "a string")
    }

    public func int(_ key: String, range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let node = take(key) else { return nil }
        let text = try scalar(key, node, "an integer")
        guard let v = node.int else {
            throw Self.error(file, qualify(key), node, "expected an integer, got '\(text)'")
        }
        if let range, !range.contains(v) {
            throw Self.error(file, qualify(key), node, "\(v) is out of range \(range.lowerBound)…\(range.upperBound)")
        }
        return v
    }

    public func double(_ key: String, min: Double? = nil, max: Double? = nil, exclusiveMin: Bool = false) throws -> Double? {
        guard let node = take(key) else { return nil }
        let text = try scalar(key, node, "a number")
        guard let v = node.float ?? node.int.map(Double.init), v.isFinite else {
            throw Self.error(file, qualify(key), node, "expected a finite number, got '\(text)'")
        }
        if let min, exclusiveMin ? v <= min : v < min {
            throw Self.error(file, qualify(key), node, "\(text) must be \(exclusiveMin ? ">" : "≥") \(min)")
        }
        if let max, v > max {
            throw Self.error(file, qualify(key), node, "\(text) must be ≤ \(max)")
        }
        return v
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let node = take(key) else { return nil }
        let text = try scalar(key, node, "true or false")
        guard let v = node.bool else {
            throw Self.error(file, qualify(key), node, "expected true or false, got '\(text)'")
        }
        return v
    }

    public func choice<E: RawRepresentable & CaseIterable>(_ key: String, _: E.Type) throws -> E? where E.RawValue == String {
        guard let text = try string(key) else { return nil }
        guard let v = E(rawValue: text) else {
            let allowed = E.allCases.map { $0.rawValue }.joined(separator: ", ")
            throw fail(key, "'\(text)' is not one of: \(allowed)")
        }
        return v
    }

    public func ints(_ key: String) throws -> [Int]? {
        guard let node = take(key) else { return nil }
        guard let seq = node.sequence else {
            throw Self.error(file, qualify(key), node, "expected a list of integers, got \(Self.describe(node))")
        }
        return try seq.enumerated().map { i, item in
            guard item.scalar != nil, let v = item.int else {
                throw Self.error(file, qualify(key) + "[\(i)]", item, "expected an integer, got \(Self.describe(item))")
            }
            return v
        }
    }

    /// A string, or a list of strings: `.scalar` or `.list`.
    public enum Strings: Equatable, Sendable {
        case scalar(String)
        case list([String])
    }

    public func stringOrList(_ key: String) throws -> Strings? {
        guard let node = take(key) else { return nil }
        if node.scalar != nil { return .scalar(try scalar(key, node, "a string")) }
        guard let seq = node.sequence else {
            throw Self.error(file, qualify(key), node, "expected a string or a list of strings, got \(Self.describe(node))")
        }
        return .list(try seq.enumerated().map { i, item in try scalar("\(key)[\(i)]", item, "a string") })
    }

    public func section(_ key: String) throws -> YAMLSection? {
        guard let node = take(key) else { return nil }
        return try YAMLSection(file: file, path: qualify(key), node: node)
    }

    /// Each mapping of a list, as sections named `key[i]`.
    public func sections(_ key: String) throws -> [YAMLSection]? {
        guard let node = take(key) else { return nil }
        guard let seq = node.sequence else {
            throw Self.error(file, qualify(key), node, "expected a list, got \(Self.describe(node))")
        }
        return try seq.enumerated().map { i, item in try YAMLSection(file: file, path: qualify(key) + "[\(i)]", node: item) }
    }

    /// Rejects every key that was not read.
    public func finish() throws {
        for (key, node) in entries where !read.contains(key) {
            let known = read.sorted().joined(separator: ", ")
            throw Self.error(file, qualify(key), node, "unknown key (known here: \(known))")
        }
    }
}
