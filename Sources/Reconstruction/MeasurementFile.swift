import Foundation
import TensorIO

/// Measurements on disk as .npy: float32 `<f4` (float64 `<f8` accepted on read) or complex64
/// `<c8` (complex128 `<c16` accepted on read), C order, shape = the measurement's shape.
public enum MeasurementFile {
    public static func read(path: String) throws -> Measurement {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReconstructionError.invalidFile(path: path, reason: "cannot read file")
        }
        let bytes = [UInt8](data)
        let header = try NPYHeader.parse(bytes, path: path)
        switch header.descr {
        case "<c8", "<c16":
            let count = header.shape.product
            let item = header.descr == "<c8" ? 4 : 8
            guard bytes.count - header.payload >= count * 2 * item else {
                throw ReconstructionError.invalidFile(path: path, reason: "truncated: shape \(header.shape) needs \(count * 2 * item) bytes")
            }
            var values = [Float](repeating: 0, count: 2 * count)
            bytes.withUnsafeBytes { raw in
                let base = raw.baseAddress! + header.payload
                for i in 0..<(2 * count) {
                    values[i] = item == 4 ? base.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)
                                          : Float(base.loadUnaligned(fromByteOffset: 8 * i, as: Double.self))
                }
            }
            return Measurement(shape: header.shape, type: .complex64, values: values)
        default:
            let t: Tensor
            do { t = try NPY.decode(bytes, path: path) } catch {
                throw ReconstructionError.invalidFile(path: path, reason: "\(error)")
            }
            return Measurement(shape: t.shape, type: .float32, values: t.data)
        }
    }

    public static func write(_ m: Measurement, path: String) throws {
        let bytes: [UInt8]
        switch m.type {
        case .float32: bytes = NPY.encode(Tensor(shape: m.shape, data: m.values))
        case .complex64: bytes = NPYHeader.encode(descr: "<c8", shape: m.shape) + m.values.withUnsafeBytes { Array($0) }
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw ReconstructionError.invalidFile(path: path, reason: "cannot write file")
        }
    }

    /// Writes int64 indices (`<i8`).
    public static func writeIndices(_ values: [Int], shape: [Int], path: String) throws {
        let bytes = NPYHeader.encode(descr: "<i8", shape: shape) + values.map { Int64($0) }.withUnsafeBytes { Array($0) }
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw ReconstructionError.invalidFile(path: path, reason: "cannot write file")
        }
    }
}

/// The parts of a .npy header lpnd needs beyond TensorIO's float reader.
enum NPYHeader {
    struct Parsed { let descr: String; let shape: [Int]; let payload: Int }

    static func parse(_ bytes: [UInt8], path: String) throws -> Parsed {
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw ReconstructionError.invalidFile(path: path, reason: "not a .npy file (bad magic)")
        }
        let length: Int, start: Int
        if bytes[6] == 1 {
            length = Int(bytes[8]) | Int(bytes[9]) << 8; start = 10
        } else {
            guard bytes.count >= 12 else { throw ReconstructionError.invalidFile(path: path, reason: "truncated header") }
            length = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }; start = 12
        }
        guard start + length <= bytes.count else { throw ReconstructionError.invalidFile(path: path, reason: "truncated header") }
        let text = String(decoding: bytes[start..<(start + length)], as: UTF8.self)
        func field(_ key: String) -> String? {
            guard let r = text.range(of: "'\(key)':") else { return nil }
            return String(text[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let d = field("descr"), let s = field("shape") else {
            throw ReconstructionError.invalidFile(path: path, reason: "malformed .npy header")
        }
        if let f = field("fortran_order"), f.hasPrefix("True") {
            throw ReconstructionError.invalidFile(path: path, reason: "Fortran-order arrays are not supported")
        }
        let descr = String(d.dropFirst().prefix { $0 != "'" && $0 != "\"" })
        guard let open = s.firstIndex(of: "("), let close = s.firstIndex(of: ")") else {
            throw ReconstructionError.invalidFile(path: path, reason: "malformed shape")
        }
        let shape = s[s.index(after: open)..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        return Parsed(descr: descr, shape: shape, payload: start + length)
    }

    static func encode(descr: String, shape: [Int]) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let n = header.utf8.count
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xFF), UInt8(n >> 8)] + Array(header.utf8)
    }
}
