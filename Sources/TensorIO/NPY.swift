import Foundation

/// Reader and writer for NumPy's `.npy` format (versions 1–3): the one `.npy` codec of lpnd.
///
/// Reads little-endian float32 `<f4`, float64 `<f8` (narrowed), complex64 `<c8` and complex128
/// `<c16` (narrowed), in C or Fortran order (Fortran arrays are reordered to C order on read).
/// Writes float32 `<f4` or complex64 `<c8` (and int64 `<i8` indices) in C order.
public enum NPY {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// A decoded array: C-order values, complex ones interleaved (re, im).
    public struct Array: Sendable, Equatable {
        public var shape: [Int]
        public var values: [Float]
        public var isComplex: Bool
        /// The file's dtype string, e.g. `<c8`.
        public var descr: String
    }

    /// A real float array (float32 or float64) as a ``Tensor``.
    public static func read(path: String) throws -> Tensor {
        try decode(try bytes(path), path: path)
    }

    public static func decode(_ bytes: [UInt8], path: String = "<npy>") throws -> Tensor {
        let array = try decodeArray(bytes, path: path)
        guard !array.isComplex else {
            throw TensorIOError(path: path, "dtype \(array.descr) is complex; expected float32 '<f4' or float64 '<f8'")
        }
        return Tensor(shape: array.shape, data: array.values)
    }

    /// Any supported array, real or complex.
    public static func readArray(path: String) throws -> Array {
        try decodeArray(try bytes(path), path: path)
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TensorIOError(path: path, "cannot read file")
        }
        return [UInt8](data)
    }

    public static func decodeArray(_ bytes: [UInt8], path: String = "<npy>") throws -> Array {
        guard bytes.count >= 10, Swift.Array(bytes[0..<6]) == magic else {
            throw TensorIOError(path: path, "not a .npy file (bad magic)")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw TensorIOError(path: path, "truncated .npy header") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw TensorIOError(path: path, "unsupported .npy version \(major)")
        }
        guard headerStart + headerLength <= bytes.count else {
            throw TensorIOError(path: path, "truncated .npy header")
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        let descr = try field("descr", in: header, path: path)
        let fortran = try field("fortran_order", in: header, path: path).hasPrefix("True")
        let shape = try parseShape(try field("shape", in: header, path: path), path: path)
        let count = shape.reduce(1, *)
        let payload = headerStart + headerLength
        let descrValue = String(descr.dropFirst().prefix { $0 != "'" && $0 != "\"" })
        let itemSize: Int, complex: Bool
        switch descrValue {
        case "<f4": (itemSize, complex) = (4, false)
        case "<f8": (itemSize, complex) = (8, false)
        case "<c8": (itemSize, complex) = (4, true)
        case "<c16": (itemSize, complex) = (8, true)
        default:
            throw TensorIOError(path: path, "dtype \(descrValue) is not supported (expected little-endian '<f4', '<f8', '<c8' or '<c16')")
        }
        let floats = count * (complex ? 2 : 1)
        guard bytes.count - payload >= floats * itemSize else {
            throw TensorIOError(path: path, "truncated: shape \(shape) needs \(floats * itemSize) bytes, file has \(bytes.count - payload)")
        }
        var values = [Float](repeating: 0, count: floats)
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + payload
            values.withUnsafeMutableBufferPointer { out in
                if itemSize == 4 {
                    memcpy(out.baseAddress!, base, floats * 4)
                } else {
                    for i in 0..<floats {
                        out[i] = Float(base.loadUnaligned(fromByteOffset: i * 8, as: Double.self))
                    }
                }
            }
        }
        if fortran && shape.count > 1 { values = cOrder(fromFortran: values, shape: shape, pair: complex ? 2 : 1) }
        return Array(shape: shape, values: values, isComplex: complex, descr: descrValue)
    }

    /// Reorders column-major (Fortran) values of `shape` to row-major; `pair` floats per element.
    public static func cOrder(fromFortran values: [Float], shape: [Int], pair: Int) -> [Float] {
        let count = shape.reduce(1, *)
        var out = [Float](repeating: 0, count: values.count)
        var index = [Int](repeating: 0, count: shape.count)  // C-order multi-index of element i
        for i in 0..<count {
            var f = 0, stride = 1
            for d in 0..<shape.count { f += index[d] * stride; stride *= shape[d] }
            for j in 0..<pair { out[pair * i + j] = values[pair * f + j] }
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// Writes a complex array (interleaved values) as complex64 `<c8`.
    public static func writeComplex(shape: [Int], values: [Float], path: String) throws {
        precondition(values.count == 2 * shape.reduce(1, *))
        try write(header(descr: "<c8", shape: shape) + values.withUnsafeBytes { Swift.Array($0) }, path: path)
    }

    /// Writes int64 `<i8` values.
    public static func writeIndices(_ values: [Int], shape: [Int], path: String) throws {
        try write(header(descr: "<i8", shape: shape) + values.map { Int64($0) }.withUnsafeBytes { Swift.Array($0) }, path: path)
    }

    static func write(_ bytes: [UInt8], path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw TensorIOError(path: path, "cannot write file")
        }
    }

    public static func write(_ tensor: Tensor, path: String) throws {
        let data = Data(encode(tensor))
        guard FileManager.default.createFile(atPath: path, contents: data) else {
            throw TensorIOError(path: path, "cannot write file")
        }
    }

    public static func encode(_ tensor: Tensor) -> [UInt8] {
        var bytes = header(descr: "<f4", shape: tensor.shape)
        tensor.data.withUnsafeBytes { bytes += $0 }
        return bytes
    }

    /// Magic, version 1.0 and the header dict, padded so the payload starts at a multiple of 64.
    static func header(descr: String, shape: [Int]) -> [UInt8] {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + text.utf8.count + 1
        text += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = text.utf8.count
        return magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Swift.Array(text.utf8)
    }

    private static func field(_ key: String, in header: String, path: String) throws -> String {
        guard let range = header.range(of: "'\(key)':") else {
            throw TensorIOError(path: path, "npy header has no '\(key)'")
        }
        return String(header[range.upperBound...]).trimmingCharacters(in: .whitespaces)
    }

    private static func parseShape(_ text: String, path: String) throws -> [Int] {
        guard let open = text.firstIndex(of: "("), let close = text.firstIndex(of: ")") else {
            throw TensorIOError(path: path, "npy header has a malformed shape")
        }
        let inner = text[text.index(after: open)..<close]
        var shape: [Int] = []
        for part in inner.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let n = Int(trimmed), n >= 0 else {
                throw TensorIOError(path: path, "npy header has a malformed shape '\(inner)'")
            }
            shape.append(n)
        }
        return shape
    }
}
