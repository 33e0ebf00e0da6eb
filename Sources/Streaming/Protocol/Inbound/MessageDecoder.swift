import Support

/// Validates one inbound multipart message against a pipeline's interface: the reader side of
/// docs/PROTOCOL.md §1, in exactly the documented order (the first failure decides the code):
///
///     parts (1–3)            malformed_message
///     header ≤ 64 KiB, JSON  malformed_header     (StrictJSON: types kept apart, depth ≤ 32)
///     lpnd present           malformed_header
///     lpnd == integer 1      unsupported_version
///     type                   malformed_header     ("measurement", "ping" with one part, or "mrd":
///                                                  then decodeMRD's checks, docs/PROTOCOL.md §8)
///     key types              malformed_header     (stream, seq, timestamp, pipeline, shape,
///                                                  dtype, byte_order, reference)
///     stream id              malformed_header
///     pipeline               unknown_pipeline
///     dtype                  dtype_mismatch
///     shape                  shape_mismatch
///     byte_order             malformed_header
///     lines (optional)       malformed_header     (MRI pipelines: distinct rows in 0..<H)
///     part 1 size            payload_size
///     reference ⇔ part 2     malformed_message
///     part 2 size            payload_size
///     finite values          non_finite           (part 1, then part 2)
public struct MessageDecoder: Sendable {
    public let interface: PipelineInterface

    public init(interface: PipelineInterface) {
        self.interface = interface
    }

    /// A valid inbound message.
    public enum Decoded: Sendable {
        case frame(InboundFrame)
        case ping(Ping)
        /// An MRD message of an `input: mrd` pipeline (docs/PROTOCOL.md §8), for frame assembly.
        case mrd(stream: String, message: MRDMessage)
    }

    /// What is known of a message that failed, for its error event.
    public struct Rejection: Error, Sendable {
        public var event: ErrorEvent
    }

    public func decode(_ parts: [[UInt8]], receivedAt: Double) -> Result<Decoded, Rejection> {
        var stream: String?, seq: UInt64?
        func reject(_ code: ErrorCode, _ message: String) -> Result<Decoded, Rejection> {
            .failure(Rejection(event: ErrorEvent(stream: stream, seq: seq, pipeline: interface.name, code: code, message: message)))
        }
        guard (1...3).contains(parts.count) else {
            (stream, seq) = Self.identification(of: parts)
            return reject(.malformedMessage, "expected 2 or 3 parts (header, measurement[, reference]) or 1 (ping), got \(parts.count)")
        }
        let object: StrictJSON
        switch Self.headerObject(parts[0]) {
        case .success(let parsed): object = parsed
        case .failure(let problem): return reject(.malformedHeader, problem.text)
        }
        // Echoed in the error event when readable, so the sender can match it to its message.
        (stream, seq) = Self.identification(object)

        guard let version = object["lpnd"] else {
            return reject(.malformedHeader, "missing key 'lpnd' (protocol version)")
        }
        guard version.int64Value == Int64(WireProtocol.version) else {
            return reject(.unsupportedVersion, "protocol version \(version.excerpt) is not supported (this daemon speaks the integer \(WireProtocol.version))")
        }
        guard let typeValue = object["type"] else { return reject(.malformedHeader, "missing key 'type'") }
        guard let type = typeValue.stringValue else { return reject(.malformedHeader, "key 'type' must be a string, got \(typeValue.typeName)") }
        switch type {
        case "ping":
            guard parts.count == 1 else { return reject(.malformedMessage, "a ping has 1 part, got \(parts.count)") }
            if let problem = Self.typeProblem(object, keys: ["stream", "seq"]) { return reject(.malformedHeader, problem) }
            let ping = Ping(stream: object["stream"]!.stringValue!, seq: object["seq"]!.uint64Value!)
            guard WireProtocol.isValidStreamID(ping.stream) else { return reject(.malformedHeader, Self.streamProblem(ping.stream)) }
            return .success(.ping(ping))
        case "measurement":
            guard parts.count >= 2 else { return reject(.malformedMessage, "a measurement has 2 or 3 parts, got 1") }
            guard interface.mrd == nil else {
                return reject(.malformedHeader, "pipeline '\(interface.name)' takes MRD input: send type 'mrd' messages (docs/PROTOCOL.md §8)")
            }
        case "mrd":
            return decodeMRD(object, parts, reject)
        default:
            return reject(.malformedHeader, "header type \(Self.quote(type)) is not 'measurement', 'mrd' or 'ping'")
        }
        return decodeMeasurement(object, parts, receivedAt: receivedAt, reject)
    }

