import Foundation

/// What an MRD pipeline expects of its streams: the multi-coil k-space frame it reconstructs.
public struct MRDExpectation: Sendable, Equatable {
    public var coils: Int
    /// Reconstructed image rows (phase-encode lines) and columns.
    public var height: Int, width: Int
    /// Readout samples per line after discard (the oversampled readout, os·W).
    public var readoutLength: Int
    /// The fewest fully sampled central rows a frame needs (coil calibration).
    public var minimumCentralRows: Int

    public init(coils: Int, height: Int, width: Int, readoutLength: Int, minimumCentralRows: Int) {
        self.coils = coils
        self.height = height
        self.width = width
        self.readoutLength = readoutLength
        self.minimumCentralRows = minimumCentralRows
    }

    /// Bytes of the largest valid MRD message part (an acquisition with a 3-D trajectory, or the
    /// XML header).
    public var maxPartBytes: Int {
        max(6 + MRDMessage.maxHeaderBytes, 2 + MRDAcquisition.headerBytes + (12 + 8 * coils) * 2 * readoutLength)
    }
}

/// Turns each stream's MRD messages into frames (docs/PROTOCOL.md §8). Confined to one thread
/// (the decode stage's worker, or an MRD TCP session's reader), so it needs no lock:
///
///     config, text, waveform, image, ndarray   accepted, not used (``Output/ignored(kind:)``)
///     header       checked: recon matrix = the image, encoded matrix = H × readout, channels
///     acquisition  non-imaging lines (noise, navigator, …) skipped; checked (samples, channels,
///                  line in range, 2-D); its line goes into the stream's open frame with its
///                  counters (slice, contrast, phase, repetition, set, average): interleaved
///                  slices assemble side by side, at most ``maxOpenFrames`` per stream
///     end of slice that frame is complete → frame [C, H, os·W] (centred k-space), its sampled
///                  rows and ``MRDFrameInfo`` (lines the header's acceleration promises and the
///                  frame lacks are counted: the frame is flagged `missing_lines`)
///     close        open frames are reported incomplete; the stream's header is forgotten
///
/// Each acquisition ends in a frame, in an error event, or skipped (non-imaging); at most
/// ``maxStreams`` streams have state, each at most ``maxOpenFrames`` open frames, so memory is
/// bounded. Only published frames take a seq. After a rejected (or missing) header, a stream's
/// acquisitions are counted, not reported one by one: one error event says how many were
/// dropped, at the next header or close.
public final class MRDFrameAssembler {
    public let pipeline: String
    public let expectation: MRDExpectation
    public static let maxStreams = 64
    /// Frames one stream may have open at once (interleaved slices, contrasts, …).
    public static let maxOpenFrames = 8

    /// What one message produced.
    public enum Output: Sendable {
        case frame(InboundFrame)
        case error(ErrorEvent)
        /// A message accepted and not used (config, text, waveform, image, ndarray).
        case ignored(kind: String)
    }

    private struct Stream {
        var header: MRDXMLHeader?
        /// In the order they opened.
        var open: [MRDOpenFrame] = []
        var nextSeq: UInt64 = 0
        /// Acquisitions dropped since the stream's header was rejected (or missing): reported
        /// once, at the next header or close, instead of one event per line.
        var dropped: Int?
    }

    private var streams: [String: Stream] = [:]

    public init(pipeline: String, expectation: MRDExpectation) {
        self.pipeline = pipeline
        self.expectation = expectation
    }

    /// Streams with state (an accepted header or an open frame).
    public var streamCount: Int { streams.count }

    public func accept(stream id: String, message: MRDMessage, receivedAt: Double) -> [Output] {
        if streams[id] == nil, streams.count >= Self.maxStreams {
            return [error(id, .mrdHeader, "too many MRD streams with state (\(Self.maxStreams)); close one first (message id 4)")]
        }
        var stream = streams[id] ?? Stream()
        defer { streams[id] = stream.header == nil && stream.open.isEmpty && stream.dropped == nil ? nil : stream }
        var out: [Output] = []
        if let dropped = stream.dropped, message.endsRejection {
            stream.dropped = nil
            if dropped > 0 {
                out.append(error(id, .mrdHeader, "\(dropped) more acquisition(s) dropped: the stream had no valid MRD XML header"))
            }
        }
        switch message {
        case .configFile: return out + [.ignored(kind: "config_file")]
        case .configText: return out + [.ignored(kind: "config_text")]
        case .text: return out + [.ignored(kind: "text")]
        case .ignored(let kind, _): return out + [.ignored(kind: kind)]
        case .header(let xml):
            return out + abandonAll(id, &stream, because: "a new MRD header arrived before its end-of-slice line") + header(xml, id, &stream)
        case .close:
            defer { stream.header = nil }
            return out + abandonAll(id, &stream, because: "the stream closed before its end-of-slice line")
        case .acquisition(let line):
            return out + acquisition(line, id, &stream, receivedAt: receivedAt)
        }
    }

