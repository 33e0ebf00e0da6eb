import Foundation

/// Validates one inbound multipart message against a pipeline's interface.
///
/// Order of checks (the first failure decides the error code): part count, header JSON,
/// protocol version, header fields, pipeline name, dtype, shape, byte order, payload size,
/// reference part, finite values.
public struct MessageDecoder: Sendable {
    public let interface: PipelineInterface

    public init(interface: PipelineInterface) {
        self.interface = interface
    }

    /// What is known of a message that failed, for its error event.
    public struct Rejection: Error, Sendable {
        public var event: ErrorEvent
    }

    public func decode(_ parts: [[UInt8]], receivedAt: Double) -> Result<InboundFrame, Rejection> {
        func reject(_ code: ErrorCode, _ message: String, _ header: MeasurementHeader? = nil,
                    stream: String? = nil, seq: UInt64? = nil) -> Result<InboundFrame, Rejection> {
            .failure(Rejection(event: ErrorEvent(stream: header?.stream ?? stream, seq: header?.seq ?? seq,
                                                 pipeline: header?.pipeline ?? interface.name, code: code, message: message)))
        }
        guard parts.count == 2 || parts.count == 3 else {
            return reject(.malformedMessage, "expected 2 or 3 parts (header, measurement[, reference]), got \(parts.count)")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(parts[0]))) as? [String: Any] else {
            return reject(.malformedHeader, "part 0 is not a JSON object")
        }
        // Best-effort identification for the error event, before full validation.
        let stream = object["stream"] as? String
        let seq = (object["seq"] as? NSNumber).flatMap { $0.int64Value >= 0 ? UInt64($0.int64Value) : nil }
        guard let version = object["lpnd"] as? Int else {
            return reject(.malformedHeader, "header has no integer 'lpnd' (protocol version)", stream: stream, seq: seq)
        }
        guard version == WireProtocol.version else {
            return reject(.unsupportedVersion, "protocol version \(version) is not supported (this daemon speaks \(WireProtocol.version))",
                          stream: stream, seq: seq)
        }
        let header: MeasurementHeader
        switch Self.header(from: object) {
        case .success(let parsed): header = parsed
        case .failure(let problem): return reject(.malformedHeader, "header: \(problem.text)", stream: stream, seq: seq)
        }
        guard header.type == "measurement" else {
            return reject(.malformedHeader, "header type '\(header.type)' is not 'measurement'", header)
        }
        guard WireProtocol.isValidStreamID(header.stream) else {
            return reject(.malformedHeader, "stream id '\(header.stream)' must be 1–64 characters of [A-Za-z0-9_.-]", header)
        }
        guard header.pipeline == interface.name else {
            return reject(.unknownPipeline, "pipeline '\(header.pipeline)' is not served on this endpoint (it serves '\(interface.name)')", header)
        }
        guard header.dtype == interface.measurementDType else {
            return reject(.dtypeMismatch, "dtype \(header.dtype.rawValue) does not match pipeline '\(interface.name)' (\(interface.measurementDType.rawValue))", header)
        }
        guard header.shape == interface.measurementShape else {
            return reject(.shapeMismatch, "shape \(header.shape) does not match pipeline '\(interface.name)' (\(interface.measurementShape))", header)
        }
        guard header.byteOrder == "little" else {
            return reject(.malformedHeader, "byte_order '\(header.byteOrder)' is not supported (payloads are little-endian)", header)
        }
        let expectedBytes = interface.measurementFloats * 4
        guard parts[1].count == expectedBytes else {
            return reject(.payloadSize, "measurement part has \(parts[1].count) bytes, shape \(header.shape) \(header.dtype.rawValue) needs \(expectedBytes)", header)
        }
        let wantsReference = header.reference ?? false
        guard wantsReference == (parts.count == 3) else {
            return reject(.malformedMessage, wantsReference ? "header says reference: true but there is no part 2"
                                                             : "part 2 present but the header does not say reference: true", header)
        }
        let measurement = WireProtocol.floats(parts[1])
        if let index = measurement.firstIndex(where: { !$0.isFinite }) {
            return reject(.nonFinite, "measurement value \(measurement[index]) at float index \(index) is not finite", header)
        }
        var reference: [Float]?
        if wantsReference {
            guard parts[2].count == interface.imageCount * 4 else {
                return reject(.payloadSize, "reference part has \(parts[2].count) bytes, image shape \(interface.imageShape) float32 needs \(interface.imageCount * 4)", header)
            }
            let values = WireProtocol.floats(parts[2])
            if let index = values.firstIndex(where: { !$0.isFinite }) {
                return reject(.nonFinite, "reference value \(values[index]) at index \(index) is not finite", header)
            }
            reference = values
        }
        return .success(InboundFrame(header: header, measurement: measurement, reference: reference, receivedAt: receivedAt))
    }

    struct Problem: Error { let text: String }

    /// The header's fields from the already-parsed JSON object (one parse per message).
    static func header(from object: [String: Any]) -> Result<MeasurementHeader, Problem> {
        func fail(_ key: String, _ expected: String) -> Result<MeasurementHeader, Problem> {
            .failure(Problem(text: object[key] == nil ? "missing key '\(key)'" : "key '\(key)' must be \(expected)"))
        }
        func integer(_ value: Any?) -> Int? {
            guard let n = value as? NSNumber else { return nil }
            let d = n.doubleValue
            return d == d.rounded() && abs(d) < 9e15 ? Int(d) : nil
        }
        guard let type = object["type"] as? String else { return fail("type", "a string") }
        guard let stream = object["stream"] as? String else { return fail("stream", "a string") }
        guard let seq = integer(object["seq"]), seq >= 0 else { return fail("seq", "a non-negative integer") }
        guard let timestamp = (object["timestamp"] as? NSNumber)?.doubleValue, timestamp.isFinite else {
            return fail("timestamp", "a number (seconds since the epoch)")
        }
        guard let pipeline = object["pipeline"] as? String else { return fail("pipeline", "a string") }
        guard let shapeValues = object["shape"] as? [Any] else { return fail("shape", "an array of integers") }
        let shape = shapeValues.compactMap(integer)
        guard shape.count == shapeValues.count, shape.allSatisfy({ $0 >= 0 }) else { return fail("shape", "an array of non-negative integers") }
        guard let dtypeName = object["dtype"] as? String, let dtype = WireDType(rawValue: dtypeName) else {
            return fail("dtype", "\"float32\" or \"complex64\"")
        }
        guard let byteOrder = object["byte_order"] as? String else { return fail("byte_order", "a string") }
        var reference: Bool?
        if let value = object["reference"], !(value is NSNull) {
            guard let flag = value as? Bool else { return fail("reference", "true or false") }
            reference = flag
        }
        var header = MeasurementHeader(stream: stream, seq: UInt64(seq), timestamp: timestamp, pipeline: pipeline,
                                       shape: shape, dtype: dtype, reference: reference ?? false)
        header.type = type
        header.byteOrder = byteOrder
        header.reference = reference
        return .success(header)
    }

}

#if _endian(big)
#error("lpnd's wire format is little-endian; big-endian hosts need byte swapping")
#endif