    /// A measurement message, from its keys' types on (the order of the table above).
    private func decodeMeasurement(_ object: StrictJSON, _ parts: [[UInt8]], receivedAt: Double,
                                   _ reject: (ErrorCode, String) -> Result<Decoded, Rejection>) -> Result<Decoded, Rejection> {
        if let problem = Self.typeProblem(object, keys: Self.measurementKeys) { return reject(.malformedHeader, problem) }

        // Every key has its type now.
        let streamID = object["stream"]!.stringValue!
        let pipeline = object["pipeline"]!.stringValue!
        let dtype = object["dtype"]!.stringValue!
        let shape = object["shape"]!
        let byteOrder = object["byte_order"]!.stringValue!
        let wantsReference = object["reference"]?.boolValue ?? false
        guard WireProtocol.isValidStreamID(streamID) else { return reject(.malformedHeader, Self.streamProblem(streamID)) }
        guard pipeline == interface.name else {
            return reject(.unknownPipeline, "pipeline \(Self.quote(pipeline)) is not served on this endpoint (it serves '\(interface.name)')")
        }
        guard dtype == interface.measurementDType.rawValue else {
            return reject(.dtypeMismatch, "dtype \(Self.quote(dtype)) does not match pipeline '\(interface.name)' (\(interface.measurementDType.rawValue))")
        }
        guard shape == .array(interface.measurementShape.map { .integer(String($0)) }) else {
            return reject(.shapeMismatch, "shape \(shape.excerpt) does not match pipeline '\(interface.name)' (\(interface.measurementShape))")
        }
        guard byteOrder == "little" else {
            return reject(.malformedHeader, "byte_order \(Self.quote(byteOrder)) is not supported (payloads are little-endian)")
        }
        var lines: [Int]? = nil
        if let value = object["lines"] {
            switch Self.linesProblem(value, rows: interface.lineRows, pipeline: interface.name) {
            case .success(let rows): lines = rows
            case .failure(let problem): return reject(.malformedHeader, problem.text)
            }
        }
        let expectedBytes = interface.measurementFloats * 4
        guard parts[1].count == expectedBytes else {
            return reject(.payloadSize, "measurement part has \(parts[1].count) bytes, shape \(interface.measurementShape) \(interface.measurementDType.rawValue) needs \(expectedBytes)")
        }
        guard wantsReference == (parts.count == 3) else {
            return reject(.malformedMessage, wantsReference ? "header says reference: true but there is no part 2"
                                                             : "part 2 present but the header does not say reference: true")
        }
        if wantsReference {
            guard parts[2].count == interface.imageCount * 4 else {
                return reject(.payloadSize, "reference part has \(parts[2].count) bytes, image shape \(interface.imageShape) float32 needs \(interface.imageCount * 4)")
            }
        }
        let measurement = WireProtocol.floats(parts[1])
        if let index = measurement.firstIndex(where: { !$0.isFinite }) {
            return reject(.nonFinite, "measurement value \(measurement[index]) at float index \(index) is not finite")
        }
        var reference: [Float]?
        if wantsReference {
            let values = WireProtocol.floats(parts[2])
            if let index = values.firstIndex(where: { !$0.isFinite }) {
                return reject(.nonFinite, "reference value \(values[index]) at index \(index) is not finite")
            }
            reference = values
        }
        let header = MeasurementHeader(
            stream: streamID, seq: object["seq"]!.uint64Value!, timestamp: object["timestamp"]!.finiteDoubleValue!,
            pipeline: pipeline, shape: interface.measurementShape, dtype: interface.measurementDType,
            reference: wantsReference, lines: lines)
        return .success(.frame(InboundFrame(header: header, measurement: measurement, reference: reference, receivedAt: receivedAt,
                                            sampledRows: lines)))
    }

    /// An MRD message: envelope {lpnd, type: "mrd", stream, pipeline} and one MRD message part.
    private func decodeMRD(_ object: StrictJSON, _ parts: [[UInt8]],
                           _ reject: (ErrorCode, String) -> Result<Decoded, Rejection>) -> Result<Decoded, Rejection> {
        guard parts.count == 2 else { return reject(.malformedMessage, "an mrd message has 2 parts (envelope, MRD message), got \(parts.count)") }
        if let problem = Self.typeProblem(object, keys: ["stream", "pipeline"]) { return reject(.malformedHeader, problem) }
        let streamID = object["stream"]!.stringValue!, pipeline = object["pipeline"]!.stringValue!
        guard WireProtocol.isValidStreamID(streamID) else { return reject(.malformedHeader, Self.streamProblem(streamID)) }
        guard pipeline == interface.name else {
            return reject(.unknownPipeline, "pipeline \(Self.quote(pipeline)) is not served on this endpoint (it serves '\(interface.name)')")
        }
        guard interface.mrd != nil else {
            return reject(.malformedHeader, "pipeline '\(interface.name)' takes measurement messages, not MRD (its file has no 'input: mrd')")
        }
        switch MRDMessage.decode(parts[1]) {
        case .failure(let problem): return reject(.malformedMessage, problem.description)
        case .success(let message): return .success(.mrd(stream: streamID, message: message))
        }
    }

