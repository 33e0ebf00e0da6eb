import ArgumentParser
import Streaming

/// `--server-key` and `--key` of the client commands: CURVE towards a daemon configured with
/// `curve:` (docs/DEPLOY.md, "Encryption and client keys").
struct CurveOptions: ParsableArguments {
    @Option(help: "The daemon's public key file (NAME.key from `lpnd keygen`); turns CURVE on.")
    var serverKey: String?
    @Option(help: "This client's secret key file (NAME.key_secret); its public key must be allowed by the daemon.")
    var key: String?

    func validate() throws {
        guard (serverKey == nil) == (key == nil) else {
            throw ValidationError("--server-key and --key go together")
        }
    }

    /// The client settings, or nil without CURVE.
    func load() throws -> CurveClient? {
        guard let serverKey, let key else { return nil }
        return CurveClient(serverKey: try CurveKeyPair.publicKey(file: serverKey), keys: try CurveKeyPair.load(secretFile: key))
    }
}
