import CZeroMQ
import Foundation

/// CURVE key pairs and the certificate files that hold them (docs/DEPLOY.md, "Encryption and
/// client keys").
///
/// Files use the ZeroMQ certificate layout that pyzmq's `zmq.auth` and czmq also read and
/// write, so keys can be made with either tool:
///
///     metadata
///     curve
///         public-key = "<40 Z85 characters>"
///         secret-key = "<40 Z85 characters>"      (secret files only)
///
/// `NAME.key` holds the public key, `NAME.key_secret` (mode 0600) both.
public struct CurveKeyPair: Sendable {
    /// Z85 text, 40 characters.
    public var publicKey: String
    public var secretKey: String

    /// A fresh key pair from libzmq (libsodium underneath).
    public static func generate() throws -> CurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: 41), secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw ZMQError.last("zmq_curve_keypair") }
        return CurveKeyPair(publicKey: string(publicKey), secretKey: string(secretKey))
    }

    /// Reads a secret certificate file; checks that its public key belongs to its secret key.
    public static func load(secretFile path: String) throws -> CurveKeyPair {
        let fields = try CurveCertificate.fields(path)
        guard let secret = fields["secret-key"] else {
            throw CurveKeyError(path: path, reason: "no secret-key line (is this the public .key file? use the .key_secret file)")
        }
        guard let derived = derivePublic(secret) else { throw CurveKeyError(path: path, reason: "secret-key is not 40 Z85 characters") }
        if let stated = fields["public-key"], stated != derived {
            throw CurveKeyError(path: path, reason: "public-key does not belong to secret-key")
        }
        return CurveKeyPair(publicKey: derived, secretKey: secret)
    }

    /// The public key (Z85) of a certificate file, public or secret.
    public static func publicKey(file path: String) throws -> String {
        let fields = try CurveCertificate.fields(path)
        guard let key = fields["public-key"], CurveClientList.decode(key) != nil else {
            throw CurveKeyError(path: path, reason: "no valid public-key line")
        }
        return key
    }

    /// Writes `base.key` (public) and `base.key_secret` (both keys, mode 0600).
    public func write(base: String) throws {
        let comment = "#   ZeroMQ CURVE certificate written by `lpnd keygen`.\n"
        let publicText = comment + "#   Public: give this file to the peers that must trust it.\n\nmetadata\ncurve\n    public-key = \"\(publicKey)\"\n"
        let secretText = comment + "#   SECRET: keep this file private (mode 0600); never copy it to peers.\n\nmetadata\ncurve\n    public-key = \"\(publicKey)\"\n    secret-key = \"\(secretKey)\"\n"
        let secretPath = base + ".key_secret"
        guard FileManager.default.createFile(atPath: secretPath, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: secretPath) else {
            throw CurveKeyError(path: secretPath, reason: "cannot create")
        }
        try handle.write(contentsOf: Data(secretText.utf8))
        try handle.close()
        try Data(publicText.utf8).write(to: URL(fileURLWithPath: base + ".key"))
    }

    static func derivePublic(_ secret: String) -> String? {
        guard secret.utf8.count == 40 else { return nil }
        var publicKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicKey, secret) == 0 else { return nil }
        return string(publicKey)
    }

    static func string(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Public keys of the clients allowed to connect: 32-byte binary keys, as ZAP presents them.
public struct CurveClientList: Sendable, Equatable {
    public private(set) var keys: Set<[UInt8]>

    public init(keys: Set<[UInt8]> = []) { self.keys = keys }

    /// Every `*.key` file of a directory (the pyzmq/czmq convention), or a list whose entries
    /// are certificate files or Z85 keys.
    public static func load(directory: String) throws -> CurveClientList {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw CurveKeyError(path: directory, reason: "cannot read the directory of client keys")
        }
        return try load(entries: names.filter { $0.hasSuffix(".key") }.sorted().map { directory + "/" + $0 })
    }

    public static func load(entries: [String]) throws -> CurveClientList {
        var list = CurveClientList()
        for entry in entries {
            let z85: String
            if !FileManager.default.fileExists(atPath: entry), entry.utf8.count == 40 {
                z85 = entry
            } else {
                let fields = try CurveCertificate.fields(entry)
                guard let value = fields["public-key"] else { throw CurveKeyError(path: entry, reason: "no public-key line") }
                z85 = value
            }
            guard let key = decode(z85) else {
                throw CurveKeyError(path: entry.utf8.count == 40 ? "client key #\(list.keys.count + 1)" : entry,
                                    reason: "public-key is not 40 Z85 characters")
            }
            list.keys.insert(key)
        }
        return list
    }

    public func allows(_ key: [UInt8]) -> Bool { keys.contains(key) }

    /// Z85 (40 characters) to the 32-byte key; nil for anything else.
    public static func decode(_ z85: String) -> [UInt8]? {
        guard z85.utf8.count == 40 else { return nil }
        var key = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&key, z85) != nil else { return nil }
        return key
    }
}

public struct CurveKeyError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

/// The `key = "value"` lines of a certificate file (sections and comments ignored).
enum CurveCertificate {
    static func fields(_ path: String) throws -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CurveKeyError(path: path, reason: "cannot read the key file")
        }
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
            let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
            let value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: CharacterSet(charactersIn: " \t\"'"))
            fields[key] = value
        }
        return fields
    }
}
