import Foundation
import Streaming
import StreamingTestSupport
import TensorIO
import Support

/// Seeded generator of inbound messages for the fake pipeline (`fake`, float32 [4, 4], image
/// [4, 4]), each with the error code docs/PROTOCOL.md §1 predicts for it (nil: valid).
///
/// A message is a valid one with 1–3 independent defects, each tied to one step of the
/// documented validation order; the expected code is the code of the earliest step. This
/// oracle is written from the document, not from the decoder.
struct MalformedMessages {
    private var rng: SplitMix64
    /// Headers over WireProtocol.maxHeaderBytes; through a socket, ZMQ_MAXMSGSIZE refuses them
    /// before the daemon sees them when the pipeline's largest part is not larger.
    private let oversizedHeaders: Bool

    init(seed: UInt64, oversizedHeaders: Bool = true) {
        rng = SplitMix64(seed: seed)
        self.oversizedHeaders = oversizedHeaders
    }

    struct Message {
        var parts: [[UInt8]]
        var expected: String?
        var seq: UInt64
    }

    /// The validation steps, in the document's order, with their codes.
    enum Step: Int, CaseIterable {
        case partCount, headerSyntax, versionMissing, versionValue, type, keyType, streamID, pipeline,
             dtype, shape, byteOrder, part1Size, referenceAgreement, part2Size, nonFinite

        var code: String {
            switch self {
            case .partCount, .referenceAgreement: "malformed_message"
            case .headerSyntax, .versionMissing, .type, .keyType, .streamID, .byteOrder: "malformed_header"
            case .versionValue: "unsupported_version"
            case .pipeline: "unknown_pipeline"
            case .dtype: "dtype_mismatch"
            case .shape: "shape_mismatch"
            case .part1Size, .part2Size: "payload_size"
            case .nonFinite: "non_finite"
            }
        }
    }

    /// The message under construction: header fields as JSON text, in order.
    private struct Draft {
        var fields: [(key: String, json: String)]
        var header: [UInt8]?          // replaces the fields when set (syntax defects)
        var part1: [UInt8]
        var part2: [UInt8]?
        var extraParts: Int?          // replaces the part count when set

        func parts() -> [[UInt8]] {
            let text = "{" + fields.map { "\"\($0.key)\":\($0.json)" }.joined(separator: ",") + "}"
            var parts = [header ?? Array(text.utf8), part1]
            if let part2 { parts.append(part2) }
            if let count = extraParts { parts = (0..<count).map { $0 < parts.count ? parts[$0] : [] } }
            return parts
        }

        mutating func set(_ key: String, _ json: String?) {
            if let i = fields.firstIndex(where: { $0.key == key }) {
                if let json { fields[i].json = json } else { fields.remove(at: i) }
            } else if let json {
                fields.append((key, json))
            }
        }
    }

    mutating func next(seq: UInt64) -> Message {
        let withReference = pick(2) == 0
        var draft = Draft(
            fields: [("lpnd", "1"), ("type", "\"measurement\""), ("stream", "\"fz\""), ("seq", "\(seq)"),
                     ("timestamp", "\(1_700_000_000 + Double(pick(1000)) / 7)"), ("pipeline", "\"fake\""),
                     ("shape", "[4,4]"), ("dtype", "\"float32\""), ("byte_order", "\"little\"")],
            header: nil, part1: TestPeer.payload(seq: seq), part2: nil, extraParts: nil)
        if withReference {
            draft.set("reference", pick(2) == 0 ? "true" : " true ")
            draft.part2 = TestPeer.payload(seq: seq + 1)
        } else if pick(3) == 0 {
            draft.set("reference", "false")
        }
        if pick(10) == 0 { return Message(parts: draft.parts(), expected: nil, seq: seq) }

        var steps = Set<Step>()
        for _ in 0..<(1 + pick(3)) { steps.insert(Step.allCases[pick(Step.allCases.count)]) }
        var touched = Set<String>()
        for step in steps.sorted(by: { $0.rawValue > $1.rawValue }) {
            apply(step, to: &draft, touched: &touched, withReference: withReference)
        }
        let first = steps.min { $0.rawValue < $1.rawValue }!
        return Message(parts: draft.parts(), expected: first.code, seq: seq)
    }

    private mutating func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
    private mutating func choose<T>(_ options: [T]) -> T { options[pick(options.count)] }

    private static let nonFiniteBits: [UInt32] = [0x7FC0_0000, 0x7F80_0000, 0xFF80_0000, 0x7F80_0001]

