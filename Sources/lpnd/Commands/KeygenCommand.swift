import ArgumentParser
import Foundation
import Streaming

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make a CURVE key pair: NAME.key (public) and NAME.key_secret (secret, mode 0600).",
        discussion: """
            One pair for the daemon (curve.secret_key in lpnd.yaml; its NAME.key goes to every client) \\
            and one per client (its NAME.key goes into the daemon's curve.clients). The files are \\
            ZeroMQ certificates, readable by pyzmq's zmq.auth.load_certificate. See docs/DEPLOY.md.
            """)

    @Argument(help: "Path and base name of the two files, e.g. keys/server.") var name: String
    @Flag(help: "Replace existing files.") var force = false

    func run() throws {
        for path in [name + ".key", name + ".key_secret"] where FileManager.default.fileExists(atPath: path) && !force {
            throw ValidationError("\(path) exists; pass --force to replace it")
        }
        if force { try? FileManager.default.removeItem(atPath: name + ".key_secret") }
        let directory = (name as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        try CurveKeyPair.generate().write(base: name)
        print("wrote \(name).key (public) and \(name).key_secret (secret, mode 0600)")
    }
}
