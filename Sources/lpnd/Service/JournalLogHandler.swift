import Foundation
import Logging
import Streaming
import Support

/// swift-log handler for a daemon under systemd: one line per event on stderr, written with a
/// single write(2) so lines never interleave. Under journald (JOURNAL_STREAM set) each line
/// starts with its syslog priority (`<3>` error … `<7>` debug), which journald stores as the
/// entry's priority (`journalctl -p warning` then works); elsewhere with `lpnd <level>:`.
/// Metadata follows the message as `key=value`, sorted by key; control characters are escaped,
/// so a line can never be split or forged by text a client sent.
struct JournalLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    let journal: Bool

    init(logLevel: Logger.Level, journal: Bool = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil) {
        self.logLevel = logLevel
        self.journal = journal
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
             source: String, file: String, function: String, line: UInt) {
        var line = journal ? "<\(Self.priority(level))>" : "lpnd \(level): "
        line += message.description
        let merged = metadata.merging(explicit ?? [:]) { $1 }
        if !merged.isEmpty {
            line += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        // Control characters (a client's text in a message, say) are escaped: one event, one line.
        line = escapingControlCharacters(line) + "\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }

    /// syslog priorities (sd-daemon(3)).
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}

extension Logger {
    /// For the client commands (demo, bench): only errors, on stderr.
    static let errorsOnly = Logger(label: "lpnd") { _ in JournalLogHandler(logLevel: .error) }
}
