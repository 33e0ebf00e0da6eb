import Foundation
import Support

/// The writer of MRD image messages (id 1022, docs/PROTOCOL.md §9): how lpnd returns a
/// reconstructed frame to an MRD client, and publishes it for MRD tools (`output: mrd`).
///
///     id 1022 (uint16)
///     image header (198 bytes, packed, little-endian, ISMRMRD_ImageHeader's field order):
///       version 1, data_type 5 (float32), flags 0, measurement_uid,
///       matrix_size [W, H, 1], field_of_view (mm), channels 1,
///       position, read_dir, phase_dir, slice_dir, patient_table_position (from the frame's
///       first acquisition), average, slice, contrast, phase, repetition, set,
///       acquisition_time_stamp, physiology_time_stamp[3], image_type 1 (magnitude),
///       image_index, image_series_index, user_int[8] 0, user_float[8] 0, attribute length
///     attribute length (uint64), the attributes: ISMRMRD meta XML (the frame's diagnostics)
///     data: H × W float32, x (the readout, W) fastest
public enum MRDImageMessage {
    public static let headerBytes = 198
    static let floatType: UInt16 = 5, magnitude: UInt16 = 1

    /// Bytes per sample of an ISMRMRD data type (1 uint16, 2 int16, 3 uint32, 4 int32,
    /// 5 float32, 6 float64, 7 complex float32, 8 complex float64), nil for another value.
    public static func sampleBytes(dataType: Int) -> Int? {
        (1...8).contains(dataType) ? [2, 2, 4, 4, 4, 8, 8, 16][dataType - 1] : nil
    }

    /// The reader side: an image message (id and body) split into its packed header, its
    /// attribute text and its data; nil when it is not one or its attribute length runs past
    /// its end.
    public static func split(_ message: [UInt8]) -> (header: ArraySlice<UInt8>, attributes: ArraySlice<UInt8>, data: ArraySlice<UInt8>)? {
        let attributesAt = 2 + headerBytes + 8
        guard message.count >= attributesAt, message[...].loadLE(UInt16.self, at: 0) == MRDMessage.imageID else { return nil }
        let length = message[...].loadLE(UInt64.self, at: 2 + headerBytes)
        guard length <= UInt64(message.count - attributesAt) else { return nil }
        let dataAt = attributesAt + Int(length)
        return (message[2..<(2 + headerBytes)], message[attributesAt..<dataAt], message[dataAt...])
    }

    /// One image message for `image` ([H, W] row-major) with `info`'s counters and geometry.
    public static func encode(image: [Float], height: Int, width: Int, info: MRDFrameInfo, imageIndex: Int, seriesIndex: Int,
                              attributes: [(String, String)]) -> [UInt8] {
        precondition(image.count == height * width)
        let meta = metaXML(attributes)
        var out: [UInt8] = []
        out.reserveCapacity(2 + headerBytes + 8 + meta.count + 4 * image.count)
        func u16(_ v: Int) { append(UInt16(clamping: v), &out) }
        func u32(_ v: UInt32) { append(v, &out) }
        func floats(_ v: [Float]) { for f in v.prefix(3) { append(f.bitPattern, &out) } }
        u16(Int(MRDMessage.imageID))
        u16(1); u16(Int(floatType)); append(UInt64(0), &out); u32(info.geometry.measurementUID)
        u16(width); u16(height); u16(1)
        floats(info.fieldOfView)
        u16(1)
        let g = info.geometry
        floats(g.position); floats(g.readDirection); floats(g.phaseDirection); floats(g.sliceDirection)
        floats(g.patientTablePosition)
        for v in [info.average, info.slice, info.contrast, info.phase, info.repetition, info.set] { u16(v) }
        u32(g.acquisitionTimeStamp)
        for v in g.physiologyTimeStamps.prefix(3) { u32(v) }
        u16(Int(magnitude)); u16(imageIndex); u16(seriesIndex)
        out += [UInt8](repeating: 0, count: 64)  // user_int[8], user_float[8]
        u32(UInt32(meta.count))
        assert(out.count == 2 + headerBytes)
        append(UInt64(meta.count), &out)
        out += meta
        image.withUnsafeBytes { out += $0 }
        return out
    }

    /// ISMRMRD's meta attribute XML: one <meta> with <name> and <value> per attribute.
    static func metaXML(_ attributes: [(String, String)]) -> [UInt8] {
        var xml = "<?xml version=\"1.0\"?><ismrmrdMeta>"
        for (name, value) in attributes {
            xml += "<meta><name>\(escaped(name))</name><value>\(escaped(value))</value></meta>"
        }
        return Array((xml + "</ismrmrdMeta>").utf8)
    }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    private static func append<T: FixedWidthInteger>(_ value: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }
}
