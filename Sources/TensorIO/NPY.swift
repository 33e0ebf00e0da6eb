import Foundation

/// Reader and writer for NumPy's `.npy` format (versions 1–3), little-endian float32 and
/// float64 in C order. float64 is narrowed to float32 on read; everything is written as `<f4`.
public enum NPY {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    public static func read(path: String) throws -> Tensor {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TensorIOError(path: path, "cannot read file")
        }
        return try decode([UInt8](data), path: path)
    }

    public static func decode(_ bytes: [UInt8], path: String = "<npy>") throws -> Tensor {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
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
        let fortran = try field("fortran_order", in: header, path: path)
        let shapeText = try field("shape", in: header, path: path)
        guard fortran.hasPrefix("False") else {
            throw TensorIOError(path: path, "Fortran-order arrays are not supported; save with np.ascontiguousarray")
        }
        let shape = try parseShape(shapeText, path: path)
        let count = shape.reduce(1, *)
        let payload = headerStart + headerLength
        let descrValue = String(descr.dropFirst().prefix { $0 != "'" && $0 != "\"" })
        let itemSize: Int
        switch descrValue {
        case "<f4": itemSize = 4
        case "<f8": itemSize = 8
        default:
            throw TensorIOError(path: path, "dtype \(descrValue) is not supported (expected little-endian float32 '<f4' or float64 '<f8')")
        }
        guard bytes.count - payload >= count * itemSize else {
            throw TensorIOError(path: path, "truncated: shape \(shape) needs \(count * itemSize) bytes, file has \(bytes.count - payload)")
        }
        var values = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + payload
            values.withUnsafeMutableBufferPointer { out in
                if itemSize == 4 {
                    memcpy(out.baseAddress!, base, count * 4)
                } else {
                    for i in 0..<count {
                        out[i] = Float(base.loadUnaligned(fromByteOffset: i * 8, as: Double.self))
                    }
                }
            }
        }
        return Tensor(shape: shape, data: values)
    }

    public static func write(_ tensor: Tensor, path: String) throws {
        let data = Data(encode(tensor))
        guard FileManager.default.createFile(atPath: path, contents: data) else {
            throw TensorIOError(path: path, "cannot write file")
        }
    }

    public static func encode(_ tensor: Tensor) -> [UInt8] {
        let shapeText: String
        switch tensor.shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(tensor.shape[0]),)"
        default: shapeText = "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad so that the payload starts at a multiple of 64 bytes, ending with a newline.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var bytes = magic + [1, 0]
        let length = header.utf8.count
        bytes += [UInt8(length & 0xFF), UInt8(length >> 8)]
        bytes += Array(header.utf8)
        tensor.data.withUnsafeBytes { bytes += $0 }
        return bytes
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
