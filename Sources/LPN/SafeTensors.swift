import Foundation
import Support

/// A parsed safetensors file: the metadata strings and the float32 tensors it holds.
///
/// Layout: an 8-byte little-endian header length n, n bytes of JSON, then the raw data. Every
/// offset and size is checked against the file, so a truncated or malformed file is rejected
/// with a message instead of read out of bounds.
public struct SafeTensorsFile: Sendable {
    public struct Entry: Sendable {
        public let shape: [Int]
        public let values: [Float]
        public init(shape: [Int], values: [Float]) {
            self.shape = shape
            self.values = values
        }
    }

    public let metadata: [String: String]
    public let tensors: [String: Entry]

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LPNError.modelFile(path: path, "cannot read file")
        }
        try self.init(bytes: [UInt8](data), path: path)
    }

    public init(bytes: [UInt8], path: String) throws {
        func fail(_ reason: String) -> LPNError { .modelFile(path: path, reason) }
        guard bytes.count >= 8 else { throw fail("truncated: \(bytes.count) bytes, not a safetensors file") }
        let headerLength = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail("truncated or not safetensors: header claims \(headerLength) bytes, file has \(bytes.count - 8) after the length")
        }
        let dataStart = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart]))
        } catch {
            throw fail("header is not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw fail("header is not a JSON object") }
        var metadata: [String: String] = [:]
        var tensors: [String: Entry] = [:]
        let dataLength = bytes.count - dataStart
        for (key, value) in header {
            if key == "__metadata__" {
                guard let object = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in object {
                    guard let s = v as? String else { throw fail("metadata '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any],
                  let dtype = info["dtype"] as? String,
                  let shape = (info["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  let offsets = (info["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  offsets.count == 2
            else { throw fail("tensor '\(key)' has a malformed header entry") }
            let itemSize: Int
            switch dtype {
            case "F32": itemSize = 4
            case "F64": itemSize = 8
            default: throw fail("tensor '\(key)' has dtype \(dtype); only F32 (and F64) are supported")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("tensor '\(key)' has a negative dimension") }
            let count = shape.reduce(1, *)
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, end >= begin, end <= dataLength else {
                throw fail("truncated: tensor '\(key)' spans bytes \(begin)..<\(end) but the data section has \(dataLength)")
            }
            guard end - begin == count * itemSize else {
                throw fail("tensor '\(key)' shape \(shape) needs \(count * itemSize) bytes, offsets give \(end - begin)")
            }
            var values = [Float](repeating: 0, count: count)
            bytes.withUnsafeBytes { raw in
                let base = raw.baseAddress! + dataStart + begin
                values.withUnsafeMutableBufferPointer { out in
                    for i in 0..<count {
                        out[i] = itemSize == 4
                            ? base.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
                            : Float(base.loadUnaligned(fromByteOffset: i * 8, as: Double.self))
                    }
                }
            }
            tensors[key] = Entry(shape: shape, values: values)
        }
        self.metadata = metadata
        self.tensors = tensors
    }

    public init(metadata: [String: String], tensors: [String: Entry]) {
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The file's bytes: every tensor as little-endian F32, in key order, header padded with
    /// spaces to a multiple of 8 bytes.
    public func encoded() -> [UInt8] {
        var entries: [String: JSONValue] = ["__metadata__": .object(metadata.mapValues(JSONValue.string))]
        var offset = 0
        let keys = tensors.keys.sorted()
        for key in keys {
            let t = tensors[key]!
            entries[key] = ["dtype": "F32", "shape": JSONValue(t.shape), "data_offsets": JSONValue([offset, offset + 4 * t.values.count])]
            offset += 4 * t.values.count
        }
        var header = JSONWriter.bytes(JSONValue.object(entries))
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(8 + header.count + offset)
        let length = UInt64(header.count)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: length >> (8 * UInt64(i)))) }
        bytes += header
        for key in keys {
            for v in tensors[key]!.values {
                let bits = v.bitPattern.littleEndian
                for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt32(i)))) }
            }
        }
        return bytes
    }

    /// Writes ``encoded()`` to `path` (atomically: a reader never sees half a model).
    public func write(to path: String) throws {
        do {
            try Data(encoded()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw LPNError.modelFile(path: path, "cannot write: \(error.localizedDescription)")
        }
    }
}
