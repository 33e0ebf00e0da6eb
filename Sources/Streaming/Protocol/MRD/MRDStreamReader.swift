import Foundation

/// Reads MRD messages one after another from a byte stream (the MRD TCP endpoint, docs/PROTOCOL.md
/// §9): the id, then as many bytes as the id's fields say the body has, each size checked
/// against a limit before anything is allocated. The message's bytes (id + body) go to
/// ``MRDMessage/decode(_:)``, the same reader the ZeroMQ input uses.
struct MRDStreamReader<Failure: Error> {
    /// The largest message accepted (bytes, id included).
    let maxMessageBytes: Int
    /// Reads exactly n bytes, or throws.
    let read: (Int) throws(Failure) -> [UInt8]

    enum Outcome {
        case message([UInt8])
        /// The stream cannot be read further: an id that does not exist or a size over the limit.
        case problem(String)
    }

    /// The next message, or the problem that makes the stream unreadable.
    func next() throws(Failure) -> Outcome {
        let idBytes = try read(2)
        let id = UInt16(idBytes[0]) | UInt16(idBytes[1]) << 8
        var message = idBytes
        func take(_ count: Int) throws(Failure) -> Outcome? {
            guard message.count + count <= maxMessageBytes else {
                return .problem("MRD message id \(id) announces more than the \(maxMessageBytes)-byte limit of a message on this endpoint")
            }
            message += try read(count)
            return nil
        }
        func u16(at offset: Int) -> Int { Int(message[...].loadLE(UInt16.self, at: offset)) }
        func u32(at offset: Int) -> Int { Int(message[...].loadLE(UInt32.self, at: offset)) }
        func u64(at offset: Int) -> UInt64 { message[...].loadLE(UInt64.self, at: offset) }
        switch id {
        case MRDMessage.closeID:
            break
        case MRDMessage.configFileID:
            if let problem = try take(MRDMessage.configFileBytes) { return problem }
        case MRDMessage.configTextID, MRDMessage.headerID, MRDMessage.textID:
            if let problem = try take(4) { return problem }
            if let problem = try take(u32(at: 2)) { return problem }
        case MRDMessage.acquisitionID:
            if let problem = try take(MRDAcquisition.headerBytes) { return problem }
            let samples = u16(at: 2 + 34), channels = u16(at: 2 + 38), trajectory = u16(at: 2 + 176)
            if let problem = try take(4 * trajectory * samples + 8 * channels * samples) { return problem }
        case MRDMessage.imageID:
            if let problem = try take(MRDImageMessage.headerBytes + 8) { return problem }
            let attributes = u64(at: 2 + MRDImageMessage.headerBytes)
            guard attributes <= UInt64(maxMessageBytes) else { return .problem("MRD image attributes of \(attributes) bytes exceed the limit") }
            guard let size = MRDImageMessage.sampleBytes(dataType: u16(at: 4)) else {
                return .problem("MRD image data_type \(u16(at: 4)) does not exist (1…8)")
            }
            // Up to 65535⁴ samples: multiplied in UInt64 with overflow checks, then limited.
            var bytes = attributes
            var data = UInt64(size)
            for offset in [16, 18, 20, 34] {
                let (product, overflow) = data.multipliedReportingOverflow(by: UInt64(u16(at: 2 + offset)))
                guard !overflow, product <= UInt64(maxMessageBytes) else { return .problem("MRD image data announces more than the \(maxMessageBytes)-byte limit") }
                data = product
            }
            bytes += data
            guard bytes <= UInt64(maxMessageBytes) else { return .problem("MRD image announces more than the \(maxMessageBytes)-byte limit") }
            if let problem = try take(Int(bytes)) { return problem }
        case MRDMessage.waveformID:
            if let problem = try take(40) { return problem }
            if let problem = try take(4 * u16(at: 2 + 28) * u16(at: 2 + 30)) { return problem }
        case MRDMessage.ndarrayID:
            if let problem = try take(6) { return problem }
            let type = u16(at: 2), dimensions = u16(at: 6)
            guard let size = MRDImageMessage.sampleBytes(dataType: type), (1...7).contains(dimensions) else { return .problem("MRD ndarray: data type \(type), \(dimensions) dimensions") }
            if let problem = try take(8 * dimensions) { return problem }
            var count: UInt64 = 1
            for d in 0..<dimensions {
                let (product, overflow) = count.multipliedReportingOverflow(by: u64(at: 8 + 8 * d))
                guard !overflow, product <= UInt64(maxMessageBytes) else { return .problem("MRD ndarray announces more than the limit") }
                count = product
            }
            if let problem = try take(size * Int(count)) { return problem }
        default:
            return .problem("MRD message id \(id) does not exist (1, 2 config, 3 header, 4 close, 5 text, 1008 acquisition, 1022 image, 1026 waveform, 1030 ndarray)")
        }
        return .message(message)
    }
}