    /// The stream and seq of a message, when its header is readable and they are valid; for
    /// error events about messages that are not decoded (dropped, drain timeout).
    public static func identification(of parts: [[UInt8]]) -> (stream: String?, seq: UInt64?) {
        guard let first = parts.first, case .success(let object) = headerObject(first) else { return (nil, nil) }
        return identification(object)
    }

    // MARK: Header rules

    struct Problem: Error { let text: String }

    static func headerObject(_ bytes: [UInt8]) -> Result<StrictJSON, Problem> {
        guard bytes.count <= WireProtocol.maxHeaderBytes else {
            return .failure(Problem(text: "header part has \(bytes.count) bytes; the limit is \(WireProtocol.maxHeaderBytes)"))
        }
        let value: StrictJSON
        do { value = try StrictJSON.parse(bytes) } catch { return .failure(Problem(text: "part 0 is not valid JSON: \(error)")) }
        guard case .object = value else { return .failure(Problem(text: "part 0 is \(value.typeName), not a JSON object")) }
        return .success(value)
    }

    static func identification(_ object: StrictJSON) -> (stream: String?, seq: UInt64?) {
        (object["stream"]?.stringValue.flatMap { WireProtocol.isValidStreamID($0) ? $0 : nil }, object["seq"]?.uint64Value)
    }

    /// The measurement header's keys after `type`, in the order their types are checked.
    static let measurementKeys = ["stream", "seq", "timestamp", "pipeline", "shape", "dtype", "byte_order", "reference"]

    /// What the first key of `keys` with a missing value or a wrong type is missing; nil when
    /// all are present (`reference` is optional) with the right JSON types.
    static func typeProblem(_ object: StrictJSON, keys: [String]) -> String? {
        for key in keys {
            guard let value = object[key] else {
                if key == "reference" { continue }
                return "missing key '\(key)'"
            }
            let (valid, expected): (Bool, String) = switch key {
            case "seq": (value.uint64Value != nil, "an integer from 0 to 18446744073709551615 (no fraction or exponent)")
            case "timestamp": (value.finiteDoubleValue != nil, "a finite number (seconds since the epoch)")
            case "shape": (Self.isIntegerArray(value), "an array of integers")
            case "reference": (value.boolValue != nil, "true or false")
            default: (value.stringValue != nil, "a string")
            }
            if !valid { return "key '\(key)' must be \(expected), got \(value.excerpt)" }
        }
        return nil
    }

    /// A measurement's `lines`: a non-empty array of distinct integers in 0..<rows, for a
    /// pipeline that takes them.
    static func linesProblem(_ value: StrictJSON, rows: Int?, pipeline: String) -> Result<[Int], Problem> {
        guard let rows else {
            return .failure(Problem(text: "pipeline '\(pipeline)' samples with its own fixed mask; key 'lines' is for MRI pipelines"))
        }
        guard case .array(let items) = value, !items.isEmpty,
              case let values = items.compactMap({ $0.int64Value }), values.count == items.count else {
            return .failure(Problem(text: "key 'lines' must be a non-empty array of integers (phase-encode rows), got \(value.excerpt)"))
        }
        if let bad = values.first(where: { $0 < 0 || $0 >= Int64(rows) }) {
            return .failure(Problem(text: "key 'lines': row \(bad) is outside 0..<\(rows)"))
        }
        let lines = values.map { Int($0) }
        guard Set(lines).count == lines.count else { return .failure(Problem(text: "key 'lines' names a row twice")) }
        return .success(lines)
    }

    static func isIntegerArray(_ value: StrictJSON) -> Bool {
        guard case .array(let items) = value else { return false }
        return items.allSatisfy { if case .integer = $0 { true } else { false } }
    }

    /// A client's string in an error message: quoted, control characters escaped, at most 64
    /// characters (messages and log lines stay one short line whatever was sent).
    static func quote(_ text: String) -> String { "'" + escapingControlCharacters(text, limit: 64) + "'" }

    static func streamProblem(_ id: String) -> String {
        "stream id \(quote(id)) must be 1–64 characters of [A-Za-z0-9_.-], not starting with '_'"
    }
}

#if _endian(big)
#error("lpnd's wire format is little-endian; big-endian hosts need byte swapping")
#endif