    private mutating func apply(_ step: Step, to draft: inout Draft, touched: inout Set<String>, withReference: Bool) {
        switch step {
        case .partCount:
            draft.extraParts = choose([4, 5, 6])
        case .headerSyntax:
            draft.header = choose([
                Array("not json".utf8), Array("{\"lpnd\":1,".utf8), Array("[1,2]".utf8), Array("\"text\"".utf8),
                Array("3".utf8), Array("true".utf8), [], Array("{\"lpnd\":1}x".utf8),
                Array(("{\"a\":" + String(repeating: "[", count: 40 + pick(2000)) + String(repeating: "]", count: 40) + "}").utf8),
                Array("{\"lpnd\":1,\"lpnd\":1}".utf8), [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D],
                oversizedHeaders ? Array(("{\"pad\":\"" + String(repeating: "x", count: WireProtocol.maxHeaderBytes) + "\"}").utf8)
                    : Array("{\"pad\":".utf8),
                Array("{\"lpnd\":01}".utf8), Array("{\"lpnd\":1.}".utf8), Array("{\"s\":\"\\ud800\"}".utf8),
                (0..<(1 + pick(64))).map { _ in UInt8(truncatingIfNeeded: rng.next()) | 0x80 },
            ])
        case .versionMissing:
            draft.set("lpnd", nil)
        case .versionValue:
            draft.set("lpnd", choose(["2", "0", "-1", "true", "false", "\"1\"", "1.0", "1e0", "null", "[1]", "{}",
                                      "18446744073709551617"]))
        case .type:
            draft.set("type", choose([nil, "\"frame\"", "\"Measurement\"", "1", "true", "null", "[\"measurement\"]"]))
        case .keyType:
            let key = choose(["stream", "seq", "timestamp", "pipeline", "shape", "dtype", "byte_order", "reference"]
                .filter { !touched.contains($0) })
            touched.insert(key)
            let wrong: [String?] = switch key {
            case "seq": [nil, "true", "false", "-1", "3.0", "1e2", "\"7\"", "null", "18446744073709551616", "1180591620717411303424"]
            case "timestamp": [nil, "true", "\"now\"", "null", "1e400", "-1e999", "[]"]
            case "shape": [nil, "[true,true]", "[4.0,4]", "[\"4\",4]", "4", "null", "{\"0\":4}", "[[4],4]"]
            case "reference": ["0", "1", "null", "\"true\"", "[]"]
            default: [nil, "1", "true", "null", "[]", "{}", "0.5"]
            }
            draft.set(key, choose(wrong))
        case .streamID:
            guard !touched.contains("stream") else { return }
            touched.insert("stream")
            draft.set("stream", choose(["\"\"", "\"_\"", "\"_x\"", "\"a/b\"", "\"a b\"", "\"é\"",
                                        "\"\(String(repeating: "s", count: 65))\""]))
        case .pipeline:
            guard !touched.contains("pipeline") else { return }
            touched.insert("pipeline")
            draft.set("pipeline", choose(["\"nope\"", "\"Fake\"", "\"\"", "\"fake \""]))
        case .dtype:
            guard !touched.contains("dtype") else { return }
            touched.insert("dtype")
            draft.set("dtype", choose(["\"complex64\"", "\"complex128\"", "\"float64\"", "\"\"", "\"int8\""]))
        case .shape:
            guard !touched.contains("shape") else { return }
            touched.insert("shape")
            draft.set("shape", choose(["[]", "[16]", "[4,4,1]", "[-4,-4]", "[4,5]", "[0,4]",
                                       "[18446744073709551616,4]", "[4,-0]"]))
        case .byteOrder:
            guard !touched.contains("byte_order") else { return }
            touched.insert("byte_order")
            draft.set("byte_order", choose(["\"big\"", "\"Little\"", "\"\""]))
        case .part1Size:
            let count = choose([0, 1, 63, 65, 128, 4096])
            draft.part1 = (0..<count).map { UInt8(truncatingIfNeeded: $0) }
        case .referenceAgreement:
            // Disagree with whatever the flag says now.
            let flag = draft.fields.first { $0.key == "reference" }?.json.trimmingCharacters(in: .whitespaces)
            draft.part2 = flag == "true" ? nil : TestPeer.payload(seq: 0)
        case .part2Size:
            guard withReference else {
                // Make it a reference message first, with a wrong-sized reference.
                draft.set("reference", "true")
                draft.part2 = Array(repeating: 0, count: choose([0, 60, 68]))
                return
            }
            draft.part2 = Array(repeating: 0, count: choose([0, 4, 60, 68, 1024]))
        case .nonFinite:
            let bits = choose(Self.nonFiniteBits)
            if withReference && pick(2) == 0, draft.part2 != nil, draft.part2!.count >= 4 {
                poke(&draft.part2!, bits)
            } else if draft.part1.count >= 4 {
                poke(&draft.part1, bits)
            }
        }
    }

    private mutating func poke(_ bytes: inout [UInt8], _ bits: UInt32) {
        let index = pick(bytes.count / 4) * 4
        withUnsafeBytes(of: bits.littleEndian) { for i in 0..<4 { bytes[index + i] = $0[i] } }
    }
}