    private func acquisition(_ line: MRDAcquisition, _ id: String, _ stream: inout Stream, receivedAt: Double) -> [Output] {
        guard let header = stream.header else {
            if let dropped = stream.dropped {
                stream.dropped = dropped + 1
                return []
            }
            stream.dropped = 0
            return [error(id, .mrdHeader, "an acquisition arrived before a valid MRD XML header (message id 3) on this stream; later ones are counted until the next header or close")]
        }
        guard line.isImaging else { return [] }
        if let problem = problem(with: line) { return [error(id, .mrdAcquisition, problem)] }
        var out: [Output] = []
        let key = MRDOpenFrame.key(of: line)
        var index = stream.open.firstIndex { $0.key == key }
        if index == nil {
            if stream.open.count >= Self.maxOpenFrames {
                let oldest = stream.open.removeFirst()
                out.append(error(id, .mrdIncomplete, "\(Self.maxOpenFrames) frames were open when \(MRDOpenFrame.describe(key)) began; the oldest (\(MRDOpenFrame.describe(oldest.key))) is dropped with its \(oldest.rows.count) line(s)"))
            }
            stream.open.append(MRDOpenFrame(first: line, expectation: expectation, fieldOfView: header.fieldOfView))
            index = stream.open.count - 1
        }
        stream.open[index!].insert(line, expectation: expectation)
        guard line.has(.lastInSlice) else { return out }
        var frame = stream.open.remove(at: index!)
        let central = frame.centralRows(height: expectation.height)
        guard central >= expectation.minimumCentralRows else {
            return out + [error(id, .mrdIncomplete, "the frame (\(MRDOpenFrame.describe(frame.key))) ended with \(frame.rows.count) line(s) of which \(central) fully sampled around the k-space centre; coil calibration needs \(expectation.minimumCentralRows)")]
        }
        if let r = header.acceleration {
            let rows = 0...(expectation.height - 1)
            frame.info.missingLines = frame.missingLines(limits: header.step1Limits?.clamped(to: rows) ?? rows, acceleration: r)
        }
        let seq = stream.nextSeq
        stream.nextSeq += 1
        let shape = [expectation.coils, expectation.height, expectation.readoutLength]
        let measurement = MeasurementHeader(stream: id, seq: seq, timestamp: Date().timeIntervalSince1970, pipeline: pipeline,
                                            shape: shape, dtype: .complex64)
        return out + [.frame(InboundFrame(header: measurement, measurement: frame.values, reference: nil, receivedAt: receivedAt,
                                          sampledRows: frame.rows.sorted(), mrd: frame.info))]
    }

    /// Reports every open frame as incomplete (a header or a close came first).
    private func abandonAll(_ id: String, _ stream: inout Stream, because reason: String) -> [Output] {
        defer { stream.open = [] }
        return stream.open.map { frame in
            error(id, .mrdIncomplete, "frame \(MRDOpenFrame.describe(frame.key)): \(reason); \(frame.rows.count) line(s) dropped")
        }
    }

    /// A header message: checks the header against the pipeline (a bad one makes the stream
    /// drop, and count, acquisitions until the next header).
    private func header(_ xml: String, _ id: String, _ stream: inout Stream) -> [Output] {
        switch MRDXMLHeader.parse(xml) {
        case .failure(let problem):
            stream.header = nil
            stream.dropped = 0
            return [error(id, .mrdHeader, problem.description)]
        case .success(let header):
            if let problem = mismatch(header) {
                stream.header = nil
                stream.dropped = 0
                return [error(id, .mrdHeader, problem)]
            }
            stream.header = header
            return []
        }
    }

    private func error(_ stream: String, _ code: ErrorCode, _ message: String) -> Output {
        .error(ErrorEvent(stream: stream, seq: nil, pipeline: pipeline, code: code, message: message))
    }

    /// Why the header does not fit the pipeline, or nil.
    private func mismatch(_ h: MRDXMLHeader) -> String? {
        let e = expectation
        if h.reconY != e.height || h.reconX != e.width {
            return "MRD reconSpace matrix \(h.reconX)×\(h.reconY) (x × y) is not the pipeline's image \(e.width)×\(e.height)"
        }
        if h.encodedY != e.height || h.encodedX != e.readoutLength {
            return "MRD encodedSpace matrix \(h.encodedX)×\(h.encodedY) (x × y) is not the pipeline's k-space \(e.readoutLength)×\(e.height) (readout_oversampling × width × height)"
        }
        if let c = h.receiverChannels, c != e.coils {
            return "MRD receiverChannels \(c) is not the pipeline's \(e.coils) coils"
        }
        return nil
    }

    /// Why a line cannot go into a frame, or nil.
    private func problem(with line: MRDAcquisition) -> String? {
        let e = expectation
        if line.activeChannels != e.coils {
            return "acquisition has \(line.activeChannels) active channels; the pipeline has \(e.coils) coils"
        }
        if line.samples - line.discardPre - line.discardPost != e.readoutLength {
            return "acquisition has \(line.samples) samples (discard \(line.discardPre) + \(line.discardPost)); the pipeline's readout has \(e.readoutLength)"
        }
        if line.step1 >= e.height {
            return "kspace_encode_step_1 \(line.step1) is outside the \(e.height) phase-encode lines"
        }
        if line.step2 != 0 {
            return "kspace_encode_step_2 \(line.step2): lpnd reconstructs 2-D frames (step 2 must be 0)"
        }
        return nil
    }
}
