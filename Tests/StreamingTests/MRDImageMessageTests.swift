import Foundation
import Streaming
import Testing

/// The MRD image message lpnd writes (the TCP endpoint's answers and `mrd_images`): the packed
/// 198-byte header's fields at ISMRMRD's offsets, the attributes, the data; read back through
/// the outbound decoder. (clients/mrd/test_mrd_endpoint.py reads the same bytes with the
/// official ismrmrd package.)
@Suite struct MRDImageMessageTests {
    func u16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
    func f32(_ b: [UInt8], _ at: Int) -> Float { Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[at + $1]) << (8 * UInt32($1)) }) }

    @Test func headerFieldsSitAtISMRMRDsOffsets() throws {
        var info = MRDFrameInfo()
        info.slice = 3; info.repetition = 2; info.fieldOfView = [300, 280, 6]
        info.geometry.position = [1, 2, 3]; info.geometry.sliceDirection = [0, 0, 1]
        let image: [Float] = (0..<12).map(Float.init)
        let message = MRDImageMessage.encode(image: image, height: 3, width: 4, info: info, imageIndex: 5, seriesIndex: 1,
                                             attributes: [("lpnd.seq", "4"), ("a<b", "x&y")])
        let h = 2  // after the id
        #expect(u16(message, 0) == 1022 && u16(message, h) == 1 && u16(message, h + 2) == 5)  // id, version, float32
        let matrix: [Int] = [u16(message, h + 16), u16(message, h + 18), u16(message, h + 20)]
        #expect(matrix == [4, 3, 1])  // [W, H, 1]
        #expect(f32(message, h + 22) == 300 && f32(message, h + 26) == 280 && u16(message, h + 34) == 1)
        #expect(f32(message, h + 36) == 1 && f32(message, h + 44) == 3 && f32(message, h + 80) == 1)  // position, slice_dir z
        #expect(u16(message, h + 98) == 3 && u16(message, h + 104) == 2)  // slice, repetition
        #expect(u16(message, h + 124) == 1 && u16(message, h + 126) == 5 && u16(message, h + 128) == 1)
        let attributeLength = u16(message, h + 194)
        let attributes = String(decoding: message[(h + 198 + 8)..<(h + 198 + 8 + attributeLength)], as: UTF8.self)
        #expect(attributes.contains("<name>lpnd.seq</name><value>4</value>") && attributes.contains("<name>a&lt;b</name><value>x&amp;y</value>"))
        #expect(message.count == h + 198 + 8 + attributeLength + 4 * 12)
        #expect(f32(message, message.count - 4) == 11)
    }

    @Test func framesPublishedAsMRDImagesDecode() throws {
        let encoder = FrameEncoder(pipeline: "p", attachPNG: false)
        let header = MeasurementHeader(stream: "s", seq: 7, timestamp: 0, pipeline: "p", shape: [2, 2], dtype: .float32)
        let frame = InboundFrame(header: header, measurement: [0, 0, 0, 0], reference: nil, receivedAt: 0)
        let result = ProcessedFrame(image: [0.5, -1, 2, 0], imageShape: [2, 2],
                                    convergence: ConvergenceSummary(iterations: 3, converged: true, stopReason: "tolerance",
                                                                    finalRelativeChange: nil, finalResidual: 0.1),
                                    diagnosticsJSON: Array("{}".utf8), intensityScale: 2)
        guard case .mrdImage(let id, let message) = try OutboundDecoder.decode(encoder.mrdImage(frame, result)) else {
            Issue.record("not an MRD image message"); return
        }
        #expect(id == OutputIdentification(type: "mrd_image", stream: "s", seq: 7, pipeline: "p"))
        // Magnitudes in the measurement's units: |image| × intensity scale.
        let values: [Float] = (0..<4).map { f32(message, message.count - 16 + 4 * $0) }
        #expect(values == [1, 2, 4, 0] && u16(message, 2 + 126) == 8)
    }
}
