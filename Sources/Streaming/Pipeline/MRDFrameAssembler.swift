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

/// Turns each stream's MRD messages into frames (docs/PROTOCOL.md §8). Confined to the decode
/// stage's single worker, like the decoder, so it needs no lock:
///
///     header       checked: recon matrix = the image, encoded matrix = H × readout, channels
///     acquisition  non-imaging lines (noise, navigator, …) skipped; checked (samples, channels,
///                  line in range, 2-D); its line goes into the stream's open frame, keyed by
///                  (slice, contrast, phase, repetition, set, average)
///     end of slice the frame is complete → frame [C, H, os·W] (centred k-space) + sampled rows
///     close        an open frame is reported incomplete; the stream's header is forgotten
///
/// Each acquisition ends in a frame, in an error event, or skipped (non-imaging); at most
/// ``maxStreams`` streams have state, and each at most one open frame, so memory is bounded.
/// After a rejected (or missing) header, a stream's acquisitions are counted, not reported one
/// by one: one error event says how many were dropped, at the next header or close.
public final class MRDFrameAssembler {
    public let pipeline: String
    public let expectation: MRDExpectation
    public static let maxStreams = 64

    /// What one message produced.
    public enum Output: Sendable {
        case frame(InboundFrame)
        case error(ErrorEvent)
    }

    private struct Partial {
        var key: [Int]
        var seq: UInt64
        var values: [Float]
        var rows: Set<Int> = []
    }

    private struct Stream {
        var header: MRDXMLHeader?
        var open: Partial?
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
            return [error(id, nil, .mrdHeader, "too many MRD streams with state (\(Self.maxStreams)); close one first (message id 4)")]
        }
        var stream = streams[id] ?? Stream()
        defer { streams[id] = stream.header == nil && stream.open == nil && stream.dropped == nil ? nil : stream }
        var out: [Output] = []
        if let dropped = stream.dropped, message.endsRejection {
            stream.dropped = nil
            if dropped > 0 {
                out.append(error(id, nil, .mrdHeader, "\(dropped) more acquisition(s) dropped: the stream had no valid MRD XML header"))
            }
        }
        switch message {
        case .header(let xml):
            return out + header(xml, id, &stream)
        case .close:
            defer { stream.header = nil }
            guard let open = stream.open else { return out }
            stream.open = nil
            stream.nextSeq += 1
            return out + [error(id, open.seq, .mrdIncomplete, "the stream closed before the frame's end-of-slice line; \(open.rows.count) line(s) dropped")]
        case .acquisition(let line):
            guard stream.header != nil else {
                if let dropped = stream.dropped {
                    stream.dropped = dropped + 1
                    return out
                }
                stream.dropped = 0
                return [error(id, nil, .mrdHeader, "an acquisition arrived before a valid MRD XML header (message id 3) on this stream; later ones are counted until the next header or close")]
            }
            guard line.isImaging else { return out }
            if let problem = problem(with: line) {
                return [error(id, stream.open?.seq ?? stream.nextSeq, .mrdAcquisition, problem)]
            }
            let key = [line.slice, line.contrast, line.phase, line.repetition, line.set, line.average]
            if let open = stream.open, open.key != key {
                out.append(error(id, open.seq, .mrdIncomplete, "counters changed from \(describe(open.key)) to \(describe(key)) before the end-of-slice line; \(open.rows.count) line(s) dropped"))
                stream.open = nil
                stream.nextSeq += 1
            }
            if stream.open == nil {
                stream.open = Partial(key: key, seq: stream.nextSeq,
                                      values: [Float](repeating: 0, count: 2 * expectation.coils * expectation.height * expectation.readoutLength))
            }
            insert(line, into: &stream.open!)
            guard line.has(.lastInSlice) else { return out }
            let frame = stream.open!
            stream.open = nil
            stream.nextSeq += 1
            let central = centralRows(frame.rows)
            guard central >= expectation.minimumCentralRows else {
                out.append(error(id, frame.seq, .mrdIncomplete, "the frame ended with \(frame.rows.count) line(s) of which \(central) fully sampled around the k-space centre; coil calibration needs \(expectation.minimumCentralRows)"))
                return out
            }
            let shape = [expectation.coils, expectation.height, expectation.readoutLength]
            let header = MeasurementHeader(stream: id, seq: frame.seq, timestamp: Date().timeIntervalSince1970, pipeline: pipeline,
                                           shape: shape, dtype: .complex64)
            out.append(.frame(InboundFrame(header: header, measurement: frame.values, reference: nil, receivedAt: receivedAt,
                                           sampledRows: frame.rows.sorted())))
            return out
        }
    }

    /// A header message: closes an open frame as incomplete, then checks the header against the
    /// pipeline (a bad one makes the stream drop, and count, acquisitions until the next header).
    private func header(_ xml: String, _ id: String, _ stream: inout Stream) -> [Output] {
        var out: [Output] = []
        if let open = stream.open {
            out.append(error(id, open.seq, .mrdIncomplete, "a new MRD header arrived before the frame's end-of-slice line; \(open.rows.count) line(s) dropped"))
            stream.open = nil
            stream.nextSeq += 1
        }
        switch MRDXMLHeader.parse(xml) {
        case .failure(let problem):
            stream.header = nil
            stream.dropped = 0
            out.append(error(id, nil, .mrdHeader, problem.description))
        case .success(let header):
            if let problem = mismatch(header) {
                stream.header = nil
                stream.dropped = 0
                out.append(error(id, nil, .mrdHeader, problem))
            } else {
                stream.header = header
            }
        }
        return out
    }

    private func error(_ stream: String, _ seq: UInt64?, _ code: ErrorCode, _ message: String) -> Output {
        .error(ErrorEvent(stream: stream, seq: seq, pipeline: pipeline, code: code, message: message))
    }

    private func describe(_ key: [Int]) -> String {
        "slice \(key[0]) contrast \(key[1]) phase \(key[2]) repetition \(key[3]) set \(key[4]) average \(key[5])"
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

    private func insert(_ line: MRDAcquisition, into frame: inout Partial) {
        let e = expectation, n = e.readoutLength, reverse = line.has(.reverse)
        for c in 0..<e.coils {
            let dst = 2 * ((c * e.height + line.step1) * n)
            let src = 2 * (c * line.samples + line.discardPre)
            for s in 0..<n {
                let from = src + 2 * (reverse ? n - 1 - s : s)
                frame.values[dst + 2 * s] = line.data[from]; frame.values[dst + 2 * s + 1] = line.data[from + 1]
            }
        }
        frame.rows.insert(line.step1)
    }

    /// Rows around the centre (H/2 in MRD's centred k-space) sampled without a gap.
    private func centralRows(_ rows: Set<Int>) -> Int {
        let c = expectation.height / 2
        guard rows.contains(c) else { return 0 }
        var low = c, high = c
        while rows.contains(low - 1) { low -= 1 }
        while rows.contains(high + 1) { high += 1 }
        return high - low + 1
    }
}
